"""The synthetic generator's promises: exact ground truth, determinism, any camera, the trajectory kinds.

Ground truth is checked three ways: against an independent brute-force ray caster (same depth and
object per pixel), against geometry with a known answer (a camera looking straight down at the
ground sees depth = its height everywhere), and photometrically (warping frame t+1 into frame t with
the ground-truth depth and relative pose reproduces frame t).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from raycast_oracle import oracle_depth
from warping import warp_into

from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence
from depth_ros.data.trajectory import Segment, Trajectory, preset
from depth_ros.geometry import invert_transform


@pytest.fixture(scope="module", params=["corridor", "room"])
def sequence(request) -> SyntheticSequence:
    return SyntheticSequence(SyntheticConfig(scene=request.param, frames=100, width=160, height=128, seed=5))


@pytest.mark.parametrize("index", [15, 20, 85])  # while moving
def test_ground_truth_warps_frame_t_plus_1_onto_frame_t(sequence, index):
    frame_a, frame_b = sequence.frame(index), sequence.frame(index + 1)
    warped, visible = warp_into(frame_a, frame_b)
    assert visible.mean() > 0.5
    warped_error = np.abs(warped - frame_a.rgb)[visible].mean()
    unwarped_error = np.abs(frame_b.rgb.astype(np.float64) - frame_a.rgb)[visible].mean()
    # Grey levels out of 255: what remains is resampling blur at sharp texture edges.
    assert warped_error < 3.0
    assert warped_error < 0.4 * unwarped_error, (warped_error, unwarped_error)


def test_a_wrong_pose_breaks_the_warp(sequence):
    """The warp test can fail: shifting the pose by 5 cm ruins the agreement."""
    frame_a, frame_b = sequence.frame(20), sequence.frame(21)
    shifted = frame_b.T_world_cam.copy()
    shifted[:3, 3] += [0.05, 0.05, 0.0]
    frame_b.T_world_cam = shifted
    warped, visible = warp_into(frame_a, frame_b)
    assert np.abs(warped - frame_a.rgb)[visible].mean() > 3.0


@pytest.mark.parametrize("index", [0, 33, 66, 99])
def test_renderer_agrees_with_brute_force_ray_casting(sequence, index):
    frame = sequence.frame(index)
    depth, box = oracle_depth(sequence.scene, sequence.camera, frame.T_world_cam, sequence.frame_time(index))
    rendered = sequence.renderer.render(frame.T_world_cam, sequence.frame_time(index))
    same_box = rendered.box_index == box
    assert same_box.mean() > 0.999  # only ties at box edges may differ
    both = same_box & np.isfinite(depth)
    np.testing.assert_allclose(frame.depth[both], depth[both], rtol=1e-5)
    assert np.array_equal(np.isinf(frame.depth), box == -1)  # +inf exactly where nothing is hit (sky)


def test_depth_is_z_along_the_optical_axis_not_the_range():
    """A camera looking straight down from 1.3 m at flat ground sees depth 1.3 in every pixel."""
    config = SyntheticConfig(scene="corridor", frames=1, width=64, height=48, camera_pitch_down_deg=90.0)
    frame = SyntheticSequence(config).frame(0)
    np.testing.assert_allclose(frame.depth, 1.3, rtol=1e-5)


@pytest.mark.parametrize(
    ("width", "height", "intrinsics"),
    [(200, 150, (150.0, 170.0, 80.0, 60.0)), (97, 203, (60.0, 60.0, 55.5, 90.25))],
)
def test_any_resolution_and_intrinsics(width, height, intrinsics):
    sequence = SyntheticSequence(
        SyntheticConfig(scene="room", frames=3, width=width, height=height, intrinsics=intrinsics, seed=1)
    )
    frame = sequence.frame(2)
    assert frame.rgb.shape == (height, width, 3) and frame.rgb.dtype == np.uint8
    assert frame.depth.shape == (height, width) and frame.depth.dtype == np.float32
    np.testing.assert_array_equal(
        frame.camera.K, [[intrinsics[0], 0, intrinsics[2]], [0, intrinsics[1], intrinsics[3]], [0, 0, 1]]
    )
    depth, _ = oracle_depth(sequence.scene, sequence.camera, frame.T_world_cam, sequence.frame_time(2))
    close = np.isclose(frame.depth, depth, rtol=1e-5)
    assert close.mean() > 0.999


def test_same_seed_same_bytes_other_seed_other_scene():
    def first_frame(seed):
        return SyntheticSequence(SyntheticConfig(frames=2, width=64, height=48, seed=seed)).frame(1)

    a, b, c = first_frame(7), first_frame(7), first_frame(8)
    assert a.rgb.tobytes() == b.rgb.tobytes() and a.depth.tobytes() == b.depth.tobytes()
    assert a.rgb.tobytes() != c.rgb.tobytes()


def test_stationary_segment_gives_identical_frames():
    """The corridor's mixed trajectory stands still from 4 s to 5 s (frames 41..49)."""
    sequence = SyntheticSequence(SyntheticConfig(frames=50, width=64, height=48, moving_objects=0))
    a, b = sequence.frame(42), sequence.frame(47)
    np.testing.assert_array_equal(a.T_world_cam, b.T_world_cam)
    np.testing.assert_array_equal(a.rgb, b.rgb)
    np.testing.assert_array_equal(a.depth, b.depth)


