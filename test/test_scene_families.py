"""The scene families beyond streets and rooms: exact ground truth, a world scale that changes depth and
nothing in the images, random cameras and motion, real photographs and a real stereo pair.

Ground truth is checked against geometry with a known answer (a fronto-parallel rectangle, a sphere) and
photometrically (warping one frame into another with the ground-truth depth and relative pose reproduces it).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from warping import warp_into

from depth_ros.data.camera_response import CameraResponse
from depth_ros.data.middlebury import BASELINE_M, FOCAL_PX, MiddleburyMotorcycle
from depth_ros.data.objects import ObjectsConfig, ObjectsSequence, box_quads, objects_atlas
from depth_ros.data.planar_photos import PlanarPhotoConfig, PlanarPhotoSequence
from depth_ros.data.primitives import PrimitiveRenderer, PrimitiveScene, Quad, Sphere
from depth_ros.geometry import PinholeCamera, axis_angle_to_matrix, backproject, make_transform

CAMERA = PinholeCamera(64, 48, 50.0, 50.0, 31.5, 23.5)
LIGHT = np.array([0.0, -1.0, 0.0])


def render(quads=(), spheres=(), pose=None, camera=CAMERA):
    scene = PrimitiveScene(tuple(quads), tuple(spheres), LIGHT)
    return PrimitiveRenderer(scene, camera, objects_atlas()).render(np.eye(4) if pose is None else pose)


def wall(distance: float, tilt_deg: float = 0.0, **kwargs) -> Quad:
    """A large rectangle ``distance`` m ahead facing the camera, turned by ``tilt_deg`` about the vertical."""
    turn = axis_angle_to_matrix(np.array([0.0, np.deg2rad(tilt_deg), 0.0]))
    axes = np.stack([turn @ [1.0, 0.0, 0.0], turn @ [0.0, -1.0, 0.0]])  # s x t = -z (towards the camera)
    return Quad(np.array([0.0, 0.0, distance]), axes, np.array([50.0, 50.0]), 0, 0.01, **kwargs)


def test_a_tilted_rectangle_has_the_depth_of_its_plane():
    view = render([wall(4.0, tilt_deg=30.0)])
    rays = backproject(np.ones((CAMERA.height, CAMERA.width)), CAMERA.K)  # (H, W, 3), z = 1
    normal = axis_angle_to_matrix(np.array([0.0, np.deg2rad(30.0), 0.0])) @ [0.0, 0.0, -1.0]
    expected = (np.array([0.0, 0.0, 4.0]) @ normal) / (rays @ normal)
    assert np.isfinite(view.depth).all()
    np.testing.assert_allclose(view.depth, expected, rtol=1e-5)


def test_a_rectangle_seen_from_behind_is_invisible():
    flipped = wall(4.0)
    flipped = Quad(flipped.centre, flipped.axes[::-1].copy(), flipped.half_size, 0, 0.01)
    assert np.isinf(render([flipped]).depth).all()
    assert (render([flipped]).box_index == -1).all()


def test_a_sphere_ahead_is_nearest_at_its_centre_and_the_nearer_primitive_wins():
    sphere = Sphere(np.array([0.0, 0.0, 3.0]), 1.0, np.eye(3)[:2], 1, 0.01)
    view = render([wall(10.0)], [sphere])
    centre = view.depth[23:25, 31:33]
    np.testing.assert_allclose(centre, 2.0, atol=2e-3)
    assert view.box_index[24, 32] == 1 and view.box_index[0, 0] == 0  # quads first, then spheres
    assert np.isclose(view.depth[0, 0], 10.0, rtol=1e-5)  # a fronto-parallel wall: depth is its distance


def test_a_camera_inside_a_sphere_sees_nothing_of_it():
    inside = Sphere(np.array([0.0, 0.0, 0.5]), 2.0, np.eye(3)[:2], 1, 0.01)
    assert np.isinf(render(spheres=[inside]).depth).all()


def test_box_faces_point_out_of_a_solid_box_and_into_a_room():
    rotation = axis_angle_to_matrix(np.array([0.3, -0.5, 0.8]))
    centre, half = np.array([1.0, 2.0, 3.0]), np.array([0.5, 1.0, 1.5])
    for inward in (False, True):
        for quad in box_quads(centre, rotation, half, [0, 1, 2], 0.01, LIGHT, inward):
            outward = (quad.centre - centre) @ quad.normal > 0
            assert outward != inward
            assert np.allclose(quad.axes @ quad.axes.T, np.eye(2))


def test_a_scaled_world_gives_the_same_image_and_scaled_depth():
    scene = PrimitiveScene(
        (wall(6.0, 20.0), *box_quads(np.array([0.5, 0.2, 3.0]), axis_angle_to_matrix(np.array([0.2, 0.7, 0.1])),
                                     np.array([0.4, 0.6, 0.5]), [3, 7, 9], 0.004, LIGHT, False)),
        (Sphere(np.array([-1.0, 0.3, 4.0]), 0.7, np.eye(3)[:2], 12, 0.005),),
        LIGHT,
    )  # fmt: skip
    pose = make_transform(axis_angle_to_matrix(np.array([0.02, -0.05, 0.01])), np.array([0.1, -0.05, 0.2]))
    scaled_pose = pose.copy()
    scaled_pose[:3, 3] *= 3.0
    one = PrimitiveRenderer(scene, CAMERA, objects_atlas()).render(pose)
    three = PrimitiveRenderer(scene.scaled(3.0), CAMERA, objects_atlas()).render(scaled_pose)
    assert np.abs(one.rgb.astype(int) - three.rgb).max() <= 1
    np.testing.assert_allclose(three.depth, 3.0 * one.depth, rtol=1e-5)


def test_camera_response_is_the_identity_at_its_defaults_and_deterministic():
    rgb = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    assert np.array_equal(CameraResponse()(rgb), rgb)
    response = CameraResponse.draw(np.random.default_rng(1))
    assert np.array_equal(response(rgb), response(rgb))
    assert np.mean(CameraResponse(gain=0.5)(rgb)) < 0.6 * np.mean(rgb)


@pytest.fixture(scope="module")
def objects_sequences() -> list[ObjectsSequence]:
    return [ObjectsSequence(ObjectsConfig(seed=seed, frames=12, pixels=64 * 48)) for seed in range(6)]


def test_objects_sequences_are_deterministic():
    a, b = (ObjectsSequence(ObjectsConfig(seed=7, frames=3, pixels=40 * 30)) for _ in range(2))
    assert np.array_equal(a[2].rgb, b[2].rgb) and np.array_equal(a[2].depth, b[2].depth)
    assert np.array_equal(a[2].T_world_cam, b[2].T_world_cam)


def test_objects_scenes_are_closed_and_the_camera_stays_clear(objects_sequences):
    for sequence in objects_sequences:
        for frame in sequence:
            assert np.isfinite(frame.depth).all()  # the room encloses the camera
            assert np.nanmin(frame.depth) > 0.25 * sequence.world_scale  # no surface grazes the lens


def test_objects_draw_cameras_scales_and_motion_across_their_ranges(objects_sequences):
    cameras = [s.camera for s in objects_sequences]
    fovs = [np.rad2deg(2 * np.arctan(c.width / (2 * c.fx))) for c in cameras]
    assert all(45.0 <= f <= 110.0 for f in fovs) and np.ptp(fovs) > 15.0
    assert len({round(c.width / c.height, 2) for c in cameras}) == len(cameras)  # aspects differ
    assert any(abs(c.cx - (c.width - 1) / 2) > 2.0 for c in cameras)  # principal points off centre
    scales = [s.world_scale for s in objects_sequences]
    assert all(0.25 <= k <= 4.0 for k in scales) and max(scales) / min(scales) > 2.0
    directions = []
    for sequence in objects_sequences:
        poses = sequence.poses()
        step = np.linalg.inv(poses[0]) @ poses[5]
        directions.append(step[:3, 3] / np.linalg.norm(step[:3, 3]))
    assert np.ptp(np.array(directions), axis=0).min() > 0.5  # motions point every way, not only forward


def test_objects_world_scale_changes_depth_and_poses_not_images():
    one, two = (ObjectsSequence(ObjectsConfig(seed=3, frames=4, pixels=48 * 36, world_scale=k)) for k in (1.0, 2.0))
    assert np.abs(one[3].rgb.astype(int) - two[3].rgb).max() <= 1
    np.testing.assert_allclose(two[3].depth, 2.0 * one[3].depth, rtol=1e-5)
    np.testing.assert_allclose(two[3].T_world_cam[:3, 3], 2.0 * one[3].T_world_cam[:3, 3], rtol=1e-9)


def test_objects_ground_truth_warps_one_frame_onto_another():
    sequence = ObjectsSequence(ObjectsConfig(seed=11, frames=8, width=96, height=72))
    sequence.responses = [CameraResponse()] * len(sequence)  # the warp compares radiance
    frame_a, frame_b = sequence[2], sequence[7]
    warped, visible = warp_into(frame_a, frame_b)
    assert visible.mean() > 0.4
    error = np.abs(warped - frame_a.rgb)[visible].mean()
    assert error < 6.0, error
    assert error < 0.5 * np.abs(frame_b.rgb.astype(float) - frame_a.rgb)[visible].mean()


def test_planar_photo_ground_truth_warps_one_frame_onto_another():
    sequence = PlanarPhotoSequence(PlanarPhotoConfig(seed=2, frames=6, width=160, height=120, focal_px=154.0))
    frame_a, frame_b = sequence[0], sequence[5]
    warped, visible = warp_into(frame_a, frame_b)
    assert visible.mean() > 0.5 and np.isfinite(frame_a.depth).all()
    error = np.abs(warped - frame_a.rgb)[visible].mean()
    assert error < 6.0, error
    assert error < 0.5 * np.abs(frame_b.rgb.astype(float) - frame_a.rgb)[visible].mean()


def test_middlebury_depth_and_baseline_match_the_two_images():
    right, left = MiddleburyMotorcycle()[0], MiddleburyMotorcycle()[1]
    assert left.camera == right.camera and right.depth is None
    assert np.isclose(right.T_world_cam[0, 3], BASELINE_M) and np.array_equal(left.T_world_cam, np.eye(4))
    valid = np.isfinite(left.depth)
    assert valid.mean() > 0.8 and 1.5 < np.median(left.depth[valid]) < 4.0

    def error(extra_disparity: float) -> float:
        """Mean |right(u - f B / Z) - left(u)| over the left image's valid pixels, grey levels."""
        v, u = np.indices(left.depth.shape, dtype=np.float32)
        source_u = u - FOCAL_PX * BASELINE_M / left.depth - extra_disparity
        warped = cv2.remap(right.rgb, source_u.astype(np.float32), v, cv2.INTER_LINEAR).astype(float)
        inside = valid & (source_u >= 0)
        return float(np.abs(warped - left.rgb).mean(-1)[inside].mean())

    assert error(0.0) < 10.0 and error(3.0) > 2 * error(0.0), (error(0.0), error(3.0))
