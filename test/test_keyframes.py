"""Keyframes: kept after enough motion, and selected for a reference by baseline, rotation and overlap.

Poses are built by hand in a world frame that is the first camera's optical frame (x right, y down,
z forward), so "behind" is -z and a turn in place is a rotation about y.
"""

from __future__ import annotations

import numpy as np
import pytest

from depth_ros.geometry import PinholeCamera, axis_angle_to_matrix, make_transform
from depth_ros.pipeline.keyframes import Keyframe, KeyframeBuffer, KeyframeSettings, view_overlap

CAMERA = PinholeCamera.from_fov(128, 96, 80.0)
RGB = np.zeros((96, 128, 3), np.uint8)


def camera_pose(x: float = 0.0, z: float = 0.0, yaw_deg: float = 0.0) -> np.ndarray:
    """(4, 4) T_world_cam: the camera at ``(x, 0, z)`` turned by ``yaw_deg`` about the vertical (y) axis."""
    return make_transform(axis_angle_to_matrix(np.array([0.0, np.deg2rad(yaw_deg), 0.0])), np.array([x, 0.0, z]))


def filled(settings: KeyframeSettings, poses: list[np.ndarray]) -> KeyframeBuffer:
    """A buffer offered ``poses`` in order (stamps 0, 1, ...); each must be kept."""
    buffer = KeyframeBuffer(settings)
    for stamp, pose in enumerate(poses):
        assert buffer.offer(Keyframe(stamp, RGB, pose)), f"keyframe {stamp} was not kept"
    return buffer


def selected_stamps(buffer: KeyframeBuffer, reference: np.ndarray, count: int = 10, depth_m: float = 5.0) -> list[int]:
    return [keyframe.stamp_ns for keyframe in buffer.select(reference, CAMERA, count, depth_m)]


@pytest.mark.parametrize(
    "values",
    [
        {"min_translation_m": 0.0},
        {"min_translation_m": 1.0, "max_translation_m": 0.5},
        {"max_rotation_deg": 0.0},
        {"min_overlap": 1.5},
        {"buffer_size": 0},
    ],
)
def test_settings_reject_impossible_values(values: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        KeyframeSettings(**values)


def test_a_frame_is_kept_after_enough_translation_or_half_the_rotation_limit() -> None:
    buffer = KeyframeBuffer(KeyframeSettings(min_translation_m=0.1, max_rotation_deg=30.0))
    assert buffer.offer(Keyframe(0, RGB, camera_pose()))  # the first one always
    assert not buffer.offer(Keyframe(1, RGB, camera_pose(z=0.05)))
    assert buffer.offer(Keyframe(2, RGB, camera_pose(z=0.1)))
    assert not buffer.offer(Keyframe(3, RGB, camera_pose(z=0.1, yaw_deg=14.0)))
    assert buffer.offer(Keyframe(4, RGB, camera_pose(z=0.1, yaw_deg=16.0)))
    assert [k.stamp_ns for k in buffer.keyframes] == [0, 2, 4]
    assert buffer.newest is not None and buffer.newest.stamp_ns == 4


def test_the_oldest_keyframe_is_dropped_beyond_the_buffer_size() -> None:
    buffer = filled(KeyframeSettings(buffer_size=3), [camera_pose(z=0.2 * i) for i in range(5)])
    assert [k.stamp_ns for k in buffer.keyframes] == [2, 3, 4]
    buffer.clear()
    assert len(buffer) == 0 and buffer.newest is None


def test_overlap_counts_the_reference_view_inside_the_measurement_image() -> None:
    assert view_overlap(np.eye(4), CAMERA, 5.0) == 1.0
    # A measurement camera 1 m behind sees all of the reference view at 5 m, one 6 m ahead sees none of it.
    assert view_overlap(np.linalg.inv(camera_pose(z=-1.0)), CAMERA, 5.0) == 1.0
    assert view_overlap(np.linalg.inv(camera_pose(z=6.0)), CAMERA, 5.0) == 0.0
    assert view_overlap(np.linalg.inv(camera_pose(yaw_deg=90.0)), CAMERA, 5.0) == 0.0
    # Shifted right by half the view's width at 5 m: the left half of the reference view falls outside.
    half_width = 5.0 * (CAMERA.cx + 0.5) / CAMERA.fx
    assert view_overlap(np.linalg.inv(camera_pose(x=half_width)), CAMERA, 5.0) == pytest.approx(0.5)


def test_selection_keeps_baselines_within_the_range_best_in_the_middle() -> None:
    settings = KeyframeSettings(min_translation_m=0.1, max_translation_m=1.0)
    behind = [1.2, 0.9, 0.55, 0.3, 0.15, 0.02]  # metres behind the reference, oldest first
    buffer = filled(settings, [camera_pose(z=-d) for d in behind])
    assert selected_stamps(buffer, camera_pose()) == [2, 3, 1, 4]  # 0.55, 0.3, 0.9, 0.15 m
    assert selected_stamps(buffer, camera_pose(), count=2) == [2, 3]


def test_selection_refuses_keyframes_turned_beyond_the_rotation_limit() -> None:
    settings = KeyframeSettings(max_rotation_deg=30.0, min_overlap=0.0)
    buffer = filled(settings, [camera_pose(z=-0.5, yaw_deg=35.0), camera_pose(z=-0.5, yaw_deg=-25.0)])
    assert selected_stamps(buffer, camera_pose()) == [1]


def test_selection_refuses_keyframes_that_see_too_little_of_the_reference_view() -> None:
    buffer = filled(KeyframeSettings(min_overlap=0.6), [camera_pose(x=-0.5)])
    assert selected_stamps(buffer, camera_pose(), depth_m=5.0) == [0]  # 0.5 m sideways: most of a far scene
    assert selected_stamps(buffer, camera_pose(), depth_m=0.4) == []  # little of a close one


def test_turning_in_place_gives_no_measurement_keyframe() -> None:
    buffer = filled(KeyframeSettings(), [camera_pose(yaw_deg=yaw) for yaw in (0.0, 16.0, -16.0)])
    assert len(buffer) == 3
    assert selected_stamps(buffer, camera_pose(yaw_deg=5.0)) == []


def test_equal_scores_go_to_the_newer_keyframe() -> None:
    buffer = filled(KeyframeSettings(), [camera_pose(x=-0.3, z=-0.4), camera_pose(x=0.3, z=-0.4)])
    assert selected_stamps(buffer, camera_pose()) == [1, 0]


def test_select_rejects_a_zero_count_or_a_bad_depth() -> None:
    buffer = KeyframeBuffer()
    with pytest.raises(ValueError):
        buffer.select(camera_pose(), CAMERA, 0, 5.0)
    with pytest.raises(ValueError):
        buffer.select(camera_pose(), CAMERA, 2, float("nan"))
