"""Depth metrics as Monodepth2 evaluates them (Eigen et al.), plus MVDepthNet's L1-inv and sc-inv.

Per image, on the pixels where ground truth is finite and inside ``(min_depth, max_depth)`` (and inside
the crop, if any):

1. optional median scaling: ``pred *= ratio``, ``ratio = median(gt) / median(pred)`` over those pixels
   (monocular models, whose scale is unknown);
2. ``pred`` clamped to ``[min_depth, max_depth]``;
3. with ``p`` the prediction and ``g`` the ground truth at those pixels, ``d = log p - log g``:

   * ``abs_rel = mean(|g - p| / g)``, ``sq_rel = mean((g - p)^2 / g)``
   * ``rmse = sqrt(mean((g - p)^2))``, ``rmse_log = sqrt(mean(d^2))``
   * ``a1, a2, a3 = mean(max(g / p, p / g) < 1.25, 1.25^2, 1.25^3)``
   * ``l1_inv = mean(|1/p - 1/g|)`` (m^-1), ``sc_inv = sqrt(mean(d^2) - mean(d)^2)``.

Images are then averaged with :func:`average_metrics` (each image weighs the same, as in Monodepth2).
An image without a valid ground-truth pixel raises :class:`NoValidPixelsError`; catch it to skip the
image (and count it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from depth_ros.errors import DepthRosError

METRIC_NAMES = ("abs_rel", "sq_rel", "rmse", "rmse_log", "a1", "a2", "a3", "l1_inv", "sc_inv")
MIN_DEPTH = 1e-3
MAX_DEPTH = 80.0

# Eigen/Garg crop, as fractions of the image height and width.
GARG_ROWS = (0.40810811, 0.99189189)
GARG_COLS = (0.03594771, 0.96405229)


class NoValidPixelsError(DepthRosError, ValueError):
    """An image whose ground truth has no pixel to evaluate (none finite and within the caps and crop)."""


def garg_crop(height: int, width: int) -> tuple[slice, slice]:
    """Eigen/Garg crop ``rows [0.40810811 H, 0.99189189 H), cols [0.03594771 W, 0.96405229 W)``, truncated.

    For KITTI's 375 x 1242: rows 153:371, cols 44:1197.
    """
    return (
        slice(int(GARG_ROWS[0] * height), int(GARG_ROWS[1] * height)),
        slice(int(GARG_COLS[0] * width), int(GARG_COLS[1] * width)),
    )


def _one_image(name: str, array: ArrayLike) -> np.ndarray:
    """``array`` as a float64 (H, W) image, dropping leading axes of size 1."""
    image = np.asarray(array, dtype=np.float64)
    while image.ndim > 2 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 2:
        raise ValueError(
            f"{name}: expected one (H, W) depth image (leading axes of size 1 are fine), got shape "
            f"{np.shape(array)}; call depth_metrics per image and combine with average_metrics"
        )
    return image


def depth_metrics(
    pred: ArrayLike,
    gt: ArrayLike,
    min_depth: float = MIN_DEPTH,
    max_depth: float = MAX_DEPTH,
    median_scaling: bool = False,
    crop: tuple[slice, slice] | None = None,
) -> dict[str, float]:
    """Error and accuracy metrics of one predicted depth image against its ground truth.

    Args:
        pred: (H, W) predicted depth in metres (leading axes of size 1 are dropped). Infinite values
            are clamped like any other; NaN at an evaluated pixel is an error.
        gt: (H, W) ground-truth depth in metres; pixels not finite or outside ``(min_depth, max_depth)``
            are not evaluated.
        min_depth, max_depth: caps in metres (exclusive for ground truth, the clamp range of ``pred``).
        median_scaling: scale ``pred`` by ``median(gt) / median(pred)`` over the evaluated pixels first.
        crop: (rows, cols) slices, e.g. :func:`garg_crop`; pixels outside are not evaluated.

    Returns:
        ``abs_rel, sq_rel, rmse, rmse_log, a1, a2, a3, l1_inv, sc_inv`` (see the module docstring) and
        ``ratio``, the median-scaling factor applied (1.0 without median scaling).

    Raises:
        NoValidPixelsError: no ground-truth pixel to evaluate.
        ValueError: shapes differ, or ``pred`` is NaN or median-scales to a non-positive ratio.
    """
    pred, gt = _one_image("pred", pred), _one_image("gt", gt)
    if pred.shape != gt.shape:
        raise ValueError(f"pred {pred.shape} and gt {gt.shape} differ in shape; resize pred to the ground truth")
    valid = (gt > min_depth) & (gt < max_depth)  # NaN and inf fail the strict comparisons
    if crop is not None:
        inside = np.zeros_like(valid)
        inside[crop] = True
        valid &= inside
    if not valid.any():
        raise NoValidPixelsError(
            f"no ground-truth pixel to evaluate in a {gt.shape[0]}x{gt.shape[1]} image: "
            f"{int(np.isfinite(gt).sum())} finite, none inside ({min_depth}, {max_depth}) m"
            + (" and the crop" if crop is not None else "")
            + "; skip this image or widen the caps"
        )
    g, p = gt[valid], pred[valid]
    if np.isnan(p).any():
        raise ValueError(f"pred is NaN at {int(np.isnan(p).sum())} of {p.size} evaluated pixels")
    ratio = 1.0
    if median_scaling:
        median = float(np.median(p))
        if not 0 < median < np.inf:
            raise ValueError(f"median scaling needs a positive, finite median prediction, got {median}")
        ratio = float(np.median(g)) / median
        p = p * ratio
    p = np.clip(p, min_depth, max_depth)

    thresh = np.maximum(g / p, p / g)
    d = np.log(p) - np.log(g)
    metrics = {
        "abs_rel": np.mean(np.abs(g - p) / g),
        "sq_rel": np.mean((g - p) ** 2 / g),
        "rmse": np.sqrt(np.mean((g - p) ** 2)),
        "rmse_log": np.sqrt(np.mean(d**2)),
        "a1": np.mean(thresh < 1.25),
        "a2": np.mean(thresh < 1.25**2),
        "a3": np.mean(thresh < 1.25**3),
        "l1_inv": np.mean(np.abs(1.0 / p - 1.0 / g)),
        "sc_inv": np.sqrt(max(np.mean(d**2) - np.mean(d) ** 2, 0.0)),
        "ratio": ratio,
    }
    return {name: float(value) for name, value in metrics.items()}


def average_metrics(per_image: Sequence[dict[str, float]]) -> dict[str, float]:
    """Mean of each metric over images (each image weighs the same).

    Args:
        per_image: dictionaries from :func:`depth_metrics`, all with the same keys.

    Returns:
        The same keys, each the mean over images.
    """
    if len(per_image) == 0:
        raise ValueError("average_metrics: no per-image metrics to average (were all images skipped?)")
    keys = list(per_image[0])
    for i, metrics in enumerate(per_image):
        if set(metrics) != set(keys):
            raise ValueError(f"average_metrics: image {i} has keys {sorted(metrics)}, image 0 has {sorted(keys)}")
    return {key: float(np.mean([metrics[key] for metrics in per_image])) for key in keys}
