"""Keyframes for multi-view depth: which past images to keep, and which of them measure a new one.

A multi-view network (MVDepthNet) triangulates a reference image against measurement images whose
poses are known. Depth comes from parallax, so a measurement must be taken from another place (baseline,
the distance between the camera centres) but still see the same scene (relative rotation, overlap). The
baseline must be neither too short (no parallax: a turn in place gives none at all) nor too long (little
overlap, large appearance change).

:class:`KeyframeBuffer` keeps the last few images taken at least ``min_translation_m`` (or half the
rotation limit) apart, and :meth:`KeyframeBuffer.select` ranks them for a reference pose. Every keyframe
and the reference are images of one camera at one size (the network's); poses are ``T_world_cam``, the
optical frame (REP 103) in the world (odometry) frame, and ``T_b_a`` maps frame ``a`` to frame ``b``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from depth_ros.geometry import (
    PinholeCamera,
    backproject,
    invert_transform,
    project,
    rotation_angle_deg,
    transform_points,
)

# Overlap is measured on a grid of this many columns x rows of reference pixels (cell centres).
OVERLAP_GRID = (16, 12)


@dataclass(frozen=True)
class KeyframeSettings:
    """When an image becomes a keyframe and when a keyframe may measure a reference image.

    Attributes:
        min_translation_m: shortest baseline (metres between camera centres) of a measurement; also how far
            the camera must move from the newest keyframe before the next one is kept.
        max_translation_m: longest baseline of a measurement, metres.
        max_rotation_deg: largest rotation (degrees) between reference and measurement; turning by half of it
            since the newest keyframe also keeps a new one, so that a turn leaves keyframes to measure from.
        min_overlap: smallest fraction of the reference view (a grid of pixels at the nominal depth) that must
            lie in front of a measurement camera and inside its image, in [0, 1].
        buffer_size: keyframes kept; the oldest is dropped beyond it.
    """

    min_translation_m: float = 0.1
    max_translation_m: float = 1.0
    max_rotation_deg: float = 10.0
    min_overlap: float = 0.6
    buffer_size: int = 10

    def __post_init__(self) -> None:
        if not 0.0 < self.min_translation_m < self.max_translation_m:
            raise ValueError(
                f"need 0 < min_translation_m < max_translation_m, got {self.min_translation_m} and "
                f"{self.max_translation_m}"
            )
        if not 0.0 < self.max_rotation_deg <= 180.0:
            raise ValueError(f"max_rotation_deg must be in (0, 180], got {self.max_rotation_deg}")
        if not 0.0 <= self.min_overlap <= 1.0:
            raise ValueError(f"min_overlap must be in [0, 1], got {self.min_overlap}")
        if self.buffer_size < 1:
            raise ValueError(f"buffer_size must be at least 1, got {self.buffer_size}")


DEFAULT_SETTINGS = KeyframeSettings()  # the defaults, as one shared value (an argument default must not be a call)


@dataclass(frozen=True)
class Keyframe:
    """One kept image.

    Attributes:
        stamp_ns: the image's stamp, integer nanoseconds.
        rgb: (h, w, 3) uint8 RGB at the network size.
        T_world_cam: (4, 4) float64 pose of the camera's optical frame in the world frame.
    """

    stamp_ns: int
    rgb: np.ndarray
    T_world_cam: np.ndarray


def motion(T_b_a: np.ndarray) -> tuple[float, float]:
    """Distance between the origins of frames ``a`` and ``b`` (metres) and the angle of the rotation between
    them (degrees), from the (4, 4) transform ``T_b_a``."""
    translation = float(np.linalg.norm(T_b_a[:3, 3]))
    return translation, rotation_angle_deg(T_b_a)


def view_overlap(T_meas_ref: np.ndarray, camera: PinholeCamera, depth_m: float) -> float:
    """Fraction of the reference view seen by a measurement camera of the same intrinsics.

    A grid of :data:`OVERLAP_GRID` reference pixels (the centres of equal cells) is back-projected to
    ``depth_m`` metres, moved into the measurement camera by ``T_meas_ref`` (4, 4), and counted where it lies
    in front of that camera and projects inside its image (``u`` in ``[-0.5, w - 0.5]``, likewise ``v``).
    """
    columns, rows = OVERLAP_GRID
    coarse = camera.resized(columns, rows)  # its pixel centres are the centres of the grid cells
    points_ref = backproject(np.full((rows, columns), depth_m), coarse.K).reshape(-1, 3)
    with np.errstate(divide="ignore", invalid="ignore"):  # points at z = 0 project to inf or NaN: outside
        uv, z = project(transform_points(T_meas_ref, points_ref), camera.K)
    inside = (
        (z > 0)
        & (uv[:, 0] >= -0.5)
        & (uv[:, 0] <= camera.width - 0.5)
        & (uv[:, 1] >= -0.5)
        & (uv[:, 1] <= camera.height - 0.5)
    )
    return float(inside.mean())


class KeyframeBuffer:
    """The last :attr:`KeyframeSettings.buffer_size` keyframes, oldest first."""

    def __init__(self, settings: KeyframeSettings = DEFAULT_SETTINGS):
        self.settings = settings
        self._keyframes: deque[Keyframe] = deque(maxlen=settings.buffer_size)

    def __len__(self) -> int:
        return len(self._keyframes)

    @property
    def keyframes(self) -> tuple[Keyframe, ...]:
        """The kept keyframes, oldest first."""
        return tuple(self._keyframes)

    @property
    def newest(self) -> Keyframe | None:
        """The most recently kept keyframe, or None when there is none."""
        return self._keyframes[-1] if self._keyframes else None

    def clear(self) -> None:
        """Forget every keyframe (after a jump of time or a change of camera)."""
        self._keyframes.clear()

    def offer(self, keyframe: Keyframe) -> bool:
        """Keep ``keyframe`` if the buffer is empty or the camera moved at least ``min_translation_m`` or turned
        at least ``max_rotation_deg / 2`` since the newest keyframe; the oldest is dropped beyond
        ``buffer_size``. Returns whether it was kept."""
        newest = self.newest
        if newest is not None:
            translation, rotation = motion(invert_transform(newest.T_world_cam) @ keyframe.T_world_cam)
            if translation < self.settings.min_translation_m and rotation < self.settings.max_rotation_deg / 2:
                return False
        self._keyframes.append(keyframe)
        return True

    def select(self, T_world_cam: np.ndarray, camera: PinholeCamera, count: int, depth_m: float) -> list[Keyframe]:
        """Up to ``count`` keyframes that can measure a reference image taken at ``T_world_cam``, best first.

        A keyframe qualifies when its baseline to the reference is within ``[min_translation_m,
        max_translation_m]``, its relative rotation at most ``max_rotation_deg``, and its
        :func:`view_overlap` at ``depth_m`` at least ``min_overlap``. Qualifying keyframes are ranked by the sum
        of two scores in [0, 1]: how close the baseline is to the middle of the allowed range (1 at the middle,
        0 at either end) and the overlap; ties go to the newer keyframe.

        Args:
            T_world_cam: (4, 4) rigid pose of the reference camera's optical frame in the world frame.
            camera: intrinsics of the reference and of every keyframe (network size).
            count: the most keyframes to return (>= 1).
            depth_m: nominal scene depth in metres for the overlap test (> 0).

        Returns:
            Distinct keyframes, best first; empty when none qualifies.
        """
        if count < 1 or not np.isfinite(depth_m) or depth_m <= 0:
            raise ValueError(f"need count >= 1 and a positive finite depth_m, got count={count}, depth_m={depth_m}")
        s = self.settings
        middle = 0.5 * (s.min_translation_m + s.max_translation_m)
        half_range = 0.5 * (s.max_translation_m - s.min_translation_m)
        ranked: list[tuple[float, int, Keyframe]] = []
        for keyframe in self._keyframes:
            T_meas_ref = invert_transform(keyframe.T_world_cam) @ T_world_cam
            translation, rotation = motion(T_meas_ref)
            if not s.min_translation_m <= translation <= s.max_translation_m or rotation > s.max_rotation_deg:
                continue
            overlap = view_overlap(T_meas_ref, camera, depth_m)
            if overlap < s.min_overlap:
                continue
            score = (1.0 - abs(translation - middle) / half_range) + overlap
            ranked.append((score, keyframe.stamp_ns, keyframe))
        ranked.sort(key=lambda item: (-item[0], -item[1]))
        return [keyframe for _, _, keyframe in ranked[:count]]
