"""A short, thread-safe history of odometry poses, interpolated at image stamps.

The ROS node adds ``T_odom_base`` from its odometry callback and asks for the pose at each image's stamp
from another thread; bag evaluation does the same in one thread. Poses are interpolated between the two
samples around a stamp (slerp of rotation, lerp of translation: :func:`~depth_ros.geometry.interpolate_pose`),
never extrapolated, and never across a gap in the odometry wider than ``max_gap_s``.

Stamps are integer nanoseconds. Samples must arrive in time order: a sample not newer than the newest one
is rejected (:class:`~depth_ros.errors.PoseError`) and counted, and the buffer stays as it was. A jump
backwards by more than ``reset_backward_s`` is not a late message but a new time line (a bag replayed in
a loop, a simulator reset with ``use_sim_time``): the history is cleared and the sample starts a new one.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import Counter

import numpy as np

from depth_ros.errors import PoseError
from depth_ros.geometry import check_rigid, interpolate_pose
from depth_ros.pipeline.frame import FrameSkipped

logger = logging.getLogger(__name__)

NO_ODOMETRY = "no odometry yet"
IMAGE_TOO_NEW = "image newer than the latest odometry"
IMAGE_TOO_OLD = "image older than the odometry history"
ODOMETRY_GAP = "odometry gap"
INVALID_POSE = "invalid pose"
OUT_OF_ORDER = "out of order"


class PoseBuffer:
    """Poses ``T_odom_base`` (4, 4) float64 by stamp, for interpolation at image stamps.

    Args:
        max_gap_s: seconds; no interpolation between two samples further apart than this.
        history_s: seconds of history kept behind the newest sample.
        reset_backward_s: seconds; a sample this much older than the newest clears the buffer (a new time line)
            instead of being rejected as out of order.

    Attributes:
        rejected: samples refused by :meth:`add`, by reason (``invalid pose``, ``out of order``).
        resets: how many times a backward jump of the stamps cleared the buffer.
    """

    def __init__(self, max_gap_s: float = 0.2, history_s: float = 10.0, reset_backward_s: float = 1.0):
        if max_gap_s <= 0 or history_s <= 0 or reset_backward_s <= 0:
            raise ValueError(
                f"max_gap_s, history_s and reset_backward_s must be positive, got {max_gap_s}, {history_s}, "
                f"{reset_backward_s}"
            )
        self.max_gap_ns = round(max_gap_s * 1e9)
        self.history_ns = round(history_s * 1e9)
        self.reset_backward_ns = round(reset_backward_s * 1e9)
        self.rejected: Counter[str] = Counter()
        self.resets = 0
        self._stamps: list[int] = []
        self._poses: list[np.ndarray] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._stamps)

    @property
    def newest_stamp_ns(self) -> int | None:
        """Stamp of the newest sample in nanoseconds, or None when the buffer is empty."""
        with self._lock:
            return self._stamps[-1] if self._stamps else None

    def clear(self) -> None:
        """Forget every sample (the counters stay)."""
        with self._lock:
            self._stamps.clear()
            self._poses.clear()

    def add(self, stamp_ns: int, T: np.ndarray) -> None:
        """Append the pose ``T`` (4, 4) (``T_odom_base``) at ``stamp_ns`` nanoseconds.

        Raises:
            PoseError: ``T`` is not a finite rigid transform, or ``stamp_ns`` is not newer than the newest sample
                (and not older by more than ``reset_backward_s``, which clears the buffer instead). The sample is
                counted in :attr:`rejected` and the buffer is unchanged.
        """
        stamp_ns = int(stamp_ns)
        try:
            pose = check_rigid(T, f"odometry pose at {stamp_ns} ns").copy()
        except PoseError:
            self._count_rejected(INVALID_POSE)
            raise
        with self._lock:
            newest = self._stamps[-1] if self._stamps else None
            if newest is not None and stamp_ns < newest - self.reset_backward_ns:
                logger.warning(
                    "odometry stamp jumped back %.3f s (a bag loop or a time reset): pose history cleared",
                    (newest - stamp_ns) / 1e9,
                )
                self.resets += 1
                self._stamps.clear()
                self._poses.clear()
            elif newest is not None and stamp_ns <= newest:
                self.rejected[OUT_OF_ORDER] += 1
                raise PoseError(
                    f"odometry at {stamp_ns} ns is not newer than the newest sample ({newest} ns): messages must "
                    "arrive in time order (a duplicate or late message is dropped)"
                )
            self._stamps.append(stamp_ns)
            self._poses.append(pose)
            self._drop_older_than(stamp_ns - self.history_ns)

    def at(self, stamp_ns: int) -> np.ndarray:
        """(4, 4) float64 pose at ``stamp_ns``: the sample at that stamp, or the interpolation between the two
        samples around it (a new array either way).

        Raises:
            FrameSkipped: with reason ``no odometry yet``, ``image newer than the latest odometry`` (wait for
                odometry to catch up and ask again), ``image older than the odometry history``, or
                ``odometry gap`` (the samples around the stamp are more than ``max_gap_s`` apart).
        """
        stamp_ns = int(stamp_ns)
        with self._lock:
            if not self._stamps:
                raise FrameSkipped(NO_ODOMETRY, f"image at {stamp_ns} ns")
            oldest, newest = self._stamps[0], self._stamps[-1]
            if stamp_ns > newest:
                raise FrameSkipped(IMAGE_TOO_NEW, f"image {(stamp_ns - newest) / 1e6:.1f} ms after the newest pose")
            if stamp_ns < oldest:
                raise FrameSkipped(IMAGE_TOO_OLD, f"image {(oldest - stamp_ns) / 1e6:.1f} ms before the oldest pose")
            upper = bisect.bisect_left(self._stamps, stamp_ns)
            if self._stamps[upper] == stamp_ns:
                return self._poses[upper].copy()
            stamps = np.array(self._stamps[upper - 1 : upper + 1], dtype=np.int64)
            poses = np.stack(self._poses[upper - 1 : upper + 1])
        try:
            return interpolate_pose(stamps, poses, stamp_ns, self.max_gap_ns)
        except PoseError as error:  # the stamp is inside the history, so only a gap can refuse it
            raise FrameSkipped(ODOMETRY_GAP, str(error)) from error

    def _count_rejected(self, reason: str) -> None:
        with self._lock:
            self.rejected[reason] += 1

    def _drop_older_than(self, oldest_kept_ns: int) -> None:
        """Drop samples before ``oldest_kept_ns`` (the caller holds the lock)."""
        count = bisect.bisect_left(self._stamps, oldest_kept_ns)
        del self._stamps[:count]
        del self._poses[:count]
