"""Smooth planar trajectories of a robot's ``base_link`` in the ``odom`` frame, built from segments.

A trajectory is a cycle of segments (drive forward, orbit a point, turn in place and back, stand
still). Every segment starts and ends at rest (cosine velocity ramps), so velocities are continuous
and a segment can follow any other. ``base_link`` stays on the ground (z = 0, REP 105) with its x axis
along the heading ``yaw``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Literal

import numpy as np

from depth_ros.geometry import make_transform

SegmentKind = Literal["forward", "orbit", "turn", "stationary"]


@dataclass(frozen=True)
class Segment:
    """One motion primitive.

    Attributes:
        kind: ``forward`` (straight along the heading), ``orbit`` (around the point ``radius`` ahead,
            facing it, i.e. sideways motion), ``turn`` (pure rotation by ``angle`` and back), or
            ``stationary``.
        duration: seconds.
        distance: metres driven (``forward``).
        angle: radians swept around the orbit centre (``orbit``) or turned before turning back (``turn``).
        radius: metres from the robot to the orbit centre (``orbit``).
    """

    kind: SegmentKind
    duration: float
    distance: float = 0.0
    angle: float = 0.0
    radius: float = 1.0

    def pose(self, start: np.ndarray, tau: float) -> np.ndarray:
        """``(x, y, yaw)`` at ``tau`` seconds into the segment, from the start pose ``(x, y, yaw)``."""
        x, y, yaw = start
        phase = tau / self.duration
        ramp = phase - np.sin(2 * np.pi * phase) / (2 * np.pi)  # 0 -> 1, zero velocity at both ends
        if self.kind == "forward":
            s = self.distance * ramp
            return np.array([x + s * np.cos(yaw), y + s * np.sin(yaw), yaw])
        if self.kind == "orbit":
            cx, cy = x + self.radius * np.cos(yaw), y + self.radius * np.sin(yaw)
            bearing = yaw + np.pi + self.angle * ramp  # direction from the centre to the robot
            return np.array([cx + self.radius * np.cos(bearing), cy + self.radius * np.sin(bearing), bearing - np.pi])
        if self.kind == "turn":
            return np.array([x, y, yaw + self.angle * np.sin(np.pi * phase) ** 2])
        return np.array([x, y, yaw])


class Trajectory:
    """A cycle of segments from a start pose; ``T_odom_base(t)`` for any ``t >= 0`` seconds."""

    def __init__(self, segments: list[Segment], start: tuple[float, float, float] = (0.0, 0.0, 0.0)):
        if not segments or any(segment.duration <= 0 for segment in segments):
            raise ValueError("a trajectory needs at least one segment, each with a positive duration")
        self.segments = segments
        self._starts = [np.asarray(start, dtype=np.float64)]
        self._begin_times = [0.0]

    def _extend_to(self, time_s: float) -> None:
        while self._begin_times[-1] <= time_s:
            index = len(self._begin_times) - 1
            segment = self.segments[index % len(self.segments)]
            self._starts.append(segment.pose(self._starts[-1], segment.duration))
            self._begin_times.append(self._begin_times[-1] + segment.duration)

    def planar_pose(self, time_s: float) -> np.ndarray:
        """``(x, y, yaw)`` of ``base_link`` in ``odom`` at ``time_s`` seconds (metres, radians)."""
        if time_s < 0:
            raise ValueError(f"trajectory time must be >= 0, got {time_s}")
        self._extend_to(time_s)
        index = bisect.bisect_right(self._begin_times, time_s) - 1
        segment = self.segments[index % len(self.segments)]
        return segment.pose(self._starts[index], time_s - self._begin_times[index])

    def T_odom_base(self, time_s: float) -> np.ndarray:
        """(4, 4) pose of ``base_link`` in ``odom`` at ``time_s``."""
        x, y, yaw = self.planar_pose(time_s)
        c, s = np.cos(yaw), np.sin(yaw)
        return make_transform(np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]), np.array([x, y, 0.0]))

    def twist(self, time_s: float, step_s: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
        """Body-frame (``base_link``) linear (m/s) and angular (rad/s) velocity, by central differences."""
        before = self.planar_pose(max(time_s - step_s, 0.0))
        after = self.planar_pose(time_s + step_s)
        dt = (time_s + step_s) - max(time_s - step_s, 0.0)
        yaw = self.planar_pose(time_s)[2]
        vx, vy = (after[:2] - before[:2]) / dt
        c, s = np.cos(yaw), np.sin(yaw)
        linear = np.array([c * vx + s * vy, -s * vx + c * vy, 0.0])
        return linear, np.array([0.0, 0.0, (after[2] - before[2]) / dt])


def preset(scene: str, name: str) -> Trajectory:
    """Named trajectories that stay inside each scene's free space.

    * ``mixed``: the scene's main motion, then standing still, a turn in place and back, more motion.
    * ``forward`` (corridor): driving down the street. ``orbit``: circling a point while facing it.
    """
    if scene == "corridor":
        presets = {
            "forward": [Segment("forward", 4.0, distance=5.0)],
            "orbit": [Segment("orbit", 8.0, angle=2 * np.pi, radius=2.0)],
            "mixed": [
                Segment("forward", 4.0, distance=5.0),
                Segment("stationary", 1.0),
                Segment("turn", 2.0, angle=np.deg2rad(30)),
                Segment("forward", 3.0, distance=3.0),
            ],
        }
        start = (0.0, 0.0, 0.0)
    elif scene == "room":
        presets = {
            "orbit": [Segment("orbit", 8.0, angle=np.pi, radius=2.2)],
            "mixed": [
                Segment("orbit", 4.0, angle=np.pi / 2, radius=2.2),
                Segment("stationary", 1.0),
                Segment("turn", 2.0, angle=np.deg2rad(-35)),
                Segment("orbit", 3.0, angle=np.pi / 3, radius=2.2),
            ],
        }
        start = (-2.2, 0.0, 0.0)
    else:
        raise ValueError(f"unknown scene {scene!r}: expected 'corridor' or 'room'")
    if name not in presets:
        raise ValueError(f"trajectory {name!r} does not fit the {scene} scene: choose one of {sorted(presets)}")
    return Trajectory(presets[name], start)
