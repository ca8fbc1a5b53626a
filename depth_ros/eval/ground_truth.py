"""Where a bag's ground-truth depth comes from: a depth image topic, or a LiDAR projected into the camera.

* :class:`DepthImageTruth`: the depth image of the same stamp (``32FC1`` metres or ``16UC1`` millimetres with
  0 = invalid, decoded by :func:`~depth_ros.encodings.image_to_depth` into the same float32 metres).
* :class:`LidarTruth`: the ``sensor_msgs/PointCloud2`` scan nearest in time (within ``max_gap_s``) projected
  into the image (:func:`~depth_ros.eval.lidar.lidar_depth_image`) with ``T_cam_lidar`` from the caller or
  from ``/tf_static``. The scan is not motion-compensated: keep ``max_gap_s`` small for a moving camera.

:func:`open_ground_truth` picks one for a :class:`~depth_ros.data.bag_reader.BagReader` and says clearly
what is missing when neither is there.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from depth_ros.data.bag_reader import BagReader, describe_topics
from depth_ros.data.sample import Frame
from depth_ros.errors import BagError
from depth_ros.eval.evaluation import GroundTruth
from depth_ros.eval.lidar import lidar_depth_image, point_cloud_xyz
from depth_ros.geometry import check_rigid

DEFAULT_LIDAR_MAX_GAP_S = 0.05


class GroundTruthSource(Protocol):
    """Ground truth for the frames of one bag, asked for in bag order.

    Attributes:
        description: one line saying where the ground truth comes from (for reports).
        missing_reason: the skip reason of a frame without ground truth (a short, stable phrase).
    """

    description: str
    missing_reason: str

    def truth_for(self, frame: Frame) -> GroundTruth | None:
        """The ground truth of ``frame`` at its resolution, or None when there is none."""
        ...


class DepthImageTruth:
    """The depth image recorded with each frame (the reader pairs them by stamp)."""

    missing_reason = "no ground-truth depth image at the image stamp"

    def __init__(self, topic: str):
        self.topic = topic
        self.description = f"depth images on {topic}"

    def truth_for(self, frame: Frame) -> GroundTruth | None:
        """The frame's depth image; raises :class:`BagError` when it is not the size of the colour image."""
        if frame.depth is None:
            return None
        if frame.depth.shape != frame.rgb.shape[:2]:
            raise BagError(
                f"depth images on {self.topic} are {frame.depth.shape[1]}x{frame.depth.shape[0]} but the images are "
                f"{frame.rgb.shape[1]}x{frame.rgb.shape[0]}: the ground truth must be registered to the colour "
                "camera (e.g. the aligned depth topic of an RGB-D camera)"
            )
        return GroundTruth(frame.stamp_ns, frame.depth, frame.camera, frame.rgb)


class LidarTruth:
    """LiDAR scans projected into each frame's camera: the scan nearest to the image stamp within ``max_gap_s``.

    Args:
        scans: (header stamp ns, ``PointCloud2``) in bag order (:meth:`BagReader.messages`).
        T_cam_lidar: (4, 4) LiDAR frame -> camera optical frame.
        max_gap_s: largest time between image and scan, seconds.
        description: where the scans and the transform come from.
    """

    def __init__(self, scans: Iterator[tuple[int, Any]], T_cam_lidar: np.ndarray, max_gap_s: float, description: str):
        self.T_cam_lidar = check_rigid(T_cam_lidar, "T_cam_lidar")
        self.max_gap_ns = round(max_gap_s * 1e9)
        self.description = description
        self.missing_reason = f"no LiDAR scan within {max_gap_s * 1e3:g} ms of the image"
        self._scans = scans
        self._window: deque[tuple[int, np.ndarray]] = deque()  # decoded scans around the current image stamp
        self._exhausted = False

    def truth_for(self, frame: Frame) -> GroundTruth | None:
        points = self._nearest(frame.stamp_ns)
        if points is None:
            return None
        depth = lidar_depth_image(points, self.T_cam_lidar, frame.camera)
        return GroundTruth(frame.stamp_ns, depth, frame.camera, frame.rgb)

    def _nearest(self, stamp_ns: int) -> np.ndarray | None:
        """(N, 3) points of the scan nearest to ``stamp_ns`` within the gap; reads scans up to ``stamp + gap``
        and forgets those before ``stamp - gap`` (image stamps rise through a bag)."""
        while not self._exhausted and (not self._window or self._window[-1][0] <= stamp_ns + self.max_gap_ns):
            scan = next(self._scans, None)
            if scan is None:
                self._exhausted = True
            else:
                self._window.append((scan[0], point_cloud_xyz(scan[1])))
        while self._window and self._window[0][0] < stamp_ns - self.max_gap_ns:
            self._window.popleft()
        near = [(abs(stamp - stamp_ns), index) for index, (stamp, _) in enumerate(self._window)]
        near = [(gap, index) for gap, index in near if gap <= self.max_gap_ns]
        return self._window[min(near)[1]][1] if near else None


