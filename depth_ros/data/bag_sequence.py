"""A ROS 2 bag as a :class:`~depth_ros.data.sequence.FrameSequence`, for training on a robot's recordings.

The bag is read once with :class:`~depth_ros.data.bag_reader.BagReader` (any topic names, through
:class:`~depth_ros.data.bag_layout.BagTopics`; poses from odometry interpolated at the image stamps,
composed with the camera extrinsic) and its frames are held in memory: ``W x H x 7`` bytes a frame
with depth (2.2 MB at 640x480), so a 1000-frame training bag at 640x480 needs about 2.2 GB. Use
``every`` to thin out a fast camera (Monodepth2 expects about 10 Hz between adjacent frames).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from depth_ros.data.bag_layout import BagTopics
from depth_ros.data.bag_reader import BagReader
from depth_ros.data.sample import Frame
from depth_ros.errors import DatasetError


def describe_issues(issues: Counter[str]) -> str:
    """``12 x frames skipped: ...; 3 x ...`` of a reader's problem counts, most frequent first."""
    return "; ".join(f"{count} x {issue}" for issue, count in issues.most_common())


class BagSequence:
    """The frames of a ROS 2 bag, every ``every``-th image, held in memory.

    Args:
        path: the bag (folder with ``metadata.yaml``, or its ``.mcap``/``.db3``).
        topics: topic names of the recording.
        every: keep images 0, every, 2 every, ... in bag order.
        drop_unposed: when the bag has odometry and a camera extrinsic, drop the frames whose pose cannot
            be interpolated (before the first or after the last odometry message, or across a gap); False
            keeps them with ``T_world_cam = None``. A bag without odometry keeps all its frames, without poses.
        T_base_cam: (4, 4) camera extrinsic, overriding the bag's ``/tf_static`` and metadata.
        max_pose_gap_s: largest gap between odometry messages a pose is interpolated across.
        progress: show a progress bar while reading.

    Attributes:
        has_poses: whether the bag gives camera poses at all (odometry and an extrinsic).
        issues: the reader's counts of problems (frames without pose, undecodable images, ...).
        dropped: counts of frames left out after the stride, by reason.
    """

    def __init__(
        self,
        path: str | Path,
        topics: BagTopics = BagTopics(),
        every: int = 1,
        drop_unposed: bool = True,
        T_base_cam: np.ndarray | None = None,
        max_pose_gap_s: float = 0.25,
        progress: bool = False,
    ):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.path = Path(path)
        reader = BagReader(self.path, topics, T_base_cam, max_pose_gap_s)
        self.has_poses = reader.T_base_cam is not None and len(reader.odometry_stamps_ns) > 0
        self.issues = reader.issues
        self.dropped: Counter[str] = Counter()
        self.frames: list[Frame] = []
        stream = tqdm(reader, total=len(reader), desc=f"reading {self.path.name}", unit="frame", disable=not progress)
        for k, frame in enumerate(stream):
            if k % every:
                continue
            if frame.T_world_cam is None and self.has_poses and drop_unposed:
                self.dropped["no pose at the image stamp (outside the odometry or across a gap)"] += 1
                continue
            self.frames.append(frame)
        if not self.frames:
            if self.dropped:
                raise DatasetError(
                    f"no frame of bag {self.path} has a pose: the odometry on {topics.odometry} does not cover the "
                    f"images on {topics.image}; pass drop_unposed=False to use the frames without poses"
                )
            raise DatasetError(
                f"no usable images in bag {self.path}: expected sensor_msgs/Image on {topics.image}"
                + (f"; {describe_issues(reader.issues)}" if reader.issues else "")
            )

    def __repr__(self) -> str:
        return f"BagSequence({self.path}, {len(self)} frames)"

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> Frame:
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} out of range for {self!r}")
        return self.frames[index]

    def poses(self) -> list[np.ndarray | None]:
        """Every frame's ``T_world_cam`` (None where unknown)."""
        return [frame.T_world_cam for frame in self.frames]