def test_turn_segment_is_a_pure_rotation_of_the_camera():
    """Turning in place (5 s to 7 s) keeps the optical centre fixed, so a homography K R K^-1 maps the
    images onto each other whatever the depth."""
    sequence = SyntheticSequence(SyntheticConfig(frames=70, width=160, height=128, moving_objects=0))
    a, b = sequence.frame(55), sequence.frame(58)
    np.testing.assert_allclose(a.T_world_cam[:3, 3], b.T_world_cam[:3, 3], atol=1e-9)
    R_b_a = (invert_transform(b.T_world_cam) @ a.T_world_cam)[:3, :3]
    assert np.degrees(np.arccos((np.trace(R_b_a) - 1) / 2)) > 3.0
    K = a.camera.K
    homography = K @ R_b_a @ np.linalg.inv(K)  # a pixel of a -> b
    warped = cv2.warpPerspective(b.rgb, homography, (160, 128), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    inside = cv2.warpPerspective(np.ones((128, 160), np.uint8), homography, (160, 128), flags=cv2.WARP_INVERSE_MAP)
    inside = cv2.erode(inside, np.ones((3, 3), np.uint8)).astype(bool)
    warped_error = np.abs(warped.astype(float) - a.rgb)[inside].mean()
    unwarped_error = np.abs(b.rgb.astype(float) - a.rgb)[inside].mean()
    assert warped_error < 5.0 and warped_error < 0.3 * unwarped_error, (warped_error, unwarped_error)


def test_moving_objects_move_and_are_masked():
    sequence = SyntheticSequence(SyntheticConfig(frames=30, width=160, height=128, moving_objects=2, seed=0))
    frames = [sequence.frame(i) for i in range(0, 30, 5)]
    assert any(f.moving_mask.any() for f in frames)
    cars = [i for i, box in enumerate(sequence.scene.boxes) if box.moving]
    assert len(cars) == 2
    for index in cars:
        box = sequence.scene.boxes[index]
        assert np.linalg.norm(box.offset_at(1.0) - box.offset_at(0.0)) > 1.0
    static = SyntheticSequence(SyntheticConfig(frames=30, width=160, height=128, moving_objects=0, seed=0))
    assert not any(static.frame(i).moving_mask.any() for i in range(0, 30, 5))


def test_textures_include_real_photographs():
    from depth_ros.data.textures import photo_textures, procedural_textures

    photos = photo_textures(np.random.default_rng(0))
    patterns = procedural_textures(np.random.default_rng(0))
    assert len(photos) >= 6 and len(patterns) >= 5
    assert all(t.shape == (256, 256, 3) and t.dtype == np.uint8 and t.std() > 10 for t in photos + patterns)


def test_timestamps_camera_at_10_hz_between_odometry_at_50_hz():
    sequence = SyntheticSequence(SyntheticConfig(frames=20, width=32, height=24))
    camera_stamps = np.array([sequence.frame(i).stamp_ns for i in range(20)])
    odometry = sequence.odometry()
    odometry_stamps = np.array([s.stamp_ns for s in odometry])
    assert np.all(np.diff(camera_stamps) == 100_000_000)
    assert np.all(np.diff(odometry_stamps) == 20_000_000)
    assert odometry_stamps[0] < camera_stamps[0] and odometry_stamps[-1] > camera_stamps[-1]
    assert not np.isin(camera_stamps, odometry_stamps).any()  # images fall between odometry samples


def test_odometry_is_consistent_with_camera_poses_and_twist():
    sequence = SyntheticSequence(SyntheticConfig(frames=40, width=32, height=24))
    for sample in sequence.odometry()[::7]:
        time_s = (sample.stamp_ns - sequence.config.start_time_ns) / 1e9
        np.testing.assert_allclose(sample.T_odom_base @ sequence.T_base_cam, sequence.T_world_cam(time_s), atol=1e-12)
        later = sequence.trajectory.T_odom_base(time_s + 1e-3)
        body_step = (invert_transform(sample.T_odom_base) @ later)[:3, 3] / 1e-3
        np.testing.assert_allclose(sample.linear, body_step, atol=2e-3)


def test_camera_optical_frame_follows_rep_103():
    """Looking forward from base_link: optical z is base x, optical x is base -y (right), optical y is base -z."""
    sequence = SyntheticSequence(SyntheticConfig(frames=1, width=32, height=24, camera_pitch_down_deg=0.0))
    R_base_cam = sequence.T_base_cam[:3, :3]
    np.testing.assert_allclose(R_base_cam[:, 2], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(R_base_cam[:, 0], [0, -1, 0], atol=1e-12)
    np.testing.assert_allclose(R_base_cam[:, 1], [0, 0, -1], atol=1e-12)
    np.testing.assert_allclose(sequence.T_base_cam[:3, 3], [0.0, 0.0, 1.3])


def test_segments_join_continuously_and_start_and_end_at_rest():
    trajectory = Trajectory(
        [
            Segment("forward", 2.0, distance=3.0),
            Segment("orbit", 3.0, angle=1.0, radius=2.0),
            Segment("turn", 1.5, angle=0.5),
            Segment("stationary", 1.0),
        ]
    )
    boundaries = [2.0, 5.0, 6.5, 7.5, 9.5]
    for t in boundaries:
        before, after = trajectory.planar_pose(t - 1e-6), trajectory.planar_pose(t + 1e-6)
        np.testing.assert_allclose(before, after, atol=1e-5)
        linear, angular = trajectory.twist(t)
        assert np.abs(linear).max() < 1e-3 and np.abs(angular).max() < 1e-3
    np.testing.assert_allclose(trajectory.planar_pose(2.0), [3.0, 0.0, 0.0], atol=1e-12)
    orbit_end = trajectory.planar_pose(5.0)  # still 2 m from the orbit centre (5, 0), facing it
    assert np.hypot(orbit_end[0] - 5.0, orbit_end[1]) == pytest.approx(2.0)
    assert np.arctan2(-orbit_end[1], 5.0 - orbit_end[0]) == pytest.approx(orbit_end[2])


def test_presets_reject_trajectories_that_leave_the_scene():
    with pytest.raises(ValueError, match="does not fit the room"):
        preset("room", "forward")
    with pytest.raises(ValueError, match="unknown scene"):
        preset("garden", "mixed")
