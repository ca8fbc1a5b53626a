"""Plane-sweep conventions (depth_ros.geometry.plane_sweep).

Pins down:

* ``plane_sweep_pixels`` is, for every depth ``d``, "back-project the reference pixel grid at depth
  ``d`` with ``K_ref``, move it into the measurement camera with ``T_meas_ref``, project with
  ``K_meas``" (checked against that loop written out per plane, in NumPy and torch, with a batch of
  poses and intrinsics);
* the identity pose with equal intrinsics maps every pixel to itself at every depth;
* ``T_meas_ref`` maps reference coordinates into the measurement camera: a measurement camera ``b``
  metres to the right of the reference sees a point at depth ``d`` ``f b / d`` pixels further left;
* ``grid_sample_coordinates`` produces what ``torch.nn.functional.grid_sample`` reads with the same
  ``align_corners`` flag: integer pixel coordinates give pixel values exactly, half-integer ones the
  mean of the neighbours, and the flag matters.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.functional import grid_sample

from depth_ros.geometry import grid_sample_coordinates, invert_transform, make_transform, plane_sweep_pixels

HEIGHT, WIDTH = 5, 7  # not square, so that swapping u and v shows
DEPTHS = np.array([0.5, 0.8, 1.3, 2.0, 3.5, 5.0, 8.0, 20.0])  # D = 8


def _K(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def _rotation(rotvec: np.ndarray) -> np.ndarray:
    """Rodrigues, written out here so that the reference below does not rely on the package."""
    angle = np.linalg.norm(rotvec)
    k = rotvec / angle
    skew = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + np.sin(angle) * skew + (1.0 - np.cos(angle)) * skew @ skew


def _random_setup(seed: int, batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(batch, 3, 3) K_ref, (batch, 3, 3) K_meas (different from K_ref) and (batch, 4, 4) T_meas_ref."""
    rng = np.random.default_rng(seed)
    K_ref = np.stack([_K(*rng.uniform([300, 300, 2, 1], [600, 600, 5, 4])) for _ in range(batch)])
    K_meas = np.stack([_K(*rng.uniform([200, 200, 1, 1], [700, 700, 6, 4])) for _ in range(batch)])
    T = np.stack(
        [make_transform(_rotation(rng.normal(scale=0.1, size=3)), rng.normal(scale=0.3, size=3)) for _ in range(batch)]
    )
    return K_ref, K_meas, T


def _per_plane_reference(K_ref: np.ndarray, K_meas: np.ndarray, T_meas_ref: np.ndarray, depths: np.ndarray):
    """The plane sweep as a loop over planes and pixels: (D, H, W, 2) uv and (D, H, W) z."""
    uv = np.zeros((len(depths), HEIGHT, WIDTH, 2))
    z = np.zeros((len(depths), HEIGHT, WIDTH))
    K_ref_inv = np.linalg.inv(K_ref)
    for i, d in enumerate(depths):
        for v in range(HEIGHT):
            for u in range(WIDTH):
                point_ref = d * (K_ref_inv @ [u, v, 1.0])
                point_meas = T_meas_ref[:3, :3] @ point_ref + T_meas_ref[:3, 3]
                pixel = K_meas @ point_meas
                uv[i, v, u] = pixel[:2] / pixel[2]
                z[i, v, u] = point_meas[2]
    return uv, z


def _to_numpy(x) -> np.ndarray:
    return x.numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _convert(kind: str, *arrays: np.ndarray):
    return tuple(torch.from_numpy(np.ascontiguousarray(a)) if kind == "torch" else a for a in arrays)


