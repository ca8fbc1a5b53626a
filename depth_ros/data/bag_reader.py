"""Read a ROS 2 bag (mcap or sqlite3) of a camera, its intrinsics, odometry and optional ground-truth
depth back into :class:`~depth_ros.data.sample.Frame` objects.

Works on any bag with these kinds of topics (names configurable through
:class:`~depth_ros.data.bag_layout.BagTopics`). Camera poses come from odometry interpolated at each
image stamp (slerp + lerp, never extrapolated) composed with the camera extrinsic, taken from (in this
order) the caller, ``/tf_static``, or the bag metadata written by :mod:`depth_ros.data.bag_writer`.

Problems with the bag raise :class:`~depth_ros.errors.BagError` with what was expected and what was
found; problems with single messages (a frame without a pose, NaN odometry) are counted in
:attr:`BagReader.issues` and never stop the reading.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.highlevel import AnyReader

from depth_ros.data.bag_layout import EXTRINSIC_KEY, TYPESTORE, BagTopics
from depth_ros.data.sample import Frame
from depth_ros.encodings import image_to_depth, image_to_rgb
from depth_ros.errors import BagError, DepthRosError
from depth_ros.geometry import (
    PinholeCamera,
    camera_info_intrinsics,
    interpolate_pose,
    invert_transform,
    make_transform,
    quaternion_to_matrix,
)

_EXPECTED_TYPES = {
    "image": "sensor_msgs/msg/Image",
    "camera_info": "sensor_msgs/msg/CameraInfo",
    "depth": "sensor_msgs/msg/Image",
    "odometry": "nav_msgs/msg/Odometry",
    "tf_static": "tf2_msgs/msg/TFMessage",
    "lidar": "sensor_msgs/msg/PointCloud2",
}
_DEPTH_WAIT_IMAGES = 16  # newer images the oldest image waits behind for its depth before going out without it
_UNREADABLE_HINT = (
    "the file may be truncated or corrupt, or not a ROS 2 bag (a folder with metadata.yaml, or its .mcap/.db3)"
)


def stamp_to_ns(stamp: Any) -> int:
    """``builtin_interfaces/Time`` -> integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def _transform_to_matrix(transform: Any) -> np.ndarray:
    """``geometry_msgs/Transform`` or ``Pose`` -> (4, 4) float64."""
    translation = getattr(transform, "translation", None) or transform.position
    q = transform.rotation if hasattr(transform, "rotation") else transform.orientation
    R = quaternion_to_matrix(np.array([q.x, q.y, q.z, q.w]))
    return make_transform(R, np.array([translation.x, translation.y, translation.z]))


def resolve_static_transform(edges: dict[str, tuple[str, np.ndarray]], parent: str, child: str) -> np.ndarray | None:
    """``T_parent_child`` through a static tf tree, or None if the frames are not connected.

    Args:
        edges: child frame -> (its parent frame, ``T_parent_child``).
    """

    def chain_to_root(frame: str) -> dict[str, np.ndarray]:
        poses = {frame: np.eye(4)}  # frame -> T_frame_start
        T = np.eye(4)
        while frame in edges and len(poses) <= len(edges):
            frame, T_parent_frame = edges[frame][0], edges[frame][1]
            T = T_parent_frame @ T
            poses[frame] = T
        return poses

    from_parent, from_child = chain_to_root(parent), chain_to_root(child)
    common = next((frame for frame in from_child if frame in from_parent), None)
    if common is None:
        return None
    return invert_transform(from_parent[common]) @ from_child[common]


def describe_topics(found: dict[str, str]) -> str:
    """``/topic [type], ...`` of a bag's topic -> message type map, sorted (``no topics`` when empty)."""
    return ", ".join(f"{topic} [{msgtype}]" for topic, msgtype in sorted(found.items())) or "no topics"


def _custom_data(reader: AnyReader) -> dict[str, str]:
    """The ``custom_data`` of a rosbag2 bag's metadata (empty for bags without it)."""
    storage = getattr(reader.readers[0], "storage", None)
    return getattr(getattr(storage, "metadata", None), "custom", None) or {}


