"""The one sample format every data source produces: a posed RGB-D frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from depth_ros.geometry import PinholeCamera


@dataclass
class Frame:
    """One camera frame with whatever ground truth its source has.

    Attributes:
        stamp_ns: acquisition time, integer nanoseconds (the image header stamp).
        rgb: (H, W, 3) uint8, RGB channel order.
        camera: intrinsics of ``rgb``.
        depth: (H, W) float32 metres along the optical axis, or None; +inf = no surface within range
            (REP 117), NaN = unknown.
        T_world_cam: (4, 4) float64 pose of the camera's optical frame in the world (odometry) frame,
            or None when no pose is known at ``stamp_ns``.
        moving_mask: (H, W) bool, pixels on independently moving objects, or None when unknown.
        frame_id: the optical frame's name (REP 103 ``_optical_frame`` convention).
    """

    stamp_ns: int
    rgb: np.ndarray
    camera: PinholeCamera
    depth: np.ndarray | None = None
    T_world_cam: np.ndarray | None = None
    moving_mask: np.ndarray | None = None
    frame_id: str = "camera_optical_frame"


@dataclass(frozen=True)
class OdometrySample:
    """Pose and body-frame velocity of ``base_link`` in ``odom`` at one instant.

    Attributes:
        stamp_ns: integer nanoseconds.
        T_odom_base: (4, 4) float64.
        linear: (3,) m/s in ``base_link``; angular: (3,) rad/s in ``base_link``.
    """

    stamp_ns: int
    T_odom_base: np.ndarray
    linear: np.ndarray
    angular: np.ndarray
