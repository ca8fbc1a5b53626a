"""``mono_depth_node``: Monodepth2 depth from each image, made metric as ``scale_mode`` says.

Scale modes (see :mod:`depth_ros.pipeline.mono`): ``relative`` (the model's own scale), ``fixed``
(times ``scale_factor``), ``stereo`` (the factor in the model's metadata), ``odometry`` (odometry
translation over the pose network's, between a reference frame and the current one, median over ``scale_window`` frames;
needs ``odom`` and a model file with the pose network) and ``ground`` (``camera_height`` above the ground
plane fitted in the depth, median over ``scale_window`` frames). Topics and common parameters:
:mod:`depth_ros.ros.depth_node`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from depth_ros.geometry import PinholeCamera
from depth_ros.pipeline.frame import DepthResult
from depth_ros.pipeline.mono import MonoDepthPipeline, MonoSettings
from depth_ros.ros.depth_node import DepthNode
from depth_ros.ros.input_subscription import InputSubscription
from depth_ros.ros.odometry_input import ODOMETRY_PARAMETERS, OdometryInput
from depth_ros.ros.parameters import ParameterSpec
from depth_ros.ros.spin import run_node

MONO_PARAMETERS = (
    ParameterSpec(
        "scale_mode",
        "relative",
        "relative: the model's scale; fixed: times scale_factor; stereo: the model's stereo factor; "
        "odometry: from the robot's odometry (needs odom); ground: from camera_height above the ground",
        choices=("relative", "fixed", "stereo", "odometry", "ground"),
    ),
    ParameterSpec("scale_factor", 1.0, "fixed: metres per unit of the model's depth", minimum=1e-06, maximum=1e6),
    ParameterSpec(
        "camera_height", 1.3, "ground: the camera's height above the ground plane, metres", minimum=0.01, maximum=1000.0
    ),
    ParameterSpec(
        "scale_window",
        20,
        "odometry, ground: the scale is the median of the last n estimates",
        minimum=1,
        maximum=10000,
    ),
    ParameterSpec(
        "scale_min_translation", 0.05, "odometry: frames closer than this (metres) give no estimate", minimum=0.0
    ),
    ParameterSpec(
        "pose_model",
        "",
        "odometry: checkpoint holding the pose network; empty: the one in model, else <model>_pose.pt beside it",
    ),
    *ODOMETRY_PARAMETERS,
)


class MonoDepthNode(DepthNode):
    """Monodepth2 on ``image`` (+ ``camera_info``, + ``odom`` in odometry mode)."""

    architecture = "monodepth2"

    def __init__(self, **node_kwargs: Any):
        super().__init__("mono_depth_node", MONO_PARAMETERS, **node_kwargs)

    def setup(self) -> None:
        from depth_ros.models.checkpoints import named_pose_network, pose_network_for
        from depth_ros.resources import shipped_weights

        mode = str(self.params["scale_mode"])
        settings = MonoSettings(
            scale_mode=mode,  # type: ignore[arg-type]
            scale_factor=float(self.params["scale_factor"]),
            camera_height_m=float(self.params["camera_height"]),
            scale_window=int(self.params["scale_window"]),
            min_translation_m=float(self.params["scale_min_translation"]),
        )
        pose_network = None
        if mode == "odometry":
            if self.params["pose_model"]:
                pose_network = named_pose_network(self.params["pose_model"])
            else:
                pose_network = pose_network_for(self.params["model"] or shipped_weights("monodepth2"))
        self.pipeline = MonoDepthPipeline(self.engine, settings, pose_network)
        self.odometry = OdometryInput(self, self.params, self.stats, self.log) if mode == "odometry" else None

    def extra_inputs(self) -> list[InputSubscription]:
        return [self.odometry.input] if self.odometry is not None else []

    def estimate(self, rgb: np.ndarray, camera: PinholeCamera, stamp: int, frame_id: str) -> DepthResult:
        pose = self.odometry.camera_pose(stamp, frame_id) if self.odometry is not None else None
        return self.pipeline.process(rgb, camera, stamp, pose)


def main(args: list[str] | None = None) -> int:
    """Entry point of ``ros2 run depth_ros mono_depth_node``."""
    return run_node(MonoDepthNode, args)
