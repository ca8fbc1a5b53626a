"""Evaluation: depth metrics as the papers report them.

* :mod:`~depth_ros.eval.metrics`: abs_rel, sq_rel, rmse, rmse_log, a1-a3 (Monodepth2's evaluation:
  depth caps, optional per-image median scaling, the Eigen/Garg crop) and MVDepthNet's L1-inv and
  sc-inv, per image in NumPy; :func:`~depth_ros.eval.metrics.average_metrics` combines images.
"""

from depth_ros.eval.metrics import (
    METRIC_NAMES,
    NoValidPixelsError,
    average_metrics,
    depth_metrics,
    garg_crop,
)

__all__ = ["METRIC_NAMES", "NoValidPixelsError", "average_metrics", "depth_metrics", "garg_crop"]
