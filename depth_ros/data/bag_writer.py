"""Write a synthetic sequence as a ROS 2 bag laid out like a real robot's recording.

Topics (see :class:`~depth_ros.data.bag_layout.BagTopics`): camera image (rgb8 or bgr8) and
camera_info at the camera rate, ground-truth depth (32FC1 metres) with the same header, odometry
of ``base_link`` in ``odom`` and the matching ``/tf`` at the odometry rate, and ``/tf_static`` with
the camera extrinsic (recorded as transient-local, so ``ros2 bag play`` latches it). The extrinsic
is also stored in the bag metadata's ``custom_data`` for tools without tf.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import StoragePlugin, Writer
from tqdm import tqdm

from depth_ros.data.bag_layout import BAG_VERSION, EXTRINSIC_KEY, GENERATOR_KEY, TYPESTORE, BagTopics, FrameNames
from depth_ros.data.sample import Frame, OdometrySample
from depth_ros.data.synthetic import SyntheticSequence
from depth_ros.encodings import array_to_image_fields
from depth_ros.errors import BagError
from depth_ros.geometry import PinholeCamera, matrix_to_quaternion

_T = TYPESTORE.types
_UNSPECIFIED = QosTime(0, 0)
_LATCHED = Qos(
    QosHistory.KEEP_LAST, 1, QosReliability.RELIABLE, QosDurability.TRANSIENT_LOCAL,
    _UNSPECIFIED, _UNSPECIFIED, QosLiveliness.AUTOMATIC, _UNSPECIFIED, False,
)  # fmt: skip
_STREAM = Qos(
    QosHistory.KEEP_LAST, 10, QosReliability.RELIABLE, QosDurability.VOLATILE,
    _UNSPECIFIED, _UNSPECIFIED, QosLiveliness.AUTOMATIC, _UNSPECIFIED, False,
)  # fmt: skip
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


def header(stamp_ns: int, frame_id: str) -> Any:
    """A ``std_msgs/Header``."""
    stamp = _T["builtin_interfaces/msg/Time"](sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)
    return _T["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)


def image_message(pixels: np.ndarray, encoding: str, stamp_ns: int, frame_id: str) -> Any:
    """A ``sensor_msgs/Image`` of ``pixels`` (already in ``encoding``'s layout and channel order)."""
    return _T["sensor_msgs/msg/Image"](header=header(stamp_ns, frame_id), **array_to_image_fields(pixels, encoding))


def camera_info_message(camera: PinholeCamera, stamp_ns: int, frame_id: str) -> Any:
    """A ``sensor_msgs/CameraInfo`` of an undistorted pinhole camera (``plumb_bob``, zero distortion)."""
    roi = _T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
    return _T["sensor_msgs/msg/CameraInfo"](
        header=header(stamp_ns, frame_id),
        height=camera.height,
        width=camera.width,
        distortion_model="plumb_bob",
        d=np.zeros(5),
        k=camera.K.reshape(-1),
        r=np.eye(3).reshape(-1),
        p=camera.P.reshape(-1),
        binning_x=0,
        binning_y=0,
        roi=roi,
    )


def _vector3(v: np.ndarray) -> Any:
    return _T["geometry_msgs/msg/Vector3"](x=float(v[0]), y=float(v[1]), z=float(v[2]))


def _quaternion(R: np.ndarray) -> Any:
    x, y, z, w = matrix_to_quaternion(R)
    return _T["geometry_msgs/msg/Quaternion"](x=float(x), y=float(y), z=float(z), w=float(w))


def transform_stamped(T_parent_child: np.ndarray, stamp_ns: int, parent: str, child: str) -> Any:
    """A ``geometry_msgs/TransformStamped`` (the child frame's pose in the parent frame)."""
    transform = _T["geometry_msgs/msg/Transform"](
        translation=_vector3(T_parent_child[:3, 3]), rotation=_quaternion(T_parent_child[:3, :3])
    )
    return _T["geometry_msgs/msg/TransformStamped"](
        header=header(stamp_ns, parent), child_frame_id=child, transform=transform
    )


def odometry_message(sample: OdometrySample, names: FrameNames) -> Any:
    """A ``nav_msgs/Odometry``: pose of ``base_link`` in ``odom``, twist in ``base_link`` (REP 105)."""
    T = sample.T_odom_base
    point = _T["geometry_msgs/msg/Point"](x=float(T[0, 3]), y=float(T[1, 3]), z=float(T[2, 3]))
    pose = _T["geometry_msgs/msg/Pose"](position=point, orientation=_quaternion(T[:3, :3]))
    twist = _T["geometry_msgs/msg/Twist"](linear=_vector3(sample.linear), angular=_vector3(sample.angular))
    covariance = np.diag([1e-6] * 6).reshape(-1)  # synthetic odometry is exact; a small positive variance
    return _T["nav_msgs/msg/Odometry"](
        header=header(sample.stamp_ns, names.odom),
        child_frame_id=names.base,
        pose=_T["geometry_msgs/msg/PoseWithCovariance"](pose=pose, covariance=covariance),
        twist=_T["geometry_msgs/msg/TwistWithCovariance"](twist=twist, covariance=covariance.copy()),
    )


def extrinsic_metadata(T_base_cam: np.ndarray, names: FrameNames) -> str:
    """JSON of the camera extrinsic for the bag's ``custom_data``."""
    return json.dumps(
        {
            "parent_frame": names.base,
            "child_frame": names.camera,
            "T_parent_child": np.round(T_base_cam, 12).tolist(),
        }
    )


class BagWriter:
    """Writes frames, odometry and transforms to a new ROS 2 bag; use as a context manager."""

    def __init__(self, path: Path, storage: str = "mcap", topics: BagTopics = BagTopics()):
        if storage not in STORAGES:
            raise BagError(f"unknown bag storage {storage!r}: expected one of {', '.join(STORAGES)}")
        self.path = Path(path)
        if self.path.exists():
            raise BagError(f"{self.path} already exists: choose a new path or delete it first")
        self.topics = topics
        self._writer = Writer(self.path, version=BAG_VERSION, storage_plugin=STORAGES[storage])
        self._connections: dict[str, Any] = {}

    def __enter__(self) -> BagWriter:
        self._writer.open()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self._writer.close()
        if exc_type is not None:  # never leave a half-written bag that looks complete
            shutil.rmtree(self.path, ignore_errors=True)

    def set_custom_data(self, key: str, value: str) -> None:
        """Store a string in the bag metadata's ``custom_data``."""
        self._writer.set_custom_data(key, value)

    def write(self, topic: str, message: Any, stamp_ns: int, latched: bool = False) -> None:
        """Serialise ``message`` (a typestore message) onto ``topic`` at receive time ``stamp_ns``."""
        msgtype = message.__msgtype__
        if topic not in self._connections:
            self._connections[topic] = self._writer.add_connection(
                topic, msgtype, typestore=TYPESTORE, offered_qos_profiles=[_LATCHED if latched else _STREAM]
            )
        self._writer.write(self._connections[topic], stamp_ns, TYPESTORE.serialize_cdr(message, msgtype))

    def write_frame(self, frame: Frame, encoding: str = "rgb8") -> None:
        """Image, camera_info and (if present) ground-truth depth of one frame, all with its header."""
        if encoding not in ("rgb8", "bgr8"):
            raise BagError(f"colour encoding must be rgb8 or bgr8, got {encoding!r}")
        pixels = frame.rgb if encoding == "rgb8" else frame.rgb[..., ::-1]
        self.write(self.topics.image, image_message(pixels, encoding, frame.stamp_ns, frame.frame_id), frame.stamp_ns)
        info = camera_info_message(frame.camera, frame.stamp_ns, frame.frame_id)
        self.write(self.topics.camera_info, info, frame.stamp_ns)
        if frame.depth is not None and self.topics.depth:
            depth = image_message(frame.depth.astype(np.float32), "32FC1", frame.stamp_ns, frame.frame_id)
            self.write(self.topics.depth, depth, frame.stamp_ns)
            if self.topics.depth_camera_info:
                self.write(self.topics.depth_camera_info, info, frame.stamp_ns)

    def write_odometry(self, sample: OdometrySample, names: FrameNames) -> None:
        """Odometry and the matching ``odom -> base_link`` transform on ``/tf``."""
        if self.topics.odometry:
            self.write(self.topics.odometry, odometry_message(sample, names), sample.stamp_ns)
        if self.topics.tf:
            tf = transform_stamped(sample.T_odom_base, sample.stamp_ns, names.odom, names.base)
            self.write(self.topics.tf, _T["tf2_msgs/msg/TFMessage"](transforms=[tf]), sample.stamp_ns)


def write_sample_bag(
    path: Path,
    sequence: SyntheticSequence,
    storage: str = "mcap",
    encoding: str = "rgb8",
    names: FrameNames = FrameNames(),
    progress: bool = False,
) -> Path:
    """Render ``sequence`` into a new bag at ``path``, messages in time order; returns ``path``."""
    odometry = sequence.odometry()
    with BagWriter(path, storage) as bag:
        bag.set_custom_data(EXTRINSIC_KEY, extrinsic_metadata(sequence.T_base_cam, names))
        config = sequence.config
        bag.set_custom_data(GENERATOR_KEY, json.dumps({k: getattr(config, k) for k in config.__dataclass_fields__}))
        if bag.topics.tf_static:
            tf = transform_stamped(sequence.T_base_cam, odometry[0].stamp_ns, names.base, names.camera)
            bag.write(
                bag.topics.tf_static, _T["tf2_msgs/msg/TFMessage"](transforms=[tf]), odometry[0].stamp_ns, latched=True
            )
        next_odometry = 0
        for index in tqdm(range(len(sequence)), desc=f"writing {path.name}", unit="frame", disable=not progress):
            frame = sequence.frame(index)
            frame.frame_id = names.camera
            while next_odometry < len(odometry) and odometry[next_odometry].stamp_ns <= frame.stamp_ns:
                bag.write_odometry(odometry[next_odometry], names)
                next_odometry += 1
            bag.write_frame(frame, encoding)
        for sample in odometry[next_odometry:]:
            bag.write_odometry(sample, names)
    return path