def ground_truths(reader: BagReader, source: GroundTruthSource) -> Iterator[GroundTruth]:
    """The ground truth of every frame of ``reader`` that has one, in bag order (e.g. the ``truths`` of
    :func:`~depth_ros.eval.evaluation.evaluate_predictions`)."""
    for frame in reader:
        truth = source.truth_for(frame)
        if truth is not None:
            yield truth


def open_ground_truth(
    reader: BagReader, T_cam_lidar: np.ndarray | None = None, lidar_max_gap_s: float = DEFAULT_LIDAR_MAX_GAP_S
) -> GroundTruthSource:
    """The ground truth of a bag: LiDAR scans when the reader has a ``topics.lidar``, else its ``topics.depth``.

    Args:
        reader: the bag, opened with the topics to use.
        T_cam_lidar: (4, 4) LiDAR frame -> camera optical frame; default: from the bag's ``/tf_static``.
        lidar_max_gap_s: largest time between an image and its scan, seconds.

    Raises:
        BagError: the topic is not in the bag (or has no message, or is of another type), or no transform
            from the LiDAR's frame to the camera's is known.
    """
    found = reader.available_topics
    lidar_topic = reader.topics.lidar
    if lidar_topic is None:
        depth_topic = reader.topics.depth
        if depth_topic is None or depth_topic not in found:
            raise BagError(
                f"bag {reader.path} has no ground truth: no depth image topic {depth_topic!r} (sensor_msgs/Image "
                f"32FC1 metres or 16UC1 millimetres) and no LiDAR topic given; it has: {describe_topics(found)}. "
                "Pass --depth-topic or --lidar-topic."
            )
        return DepthImageTruth(depth_topic)
    expected = "sensor_msgs/msg/PointCloud2"
    if found.get(lidar_topic) != expected:
        what = f"is {found[lidar_topic]}" if lidar_topic in found else "is not in it"
        raise BagError(
            f"LiDAR topic {lidar_topic!r} of bag {reader.path} {what}: expected {expected}; it has: "
            f"{describe_topics(found)}"
        )
    first = next(reader.messages("lidar"), None)
    if first is None:
        raise BagError(f"LiDAR topic {lidar_topic} of bag {reader.path} has no messages")
    lidar_frame = first[1].header.frame_id
    source = "--lidar-extrinsic"
    if T_cam_lidar is None:
        T_cam_lidar = reader.static_transform(reader.frame_id, lidar_frame)
        source = "/tf_static"
        if T_cam_lidar is None:
            raise BagError(
                f"no transform from the LiDAR frame {lidar_frame!r} to the camera frame {reader.frame_id!r} in the "
                f"/tf_static of {reader.path}: pass --lidar-extrinsic x y z qx qy qz qw (the LiDAR's pose in the "
                "camera's optical frame, T_cam_lidar)"
            )
    description = f"LiDAR scans on {lidar_topic} ({lidar_frame} -> {reader.frame_id} from {source})"
    return LidarTruth(reader.messages("lidar"), T_cam_lidar, lidar_max_gap_s, description)
