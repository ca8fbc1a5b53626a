"""Camera poses for the depth nodes: odometry (``nav_msgs/Odometry`` or ``geometry_msgs/PoseStamped``) on
``odom``, interpolated at each image stamp, times the camera's extrinsic.

The extrinsic ``T_base_cam`` (camera optical frame in the odometry's child frame, ``base_link``) comes from
tf when ``tf2_ros`` can be imported and ``extrinsic_from_tf`` is true (looked up once, at the first image,
from ``base_frame`` to the image's ``frame_id``), else from the ``camera_extrinsic.*`` parameters (whose
defaults are the sample bag's camera: 1.3 m above ``base_link``, pitched down 5 degrees).

Bad odometry (NaN, a non-rigid rotation, a position beyond :data:`~depth_ros.pipeline.pose_buffer.MAX_POSITION_M`,
a stamp older than the newest) is refused, counted and logged; the buffer stays usable, so the node recovers as
soon as good odometry returns.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node

from depth_ros.errors import PoseError
from depth_ros.geometry import check_rigid, make_transform, unit_quaternion_to_matrix
from depth_ros.pipeline.frame import FrameSkipped
from depth_ros.pipeline.pose_buffer import IMAGE_TOO_NEW, MAX_TURN_RATE_DEG_S, PoseBuffer
from depth_ros.ros.input_subscription import InputSubscription
from depth_ros.ros.messages import pose_from_odometry, pose_from_pose_stamped
from depth_ros.ros.parameters import ParameterSpec, ParameterValueError
from depth_ros.ros.statistics import NodeStatistics
from depth_ros.ros.throttled_log import ThrottledLog

# The sample bag's camera (depth_ros.data.synthetic defaults): 1.3 m up, optical axis 5 degrees below forward.
SAMPLE_TRANSLATION = [0.0, 0.0, 1.3]
SAMPLE_ROTATION_XYZW = [-0.5213338, 0.5213338, -0.47771442, 0.47771442]

ODOMETRY_PARAMETERS = (
    ParameterSpec("odom_type", "odometry", "message type on 'odom'", choices=("odometry", "pose_stamped")),
    ParameterSpec(
        "max_pose_gap",
        0.2,
        "seconds: poses are not interpolated across a longer odometry gap",
        minimum=0.001,
        maximum=10.0,
    ),
    ParameterSpec(
        "max_odometry_speed",
        40.0,
        "m/s: faster motion between two odometry messages is a reset of the odometry frame (history and "
        "keyframes start again); lower it for slow robots to catch smaller resets",
        minimum=0.1,
        maximum=1000.0,
    ),
    ParameterSpec(
        "pose_wait",
        0.1,
        "seconds an image waits for the odometry that covers its stamp (less than the 10 s a deactivate waits)",
        minimum=0.0,
        maximum=5.0,
    ),
    ParameterSpec(
        "camera_extrinsic.translation", SAMPLE_TRANSLATION, "camera optical frame origin in base_link, metres", length=3
    ),
    ParameterSpec(
        "camera_extrinsic.rotation",
        SAMPLE_ROTATION_XYZW,
        "camera optical frame orientation in base_link, x y z w",
        length=4,
    ),
    ParameterSpec("extrinsic_from_tf", True, "look the extrinsic up in tf when tf2_ros is installed"),
    ParameterSpec("base_frame", "base_link", "the odometry's child frame, for the tf lookup of the extrinsic"),
)


def extrinsic_from_parameters(params: dict[str, Any]) -> np.ndarray:
    """(4, 4) ``T_base_cam`` from ``camera_extrinsic.translation`` and ``.rotation`` (quaternion x y z w)."""
    try:
        R = unit_quaternion_to_matrix(params["camera_extrinsic.rotation"], "camera_extrinsic.rotation")
        return check_rigid(
            make_transform(R, np.asarray(params["camera_extrinsic.translation"], np.float64)), "camera_extrinsic"
        )
    except PoseError as error:
        raise ParameterValueError(str(error)) from error


class OdometryInput:
    """Subscribes to ``odom`` on ``node`` and answers :meth:`camera_pose` at image stamps."""

    def __init__(self, node: Node, params: dict[str, Any], stats: NodeStatistics, log: ThrottledLog):
        self._node, self._stats, self._log = node, stats, log
        self._wait_s = float(params["pose_wait"])
        self._base_frame = str(params["base_frame"])
        self.buffer = PoseBuffer(
            max_gap_s=float(params["max_pose_gap"]), history_s=30.0, max_speed_mps=float(params["max_odometry_speed"])
        )
        self.T_base_cam: np.ndarray | None = extrinsic_from_parameters(params)
        self.extrinsic_source = "parameters"
        self._tf, self._tf_listener = _tf_buffer(node) if params["extrinsic_from_tf"] else (None, None)
        if self._tf is not None:
            self.T_base_cam, self.extrinsic_source = None, "tf"
        odometry = params["odom_type"] == "odometry"
        message, self._read = (Odometry, pose_from_odometry) if odometry else (PoseStamped, pose_from_pose_stamped)
        # Odometry is small and frequent (50-200 Hz): keep a burst of it rather than only the newest message.
        self.input = InputSubscription(node, message, "odom", self._on_odometry, str(params["input_qos"]), depth=50)
        # From configure on, so that poses gather before activation.
        self._follow_timer = node.create_timer(0.5, self.input.follow) if params["input_qos"] == "auto" else None

    def destroy(self) -> None:
        """Stop listening: destroy the subscription and its timer (the node's cleanup)."""
        if self._follow_timer is not None:
            self._node.destroy_timer(self._follow_timer)
        self.input.destroy()

    def _on_odometry(self, msg: Any) -> None:
        newest, jumps = self.buffer.newest_stamp_ns, self.buffer.jumps
        try:
            stamp, T_odom_base = self._read(msg)
            restarted = self.buffer.add(stamp, T_odom_base)
        except PoseError as error:
            self._stats.rejected("odometry")
            self._log("warning", "odometry rejected", f"odometry refused: {error}")
            return
        if not restarted:
            return
        if self.buffer.jumps > jumps:
            self._log(
                "warning",
                "odometry jumped",
                f"odometry at {stamp} ns moved faster than max_odometry_speed or turned faster than "
                f"{MAX_TURN_RATE_DEG_S:g} deg/s since the message before: a reset of the odometry frame (a driver "
                "restart?): the pose history starts again from it (and the multiview node's keyframes)",
            )
        else:
            self._log(
                "warning",
                "odometry restarted",
                f"odometry stamps went back {((newest or stamp) - stamp) / 1e9:.3f} s and go on from there (a bag "
                "loop or a time reset): the pose history starts again",
            )

    @property
    def restarts(self) -> int:
        """How many times the pose history started again (time lines and jumps): what was placed in the odometry
        frame before the last one (keyframes) does not fit the poses after it."""
        return self.buffer.resets + self.buffer.jumps

    def camera_pose(self, stamp: int, frame_id: str) -> np.ndarray:
        """(4, 4) ``T_odom_cam`` at ``stamp`` (ns), waiting up to ``pose_wait`` for odometry to cover it.

        Raises:
            FrameSkipped: no pose at that stamp (none yet, a gap, too old) or no extrinsic.
        """
        deadline = time.monotonic() + self._wait_s
        while True:
            try:
                T_odom_base = self.buffer.at(stamp)
                break
            except FrameSkipped as skip:
                if skip.reason != IMAGE_TOO_NEW or time.monotonic() >= deadline:
                    raise
                time.sleep(0.002)
        return T_odom_base @ self._extrinsic(frame_id)

    def _extrinsic(self, frame_id: str) -> np.ndarray:
        if self.T_base_cam is None:
            self.T_base_cam = self._lookup_extrinsic(frame_id)
        return self.T_base_cam

    def _lookup_extrinsic(self, frame_id: str) -> np.ndarray:
        """``T_base_cam`` from tf (``base_frame`` <- ``frame_id``); FrameSkipped until tf has a valid one (an
        invalid one is not kept: the next image asks tf again)."""
        from rclpy.time import Time

        what = f"{self._base_frame} -> {frame_id}"
        try:
            transform = self._tf.lookup_transform(self._base_frame, frame_id, Time()).transform  # type: ignore[union-attr]
        except Exception as error:  # tf2 raises several unrelated exception types
            raise FrameSkipped("no extrinsic in tf yet", f"{what}: {error}") from error
        q, t = transform.rotation, transform.translation
        try:
            R = unit_quaternion_to_matrix(np.array([q.x, q.y, q.z, q.w]), f"camera extrinsic {what} from tf")
            T = check_rigid(make_transform(R, np.array([t.x, t.y, t.z])), f"camera extrinsic {what} from tf")
        except PoseError as error:
            raise FrameSkipped("invalid extrinsic in tf", str(error)) from error
        self._node.get_logger().info(f"camera extrinsic {what} from tf")
        return T


def _tf_buffer(node: Node) -> tuple[Any, Any]:
    """A tf2 buffer and its listener on ``node``, or Nones (logged) where tf2_ros is not installed."""
    try:
        from tf2_ros.buffer import Buffer
        from tf2_ros.transform_listener import TransformListener
    except ImportError:
        node.get_logger().info("tf2_ros is not installed: the camera extrinsic comes from camera_extrinsic.*")
        return None, None
    buffer = Buffer()
    return buffer, TransformListener(buffer, node)
