"""A short, thread-safe history of odometry poses, interpolated at image stamps.

The ROS node adds ``T_odom_base`` from its odometry callback and asks for the pose at each image's stamp
from another thread; bag evaluation does the same in one thread. Poses are interpolated between the two
samples around a stamp (slerp of rotation, lerp of translation: :func:`~depth_ros.geometry.interpolate_pose`),
never extrapolated, and never across a gap in the odometry wider than ``max_gap_s``.

A pose further than :data:`MAX_POSITION_M` from the origin on any axis is refused as implausible (a corrupt or
uninitialised value), like a non-finite or non-rigid one, before any speed is measured from it.

Stamps are integer nanoseconds. Samples must arrive in time order: a sample not newer than the newest one
is rejected (:class:`~depth_ros.errors.PoseError`) and counted, and the history stays as it was, unless it is
the third in a row behind the newest, each after the one before: then the stamps have started a new time line
(a bag replayed in a loop, a simulator reset with ``use_sim_time``; see :mod:`~depth_ros.pipeline.timeline`),
and those samples replace the history. One stale or stray message never clears it.

Odometry is continuous by definition (REP 105), so a sample that implies moving faster than
``max_speed_mps`` or turning faster than :data:`MAX_TURN_RATE_DEG_S` since the one before is a reset of the
odometry frame (a base driver restarting at the origin), not motion: the history starts again from it, and
:attr:`PoseBuffer.jumps` counts it, so that nothing is interpolated across it and the caller can forget what it
placed in the old frame (keyframes).
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter

import numpy as np

from depth_ros.errors import PoseError
from depth_ros.geometry import check_rigid, interpolate_pose, rotation_angle_deg
from depth_ros.pipeline.frame import FrameSkipped
from depth_ros.pipeline.timeline import RESTART_CONFIRMATIONS, StampOrder, TimelineGuard

NO_ODOMETRY = "no odometry yet"
IMAGE_TOO_NEW = "image newer than the latest odometry"
IMAGE_TOO_OLD = "image older than the odometry history"
ODOMETRY_GAP = "odometry gap"
INVALID_POSE = "invalid pose"
OUT_OF_ORDER = "out of order"
MAX_POSITION_M = 1e9  # |x|, |y|, |z| of a plausible pose (float64 steps there: 0.1 um; at 1e15 m: 0.1 m)
MAX_TURN_RATE_DEG_S = 1000.0  # faster than any robot turns: a rotation beyond it between samples is a reset
_MIN_JUMP_DT_S = 0.01  # speeds are measured over at least this long (stamps 1 ns apart are no measurement)


def check_plausible_pose(T: np.ndarray, name: str) -> np.ndarray:
    """Return ``T`` as float64 (4, 4) after checking that it is a finite rigid transform
    (:func:`~depth_ros.geometry.check_rigid`) whose position is within :data:`MAX_POSITION_M` of the origin on
    every axis; raise :class:`~depth_ros.errors.PoseError` naming ``name`` otherwise."""
    T = check_rigid(T, name)
    if T.shape != (4, 4):
        raise PoseError(f"{name}: expected one (4, 4) pose, got shape {T.shape}")
    position = T[:3, 3]
    if np.abs(position).max() > MAX_POSITION_M:
        raise PoseError(
            f"{name}: position {position.tolist()} m is more than {MAX_POSITION_M:g} m from the origin: not a "
            "plausible pose (a corrupt or uninitialised value?)"
        )
    return T


class PoseBuffer:
    """Poses ``T_odom_base`` (4, 4) float64 by stamp, for interpolation at image stamps.

    Args:
        max_gap_s: seconds; no interpolation between two samples further apart than this.
        history_s: seconds of history kept behind the newest sample.
        max_speed_mps: metres per second; faster motion between two samples is a jump (see the module docstring).

    Attributes:
        rejected: samples refused by :meth:`add`, by reason (``invalid pose``, ``out of order``).
        resets: how many times the stamps started a new time line (a bag loop, a time reset).
        jumps: how many times the odometry jumped (a reset of its frame) and the history started again.
    """

    def __init__(self, max_gap_s: float = 0.2, history_s: float = 10.0, max_speed_mps: float = 40.0):
        if max_gap_s <= 0 or history_s <= 0 or max_speed_mps <= 0:
            raise ValueError(
                "max_gap_s, history_s and max_speed_mps must be positive, got "
                f"{max_gap_s}, {history_s}, {max_speed_mps}"
            )
        self.max_gap_ns = round(max_gap_s * 1e9)
        self.history_ns = round(history_s * 1e9)
        self.max_speed_mps = max_speed_mps
        self.rejected: Counter[str] = Counter()
        self.resets = 0
        self.jumps = 0
        self._stamps: list[int] = []
        self._poses: list[np.ndarray] = []
        self._timeline = TimelineGuard()
        self._late: list[np.ndarray] = []  # the poses of the timeline's run of late stamps
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
            self._timeline.clear()
            self._late.clear()

    def add(self, stamp_ns: int, T: np.ndarray) -> bool:
        """Append the pose ``T`` (4, 4) (``T_odom_base``) at ``stamp_ns`` nanoseconds.

        Returns:
            True when the history started again here: this sample completed a new time line (the history is now
            the run of samples that started it, counted in :attr:`resets`) or the odometry jumped to it (the
            history is this sample, counted in :attr:`jumps`); see the module docstring.

        Raises:
            PoseError: ``T`` is not a finite rigid transform within :data:`MAX_POSITION_M` of the origin, or
                ``stamp_ns`` is not newer than the newest sample (a late or duplicate message, or the start of a new
                time line). The sample is counted in :attr:`rejected` and the history is unchanged.
        """
        stamp_ns = int(stamp_ns)
        try:
            pose = check_plausible_pose(T, f"odometry pose at {stamp_ns} ns").copy()
        except PoseError:
            self._count_rejected(INVALID_POSE)
            raise
        with self._lock:
            newest = self._timeline.newest_ns
            order = self._timeline.observe(stamp_ns)
            if order is StampOrder.LATE:
                continued = len(self._timeline.run_ns) > 1  # else this stamp began a new run
                self._late = [*self._late, pose] if continued else [pose]
                self.rejected[OUT_OF_ORDER] += 1
                raise PoseError(
                    f"odometry at {stamp_ns} ns is not newer than the newest sample ({newest} ns): a late or duplicate "
                    f"message is dropped ({RESTART_CONFIRMATIONS} in a row, each after the one before, start a new "
                    "time line: a bag loop)"
                )
            jumped = order is StampOrder.IN_ORDER and self._jumps_to(stamp_ns, pose)
            if order is StampOrder.RESTART:
                self.resets += 1
                self._stamps, self._poses = list(self._timeline.run_ns), [*self._late, pose]
            elif jumped:
                self.jumps += 1
                self._stamps, self._poses = [stamp_ns], [pose]
            else:
                self._stamps.append(stamp_ns)
                self._poses.append(pose)
            self._late = []
            self._drop_older_than(stamp_ns - self.history_ns)
            return order is StampOrder.RESTART or jumped

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

    def _jumps_to(self, stamp_ns: int, pose: np.ndarray) -> bool:
        """Whether reaching ``pose`` at ``stamp_ns`` from the newest sample is faster than any motion (the caller
        holds the lock)."""
        if not self._stamps:
            return False
        previous = self._poses[-1]
        dt = max((stamp_ns - self._stamps[-1]) * 1e-9, _MIN_JUMP_DT_S)
        speed = float(np.linalg.norm(pose[:3, 3] - previous[:3, 3])) / dt
        turn_rate = rotation_angle_deg(previous[:3, :3].T @ pose[:3, :3]) / dt
        return speed > self.max_speed_mps or turn_rate > MAX_TURN_RATE_DEG_S

    def _count_rejected(self, reason: str) -> None:
        with self._lock:
            self.rejected[reason] += 1

    def _drop_older_than(self, oldest_kept_ns: int) -> None:
        """Drop samples before ``oldest_kept_ns`` (the caller holds the lock)."""
        count = bisect.bisect_left(self._stamps, oldest_kept_ns)
        del self._stamps[:count]
        del self._poses[:count]