# ---------------------------------------------------------------------------------------------------------
# plane_sweep_pixels
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("seed", [0, 1])
def test_plane_sweep_matches_per_plane_loop(kind: str, seed: int) -> None:
    K_ref, K_meas, T = (a[0] for a in _random_setup(seed, 1))
    uv, z = plane_sweep_pixels(*_convert(kind, K_ref, K_meas, T, DEPTHS), HEIGHT, WIDTH)
    assert tuple(uv.shape) == (len(DEPTHS), HEIGHT, WIDTH, 2)
    assert tuple(z.shape) == (len(DEPTHS), HEIGHT, WIDTH)
    if kind == "torch":
        assert isinstance(uv, torch.Tensor) and uv.dtype == torch.float64
    uv_expected, z_expected = _per_plane_reference(K_ref, K_meas, T, DEPTHS)
    np.testing.assert_allclose(_to_numpy(uv), uv_expected, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(_to_numpy(z), z_expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("batched_K", [False, True], ids=["shared-K", "batched-K"])
def test_plane_sweep_batch_of_poses(kind: str, batched_K: bool) -> None:
    batch = 3
    K_ref, K_meas, T = _random_setup(2, batch)
    if not batched_K:
        K_ref, K_meas = K_ref[0], K_meas[0]
    uv, z = plane_sweep_pixels(*_convert(kind, K_ref, K_meas, T, DEPTHS), HEIGHT, WIDTH)
    assert tuple(uv.shape) == (batch, len(DEPTHS), HEIGHT, WIDTH, 2)
    assert tuple(z.shape) == (batch, len(DEPTHS), HEIGHT, WIDTH)
    for b in range(batch):
        K_ref_b = K_ref[b] if batched_K else K_ref
        K_meas_b = K_meas[b] if batched_K else K_meas
        uv_expected, z_expected = _per_plane_reference(K_ref_b, K_meas_b, T[b], DEPTHS)
        np.testing.assert_allclose(_to_numpy(uv)[b], uv_expected, rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(_to_numpy(z)[b], z_expected, rtol=1e-12, atol=1e-12)


def test_plane_sweep_torch_and_numpy_agree() -> None:
    K_ref, K_meas, T = _random_setup(3, 2)
    uv_np, z_np = plane_sweep_pixels(K_ref, K_meas, T, DEPTHS, HEIGHT, WIDTH)
    uv_t, z_t = plane_sweep_pixels(*_convert("torch", K_ref, K_meas, T, DEPTHS), HEIGHT, WIDTH)
    np.testing.assert_allclose(uv_t.numpy(), uv_np, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(z_t.numpy(), z_np, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_identity_pose_maps_every_pixel_to_itself(kind: str) -> None:
    K = _K(420.0, 410.0, 3.2, 2.1)
    uv, z = plane_sweep_pixels(*_convert(kind, K, K, np.eye(4), DEPTHS), HEIGHT, WIDTH)
    vv, uu = np.meshgrid(np.arange(HEIGHT), np.arange(WIDTH), indexing="ij")
    expected = np.broadcast_to(np.stack([uu, vv], -1), (len(DEPTHS), HEIGHT, WIDTH, 2))
    np.testing.assert_allclose(_to_numpy(uv), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(_to_numpy(z), np.broadcast_to(DEPTHS[:, None, None], z.shape), rtol=1e-14)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_sideways_camera_gives_disparity_f_b_over_d(kind: str) -> None:
    f, baseline = 450.0, 0.25
    K = _K(f, f, 3.0, 2.0)
    # The measurement camera sits `baseline` metres along the reference camera's +x (to its right).
    T_world_ref = np.eye(4)
    T_world_meas = make_transform(np.eye(3), np.array([baseline, 0.0, 0.0]))
    T_meas_ref = invert_transform(T_world_meas) @ T_world_ref  # MVDepthNet's "left2right"
    np.testing.assert_allclose(T_meas_ref[:3, 3], [-baseline, 0.0, 0.0])

    uv, z = plane_sweep_pixels(*_convert(kind, K, K, T_meas_ref, DEPTHS), HEIGHT, WIDTH)
    uv, z = _to_numpy(uv), _to_numpy(z)
    vv, uu = np.meshgrid(np.arange(HEIGHT), np.arange(WIDTH), indexing="ij")
    disparity = uu[None] - uv[..., 0]  # reference u minus measurement u: positive, like a stereo pair
    np.testing.assert_allclose(disparity, np.broadcast_to(f * baseline / DEPTHS[:, None, None], disparity.shape))
    np.testing.assert_allclose(uv[..., 1], np.broadcast_to(vv, uv[..., 1].shape), rtol=0, atol=1e-12)
    np.testing.assert_allclose(z, np.broadcast_to(DEPTHS[:, None, None], z.shape), rtol=1e-14)


def test_forward_motion_moves_depth_closer() -> None:
    # The measurement camera 1 m ahead of the reference (along +z): points are 1 m closer to it.
    T_meas_ref = invert_transform(make_transform(np.eye(3), np.array([0.0, 0.0, 1.0])))
    K = _K(300.0, 300.0, 3.0, 2.0)
    uv, z = plane_sweep_pixels(K, K, T_meas_ref, DEPTHS, HEIGHT, WIDTH)
    np.testing.assert_allclose(z, np.broadcast_to(DEPTHS[:, None, None] - 1.0, z.shape), rtol=0, atol=1e-12)
    # The principal point stays put; other pixels move away from it (expansion).
    np.testing.assert_allclose(uv[:, 2, 3], np.broadcast_to([3.0, 2.0], (len(DEPTHS), 2)), rtol=0, atol=1e-12)
    assert np.all(uv[DEPTHS > 1.0][:, 0, 0] < 0.0)


# ---------------------------------------------------------------------------------------------------------
# grid_sample_coordinates
# ---------------------------------------------------------------------------------------------------------


def _sample(image: torch.Tensor, uv: np.ndarray, align_corners: bool, sample_flag: bool | None = None):
    """Sample a (1, C, H, W) image at (N, 2) pixel coordinates; (C, N) values."""
    height, width = image.shape[-2:]
    grid = grid_sample_coordinates(torch.from_numpy(uv), height, width, align_corners)
    flag = align_corners if sample_flag is None else sample_flag
    return grid_sample(image, grid[None, None], mode="bilinear", align_corners=flag)[0, :, 0]


def _all_pixels() -> np.ndarray:
    vv, uu = np.meshgrid(np.arange(HEIGHT), np.arange(WIDTH), indexing="ij")
    return np.stack([uu.ravel(), vv.ravel()], -1).astype(np.float64)


@pytest.mark.parametrize("align_corners", [True, False])
def test_grid_sample_at_integer_pixels_returns_pixel_values(align_corners: bool) -> None:
    image = torch.from_numpy(np.random.default_rng(0).random((1, 2, HEIGHT, WIDTH)))
    uv = np.random.default_rng(1).permutation(_all_pixels())
    values = _sample(image, uv, align_corners)
    u, v = uv[:, 0].astype(int), uv[:, 1].astype(int)
    np.testing.assert_allclose(values.numpy(), image[0].numpy()[:, v, u], rtol=0, atol=1e-12)


@pytest.mark.parametrize("align_corners", [True, False])
def test_grid_sample_at_half_pixels_averages_neighbours(align_corners: bool) -> None:
    array = np.random.default_rng(2).random((1, 1, HEIGHT, WIDTH))
    image = torch.from_numpy(array)
    pixels = array[0, 0]
    uv = np.array([[2.5, 1.0], [0.0, 3.5], [4.5, 2.5], [5.5, 0.0]])
    expected = [
        (pixels[1, 2] + pixels[1, 3]) / 2,
        (pixels[3, 0] + pixels[4, 0]) / 2,
        (pixels[2, 4] + pixels[2, 5] + pixels[3, 4] + pixels[3, 5]) / 4,
        (pixels[0, 5] + pixels[0, 6]) / 2,
    ]
    np.testing.assert_allclose(_sample(image, uv, align_corners)[0].numpy(), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("align_corners", [True, False])
def test_grid_sample_coordinates_with_the_wrong_flag_samples_elsewhere(align_corners: bool) -> None:
    image = torch.from_numpy(np.random.default_rng(3).random((1, 1, HEIGHT, WIDTH)))
    uv = _all_pixels()
    right = _sample(image, uv, align_corners)
    wrong = _sample(image, uv, align_corners, sample_flag=not align_corners)
    assert (right - wrong).abs().max() > 1e-2


@pytest.mark.parametrize(
    ("align_corners", "corner_x"),
    [(True, [-1.0, 1.0]), (False, [-1.0 + 1.0 / WIDTH, 1.0 - 1.0 / WIDTH])],
)
def test_grid_sample_coordinates_of_corner_pixels(align_corners: bool, corner_x: list[float]) -> None:
    uv = np.array([[0.0, 0.0], [WIDTH - 1.0, HEIGHT - 1.0], [-0.5, -0.5], [WIDTH - 0.5, HEIGHT - 0.5]])
    grid = grid_sample_coordinates(uv, HEIGHT, WIDTH, align_corners)
    np.testing.assert_allclose(grid[:2, 0], corner_x, rtol=0, atol=1e-15)
    if not align_corners:  # -1 and 1 are the outer edges of the image
        np.testing.assert_allclose(grid[2:], [[-1.0, -1.0], [1.0, 1.0]], rtol=0, atol=1e-15)


def test_grid_sample_coordinates_keeps_torch_dtype() -> None:
    uv = torch.zeros(3, 2, dtype=torch.float32)
    grid = grid_sample_coordinates(uv, HEIGHT, WIDTH, align_corners=False)
    assert isinstance(grid, torch.Tensor) and grid.dtype == torch.float32