class BagReader:
    """Frames of a ROS 2 bag; iterate it (twice if you like: each pass re-reads the images).

    Attributes:
        camera: intrinsics from the first ``camera_info``.
        frame_id: the images' optical frame.
        T_base_cam: (4, 4) camera extrinsic in the odometry child frame, or None if unknown.
        extrinsic_source: where ``T_base_cam`` came from (``argument``, ``tf_static``, ``metadata``, ``none``).
        odometry_stamps_ns, T_odom_base: (N,) and (N, 4, 4) odometry, sorted, NaN poses dropped.
        issues: counts of problems met so far (frames without pose, dropped odometry, ...), each problem once
            however often the bag is read.
        available_topics: every topic of the bag -> its message type.
    """

    def __init__(
        self,
        path: str | Path,
        topics: BagTopics = BagTopics(),
        T_base_cam: np.ndarray | None = None,
        max_pose_gap_s: float = 0.25,
    ):
        self.path = Path(path)
        self.topics = topics
        self.max_pose_gap_ns = int(max_pose_gap_s * 1e9)
        self.issues: Counter[str] = Counter()
        if not self.path.exists():
            raise BagError(f"bag not found: {self.path}")
        with self._open() as reader:
            self._topics = self._check_topics(reader)
            self._read_small_topics(reader)
            custom = _custom_data(reader)
        self.T_base_cam, self.extrinsic_source = self._find_extrinsic(T_base_cam, custom)

    @contextmanager
    def _open(self) -> Iterator[AnyReader]:
        try:
            reader = AnyReader([self.path], default_typestore=TYPESTORE)
            reader.open()
        except Exception as error:  # rosbags raises several types (ReaderError, sqlite3, struct, OS errors)
            raise BagError(f"cannot read bag {self.path}: {error} ({_UNREADABLE_HINT})") from error
        try:
            yield reader
        finally:
            reader.close()

    def _check_topics(self, reader: AnyReader) -> dict[str, str]:
        """Role -> topic for the roles present in the bag, checked against the expected message types."""
        found = {c.topic: c.msgtype for c in reader.connections}
        self.available_topics = found
        listing = describe_topics(found)
        present: dict[str, str] = {}
        for role, expected in _EXPECTED_TYPES.items():
            topic = getattr(self.topics, role)
            if topic is None:
                continue
            if topic not in found:
                if role in ("image", "camera_info"):
                    raise BagError(
                        f"bag {self.path} has no {role} topic {topic!r} ({expected}); it has: {listing}. "
                        "Pass the right topic name."
                    )
                self.issues[f"no {role} topic {topic}"] += 1
                continue
            if found[topic] != expected:
                raise BagError(f"topic {topic} in {self.path} is {found[topic]}, expected {expected} for the {role}")
            present[role] = topic
        self._image_count = sum(c.msgcount for c in reader.connections if c.topic == present["image"])
        return present

    def _messages(self, reader: AnyReader, *roles: str) -> Iterator[tuple[str, Any]]:
        """(role, message) in bag order for the given roles; unreadable data raises :class:`BagError`."""
        role_of = {self._topics[role]: role for role in roles if role in self._topics}
        selected = [c for c in reader.connections if c.topic in role_of]
        if not selected:
            return
        try:
            for connection, _, raw in reader.messages(connections=selected):
                yield role_of[connection.topic], reader.deserialize(raw, connection.msgtype)
        except DepthRosError:
            raise
        except Exception as error:
            raise BagError(f"cannot read messages of bag {self.path}: {error} ({_UNREADABLE_HINT})") from error

    def _read_small_topics(self, reader: AnyReader) -> None:
        self._cameras: dict[int, PinholeCamera] = {}
        self.frame_id = ""
        odometry: dict[int, np.ndarray] = {}
        self._odometry_child = None
        self._static_edges: dict[str, tuple[str, np.ndarray]] = {}
        for role, msg in self._messages(reader, "camera_info", "odometry", "tf_static"):
            if role == "camera_info":
                try:
                    camera = PinholeCamera.from_matrix(camera_info_intrinsics(msg.k, msg.p), msg.width, msg.height)
                except DepthRosError as error:
                    raise BagError(
                        f"camera_info on {self.topics.camera_info} in {self.path} is unusable: {error}"
                    ) from error
                self._cameras[stamp_to_ns(msg.header.stamp)] = camera
                self.frame_id = self.frame_id or msg.header.frame_id
            elif role == "odometry":
                self._odometry_child = self._odometry_child or msg.child_frame_id
                try:
                    pose = _transform_to_matrix(msg.pose.pose)
                except DepthRosError:
                    self.issues["odometry messages with invalid pose dropped"] += 1
                    continue
                if not np.all(np.isfinite(pose)):
                    self.issues["odometry messages with invalid pose dropped"] += 1
                    continue
                odometry.setdefault(stamp_to_ns(msg.header.stamp), pose)
            else:
                for tf in msg.transforms:
                    self._static_edges[tf.child_frame_id] = (tf.header.frame_id, _transform_to_matrix(tf.transform))
        if not self._cameras:
            raise BagError(f"bag {self.path} has no messages on {self.topics.camera_info}: intrinsics are needed")
        self.camera = next(iter(self._cameras.values()))
        stamps = np.array(sorted(odometry), dtype=np.int64)
        self.odometry_stamps_ns = stamps
        self.T_odom_base = np.array([odometry[s] for s in stamps]).reshape(-1, 4, 4)

    def _find_extrinsic(self, given: np.ndarray | None, custom: dict) -> tuple[np.ndarray | None, str]:
        if given is not None:
            return np.asarray(given, dtype=np.float64), "argument"
        base = self._odometry_child
        if base and base == self.frame_id:
            return np.eye(4), "identity (odometry of the camera frame)"
        if base and self.frame_id:
            resolved = resolve_static_transform(self._static_edges, base, self.frame_id)
            if resolved is not None:
                return resolved, "tf_static"
        if EXTRINSIC_KEY in custom:
            try:
                stored = json.loads(custom[EXTRINSIC_KEY])
                return np.array(stored["T_parent_child"], dtype=np.float64).reshape(4, 4), "metadata"
            except (ValueError, KeyError, TypeError):
                self.issues[f"unreadable {EXTRINSIC_KEY} in bag metadata"] += 1
        if len(self.odometry_stamps_ns):
            self.issues["no camera extrinsic (tf_static, metadata or argument): frames have no pose"] += 1
        return None, "none"

    def _camera_at(self, stamp_ns: int) -> PinholeCamera:
        """The camera_info with the image's stamp, else the first one."""
        return self._cameras.get(stamp_ns, self.camera)

    def _count(self, pass_issues: Counter[str], issue: str) -> None:
        """Count a problem met while reading the bag: in ``pass_issues`` (this pass's), and in :attr:`issues` as
        often as the pass that met it most often, so that each problem counts once however often the bag is read."""
        pass_issues[issue] += 1
        self.issues[issue] = max(self.issues[issue], pass_issues[issue])

    def _pose_at(self, stamp_ns: int, pass_issues: Counter[str]) -> np.ndarray | None:
        if self.T_base_cam is None or len(self.odometry_stamps_ns) == 0:
            self._count(pass_issues, "frames without pose (no odometry or extrinsic)")
            return None
        try:
            T_odom_base = interpolate_pose(self.odometry_stamps_ns, self.T_odom_base, stamp_ns, self.max_pose_gap_ns)
        except DepthRosError:
            self._count(pass_issues, "frames without pose (stamp outside odometry or across a gap)")
            return None
        return T_odom_base @ self.T_base_cam

    def _frame(self, image: Any, depth: Any | None, pass_issues: Counter[str]) -> Frame | None:
        stamp = stamp_to_ns(image.header.stamp)
        try:
            rgb = image_to_rgb(image)
            depth_m = None if depth is None else image_to_depth(depth)
        except DepthRosError as error:
            self._count(pass_issues, f"frames skipped: {error}")
            return None
        camera = self._camera_at(stamp)
        if rgb.shape[:2] != (camera.height, camera.width):
            image_size, info_size = f"{rgb.shape[1]}x{rgb.shape[0]}", f"{camera.width}x{camera.height}"
            self._count(pass_issues, f"frames skipped: image {image_size} differs from camera_info {info_size}")
            return None
        return Frame(stamp, rgb, camera, depth_m, self._pose_at(stamp, pass_issues), None, image.header.frame_id)

    def __len__(self) -> int:
        return self._image_count

    def __iter__(self) -> Iterator[Frame]:
        """Frames in stamp order; each image is paired with the depth image of the same stamp, if any.

        The oldest pending image waits for its depth until :data:`_DEPTH_WAIT_IMAGES` newer images wait
        behind it (or the bag ends), then goes out without it; newer images wait behind it, so the order holds.
        """
        images: dict[int, Any] = {}  # stamp -> image not yet sent out
        depths: dict[int, Any] = {}  # stamp -> depth image not yet paired
        pass_issues: Counter[str] = Counter()
        with self._open() as reader:
            for role, msg in self._messages(reader, "image", "depth"):
                (images if role == "image" else depths)[stamp_to_ns(msg.header.stamp)] = msg
                yield from self._frames(self._ready_pairs(images, depths, bag_ended=False), pass_issues)
                self._drop_unmatched_depths(images, depths, _DEPTH_WAIT_IMAGES, pass_issues)
        yield from self._frames(self._ready_pairs(images, depths, bag_ended=True), pass_issues)
        self._drop_unmatched_depths(images, depths, 0, pass_issues)

    def _ready_pairs(
        self, images: dict[int, Any], depths: dict[int, Any], bag_ended: bool
    ) -> Iterator[tuple[Any, Any | None]]:
        """Pop (image, depth or None) oldest first while the oldest image need not wait for its depth."""
        while images:
            oldest = min(images)
            no_depth_coming = bag_ended or "depth" not in self._topics or len(images) > _DEPTH_WAIT_IMAGES
            if oldest not in depths and not no_depth_coming:
                return
            yield images.pop(oldest), depths.pop(oldest, None)

    def _drop_unmatched_depths(
        self, images: dict[int, Any], depths: dict[int, Any], keep: int, pass_issues: Counter[str]
    ) -> None:
        """Forget all but the ``keep`` newest depth images that have no pending image, counting them."""
        unmatched = sorted(stamp for stamp in depths if stamp not in images)
        for stamp in unmatched[: max(len(unmatched) - keep, 0)]:
            del depths[stamp]
            self._count(pass_issues, "depth images without an image of the same stamp")

    def _frames(self, pairs: Iterable[tuple[Any, Any]], pass_issues: Counter[str]) -> Iterator[Frame]:
        for image, depth in pairs:
            if depth is None and "depth" in self._topics:
                self._count(pass_issues, "frames without ground-truth depth")
            frame = self._frame(image, depth, pass_issues)
            if frame is not None:
                yield frame

    def messages(self, role: str) -> Iterator[tuple[int, Any]]:
        """(header stamp in ns, message) of one role's topic (e.g. ``lidar``) in bag order; nothing when the bag
        lacks it. Unreadable data raises :class:`BagError`."""
        with self._open() as reader:
            for _, msg in self._messages(reader, role):
                yield stamp_to_ns(msg.header.stamp), msg

    def static_transform(self, parent: str, child: str) -> np.ndarray | None:
        """(4, 4) ``T_parent_child`` from the bag's ``/tf_static``, or None when it does not connect the frames."""
        return resolve_static_transform(self._static_edges, parent, child)

    def read_all(self) -> list[Frame]:
        """All frames in a list (for small bags)."""
        return list(self)
