"""``multiview_depth_node``: MVDepthNet metric depth from each image and past keyframes, placed by odometry.

Each image's camera pose is the odometry interpolated at its stamp times the camera extrinsic
(:mod:`depth_ros.ros.odometry_input`); measurement frames are keyframes picked by baseline, rotation and
overlap (:mod:`depth_ros.pipeline.keyframes`). Without a valid pose or a usable keyframe there is no
output for that image (counted, and logged at most every 5 s): never a wrong depth. Topics and common
parameters: :mod:`depth_ros.ros.depth_node`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from depth_ros.geometry import PinholeCamera
from depth_ros.pipeline.frame import DepthResult
from depth_ros.pipeline.keyframes import KeyframeSettings
from depth_ros.pipeline.multiview import MultiViewDepthPipeline
from depth_ros.ros.depth_node import DepthNode
from depth_ros.ros.input_subscription import InputSubscription
from depth_ros.ros.odometry_input import ODOMETRY_PARAMETERS, OdometryInput
from depth_ros.ros.parameters import ParameterSpec, ParameterValueError
from depth_ros.ros.spin import run_node

MULTIVIEW_PARAMETERS = (
    ParameterSpec("keyframes.min_baseline", 0.1, "metres: nearer keyframes give too little parallax", minimum=0.001),
    ParameterSpec("keyframes.max_baseline", 1.0, "metres: farther keyframes overlap too little", minimum=0.0),
    ParameterSpec("keyframes.max_rotation", 10.0, "degrees of rotation to a usable keyframe, at most", minimum=0.0),
    ParameterSpec("keyframes.min_overlap", 0.6, "fraction of the image a keyframe must also see", minimum=0.0),
    ParameterSpec("keyframes.buffer_size", 10, "keyframes kept", minimum=1, maximum=1000),
    *ODOMETRY_PARAMETERS,
)


class MultiViewDepthNode(DepthNode):
    """MVDepthNet on ``image`` + ``camera_info`` + ``odom``."""

    architecture = "mvdepthnet"

    def __init__(self, **node_kwargs: Any):
        super().__init__("multiview_depth_node", MULTIVIEW_PARAMETERS, **node_kwargs)

    def setup(self) -> None:
        try:
            settings = KeyframeSettings(
                min_translation_m=float(self.params["keyframes.min_baseline"]),
                max_translation_m=float(self.params["keyframes.max_baseline"]),
                max_rotation_deg=float(self.params["keyframes.max_rotation"]),
                min_overlap=float(self.params["keyframes.min_overlap"]),
                buffer_size=int(self.params["keyframes.buffer_size"]),
            )
        except ValueError as error:
            raise ParameterValueError(f"keyframes.* parameters: {error}") from error
        self.pipeline = MultiViewDepthPipeline(self.engine, settings)
        self.odometry = OdometryInput(self, self.params, self.stats, self.log)
        self._odometry_restarts = 0  # the pose history's restarts the keyframes were last placed after

    def extra_inputs(self) -> list[InputSubscription]:
        return [self.odometry.input]

    def estimate(self, rgb: np.ndarray, camera: PinholeCamera, stamp: int, frame_id: str) -> DepthResult:
        restarts = self.odometry.restarts
        if restarts != self._odometry_restarts:  # keyframes placed in a frame the odometry has left
            self._odometry_restarts = restarts
            self.pipeline.reset()
        return self.pipeline.process(rgb, camera, stamp, self.odometry.camera_pose(stamp, frame_id))


def main(args: list[str] | None = None) -> int:
    """Entry point of ``ros2 run depth_ros multiview_depth_node``."""
    return run_node(MultiViewDepthNode, args)
