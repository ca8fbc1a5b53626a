"""Projection conventions (depth_ros.geometry.projection).

Pins down:

* pixel centres at integer coordinates: ``pixel_grid[v, u] == (u, v, 1)``;
* REP 103 optical frame: x right (``u > cx``), y down (``v > cy``), z forward; depth is z, the distance
  along the optical axis, not the range along the ray;
* ``backproject`` then ``project`` returns the pixel grid and the depth, in NumPy and torch, with one
  ``K`` or a batch of them, and both array kinds give the same numbers;
* ``transform_points(T_b_a, p)`` is ``T_b_a @ [p, 1]``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from depth_ros.geometry import backproject, make_transform, pixel_grid, project, transform_points

HEIGHT, WIDTH = 6, 9  # not square, so that swapping u and v shows
FX, FY, CX, CY = 500.0, 480.0, 4.3, 2.7
K = np.array([[FX, 0.0, CX], [0.0, FY, CY], [0.0, 0.0, 1.0]])


def _random_K(rng: np.random.Generator, n: int) -> np.ndarray:
    K = np.zeros((n, 3, 3))
    K[:, 0, 0] = rng.uniform(200.0, 800.0, n)
    K[:, 1, 1] = rng.uniform(200.0, 800.0, n)
    K[:, 0, 2] = rng.uniform(0.0, WIDTH, n)
    K[:, 1, 2] = rng.uniform(0.0, HEIGHT, n)
    K[:, 2, 2] = 1.0
    return K


def _grid_uv() -> np.ndarray:
    """(H, W, 2) pixel coordinates written out by hand: u is the column, v the row."""
    uv = np.zeros((HEIGHT, WIDTH, 2))
    for v in range(HEIGHT):
        for u in range(WIDTH):
            uv[v, u] = (u, v)
    return uv


# ---------------------------------------------------------------------------------------------------------
# pixel_grid
# ---------------------------------------------------------------------------------------------------------


def test_pixel_grid_numpy() -> None:
    grid = pixel_grid(HEIGHT, WIDTH, np.zeros(1))
    assert grid.shape == (HEIGHT, WIDTH, 3)
    assert grid.dtype == np.float64
    np.testing.assert_array_equal(grid[0, 0], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(grid[HEIGHT - 1, WIDTH - 1], [WIDTH - 1, HEIGHT - 1, 1.0])
    np.testing.assert_array_equal(grid[2, 5], [5.0, 2.0, 1.0])
    np.testing.assert_array_equal(grid[..., :2], _grid_uv())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pixel_grid_torch_follows_dtype(dtype: torch.dtype) -> None:
    grid = pixel_grid(HEIGHT, WIDTH, torch.zeros(1, dtype=dtype))
    assert isinstance(grid, torch.Tensor)
    assert grid.dtype == dtype
    assert grid.shape == (HEIGHT, WIDTH, 3)
    np.testing.assert_array_equal(grid[..., :2].numpy(), _grid_uv())
    np.testing.assert_array_equal(grid[..., 2].numpy(), np.ones((HEIGHT, WIDTH)))


# ---------------------------------------------------------------------------------------------------------
# REP 103 and depth along z
# ---------------------------------------------------------------------------------------------------------


def test_project_known_values_and_rep103_directions() -> None:
    points = np.array([[0.4, -0.2, 2.0], [1.0, 0.0, 2.0], [0.0, 1.0, 2.0], [0.0, 0.0, 7.0]])
    uv, z = project(points, K)
    np.testing.assert_allclose(uv[0], [FX * 0.2 + CX, FY * -0.1 + CY])
    np.testing.assert_allclose(z, [2.0, 2.0, 2.0, 7.0])
    assert uv[1, 0] > CX and uv[1, 1] == pytest.approx(CY)  # x > 0: right of the principal point
    assert uv[2, 1] > CY and uv[2, 0] == pytest.approx(CX)  # y > 0: below it (v grows downwards)
    np.testing.assert_allclose(uv[3], [CX, CY])  # on the optical axis


def test_backproject_depth_is_z_not_range() -> None:
    depth = np.full((HEIGHT, WIDTH), 2.0)
    points = backproject(depth, K)
    assert points.shape == (HEIGHT, WIDTH, 3)
    np.testing.assert_allclose(points[..., 2], 2.0, rtol=0, atol=1e-15)
    top_left, bottom_right = points[0, 0], points[HEIGHT - 1, WIDTH - 1]
    assert np.linalg.norm(top_left) > 2.0
    assert np.linalg.norm(bottom_right) > 2.0
    # REP 103: the top-left pixel is left of and above the optical axis, the bottom-right one right and below.
    assert top_left[0] < 0 and top_left[1] < 0
    assert bottom_right[0] > 0 and bottom_right[1] > 0
    np.testing.assert_allclose(top_left, [2.0 * (0 - CX) / FX, 2.0 * (0 - CY) / FY, 2.0])


def test_backproject_principal_point_lies_on_the_optical_axis() -> None:
    K_int = np.array([[300.0, 0.0, 4.0], [0.0, 300.0, 3.0], [0.0, 0.0, 1.0]])
    points = backproject(np.full((HEIGHT, WIDTH), 5.0), K_int)
    np.testing.assert_allclose(points[3, 4], [0.0, 0.0, 5.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(points[3, 5], [5.0 / 300.0, 0.0, 5.0], rtol=0, atol=1e-15)  # one column right: +x
    np.testing.assert_allclose(points[4, 4], [0.0, 5.0 / 300.0, 5.0], rtol=0, atol=1e-15)  # one row down: +y


# ---------------------------------------------------------------------------------------------------------
# Round trip backproject -> project
# ---------------------------------------------------------------------------------------------------------


def test_backproject_project_round_trip_numpy() -> None:
    rng = np.random.default_rng(0)
    K_random = _random_K(rng, 1)[0]
    depth = rng.uniform(0.5, 10.0, (HEIGHT, WIDTH))
    points = backproject(depth, K_random)
    uv, z = project(points.reshape(-1, 3), K_random)
    np.testing.assert_allclose(uv.reshape(HEIGHT, WIDTH, 2), _grid_uv(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(z.reshape(HEIGHT, WIDTH), depth, rtol=1e-14)


def test_backproject_project_round_trip_torch() -> None:
    rng = np.random.default_rng(1)
    K_random = torch.from_numpy(_random_K(rng, 1)[0])
    depth = torch.from_numpy(rng.uniform(0.5, 10.0, (HEIGHT, WIDTH)))
    points = backproject(depth, K_random)
    assert isinstance(points, torch.Tensor)
    assert points.dtype == torch.float64
    uv, z = project(points.reshape(-1, 3), K_random)
    assert isinstance(uv, torch.Tensor) and isinstance(z, torch.Tensor)
    np.testing.assert_allclose(uv.reshape(HEIGHT, WIDTH, 2).numpy(), _grid_uv(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(z.reshape(HEIGHT, WIDTH).numpy(), depth.numpy(), rtol=1e-14)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_backproject_project_batched_K(kind: str) -> None:
    batch = 4
    rng = np.random.default_rng(2)
    K_batch = _random_K(rng, batch)
    depth = rng.uniform(0.5, 10.0, (batch, HEIGHT, WIDTH))
    if kind == "torch":
        K_in, depth_in = torch.from_numpy(K_batch), torch.from_numpy(depth)
    else:
        K_in, depth_in = K_batch, depth

    points = backproject(depth_in, K_in)
    assert tuple(points.shape) == (batch, HEIGHT, WIDTH, 3)
    uv, z = project(points.reshape(batch, -1, 3), K_in)
    assert tuple(uv.shape) == (batch, HEIGHT * WIDTH, 2)
    uv, z, points = (np.asarray(a) for a in (uv, z, points))
    for b in range(batch):
        np.testing.assert_allclose(uv[b].reshape(HEIGHT, WIDTH, 2), _grid_uv(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(z[b].reshape(HEIGHT, WIDTH), depth[b], rtol=1e-14)
        # Each batch element uses its own K (a K mixed up between elements would show here).
        expected = depth[b][..., None] * (
            np.concatenate([_grid_uv(), np.ones((HEIGHT, WIDTH, 1))], -1) @ np.linalg.inv(K_batch[b]).T
        )
        np.testing.assert_allclose(points[b], expected, rtol=1e-12)


def test_backproject_one_K_for_a_batch_of_depths() -> None:
    rng = np.random.default_rng(3)
    depth = rng.uniform(0.5, 10.0, (3, HEIGHT, WIDTH))
    points = backproject(depth, K)
    assert points.shape == (3, HEIGHT, WIDTH, 3)
    for b in range(3):
        np.testing.assert_allclose(points[b], backproject(depth[b], K), rtol=1e-15)


def test_torch_and_numpy_agree() -> None:
    rng = np.random.default_rng(4)
    K_batch = _random_K(rng, 2)
    depth = rng.uniform(0.5, 10.0, (2, HEIGHT, WIDTH))
    points_np = backproject(depth, K_batch)
    points_torch = backproject(torch.from_numpy(depth), torch.from_numpy(K_batch))
    np.testing.assert_allclose(points_torch.numpy(), points_np, rtol=1e-13)
    other = rng.normal(size=(2, 10, 3)) + np.array([0.0, 0.0, 5.0])
    uv_np, z_np = project(other, K_batch)
    uv_torch, z_torch = project(torch.from_numpy(other), torch.from_numpy(K_batch))
    np.testing.assert_allclose(uv_torch.numpy(), uv_np, rtol=1e-13)
    np.testing.assert_allclose(z_torch.numpy(), z_np, rtol=1e-13)


def test_backproject_float32_torch_stays_float32() -> None:
    depth = torch.full((HEIGHT, WIDTH), 3.0, dtype=torch.float32)
    points = backproject(depth, torch.from_numpy(K).float())
    assert points.dtype == torch.float32
    np.testing.assert_allclose(points[..., 2].numpy(), 3.0, rtol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# transform_points
# ---------------------------------------------------------------------------------------------------------


def _random_T(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 4, 4) random rigid transforms: rotations from QR of Gaussian matrices, with det +1."""
    Q, R = np.linalg.qr(rng.normal(size=(n, 3, 3)))
    Q = Q * np.sign(np.diagonal(R, axis1=-2, axis2=-1))[..., None, :]
    Q[np.linalg.det(Q) < 0, :, 0] *= -1.0
    return make_transform(Q, rng.normal(size=(n, 3)))


def test_transform_points_matches_homogeneous_product() -> None:
    rng = np.random.default_rng(5)
    T = _random_T(rng, 1)[0]
    points = rng.normal(size=(7, 3))
    expected = np.array([(T @ np.append(p, 1.0))[:3] for p in points])
    np.testing.assert_allclose(transform_points(T, points), expected, rtol=0, atol=1e-14)


def test_transform_points_translation_only() -> None:
    T = make_transform(np.eye(3), np.array([1.0, -2.0, 3.0]))
    np.testing.assert_array_equal(transform_points(T, np.zeros((1, 3))), [[1.0, -2.0, 3.0]])


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_transform_points_batched(kind: str) -> None:
    rng = np.random.default_rng(6)
    T = _random_T(rng, 3)
    points = rng.normal(size=(3, 5, 3))
    if kind == "torch":
        out = transform_points(torch.from_numpy(T), torch.from_numpy(points)).numpy()
    else:
        out = transform_points(T, points)
    assert tuple(out.shape) == (3, 5, 3)
    for b in range(3):
        expected = np.array([(T[b] @ np.append(p, 1.0))[:3] for p in points[b]])
        np.testing.assert_allclose(out[b], expected, rtol=0, atol=1e-14)
