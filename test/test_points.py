"""Organised point clouds from depth (depth_ros.pipeline.points), without ROS.

Pins down:

* only positive finite depth is a point; NaN, 0, negative and +/-inf (REP 117: +inf = no return) give
  ``(NaN, NaN, NaN)`` with the bits of C++'s quiet NaN (``0x7fc00000``), as depth_image_proc writes;
* each point projects back to its own pixel (pixel centres at integer coordinates) at its depth, and
  agrees with :func:`depth_ros.geometry.backproject`; x grows right and y down (REP 103);
* decimation keeps ``depth[::d, ::d]``: shape ``ceil(H / d) x ceil(W / d)``, points equal to the full
  cloud's subsample; colours decimate the same way;
* float32 out whatever float comes in; ``out=`` with 4 channels gives ``(x, y, z, +0.0)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from depth_ros.errors import ImageEncodingError
from depth_ros.geometry import PinholeCamera, backproject, project
from depth_ros.pipeline.points import decimated_rgb, decimated_shape, organised_points

# Odd, non-square size and an off-centre principal point, so that swapped axes or an off-by-one show.
CAMERA = PinholeCamera(width=11, height=7, fx=9.0, fy=7.5, cx=4.3, cy=3.6)
QUIET_NAN_BITS = 0x7FC00000


def _depth(rng: np.random.Generator, camera: PinholeCamera = CAMERA) -> np.ndarray:
    return rng.uniform(0.5, 20.0, (camera.height, camera.width)).astype(np.float32)


def _pixel_grid(camera: PinholeCamera) -> np.ndarray:
    """(H, W, 2) pixel coordinates ``(u, v)`` = (column, row)."""
    v, u = np.mgrid[0 : camera.height, 0 : camera.width]
    return np.stack([u, v], -1).astype(np.float64)


def test_points_project_back_to_their_pixels_at_their_depth() -> None:
    depth = _depth(np.random.default_rng(0))
    points = organised_points(depth, CAMERA)
    uv, z = project(points.reshape(-1, 3).astype(np.float64), CAMERA.K)
    np.testing.assert_allclose(uv.reshape(CAMERA.height, CAMERA.width, 2), _pixel_grid(CAMERA), atol=1e-4)
    np.testing.assert_array_equal(z.reshape(depth.shape), depth)


def test_points_agree_with_geometry_backproject() -> None:
    depth = _depth(np.random.default_rng(1))
    np.testing.assert_allclose(organised_points(depth, CAMERA), backproject(depth, CAMERA.K), rtol=1e-6, atol=1e-6)


def test_optical_frame_axes() -> None:
    """A pixel right of and below the principal point is at positive x and positive y (REP 103)."""
    points = organised_points(np.full((CAMERA.height, CAMERA.width), 2.0, np.float32), CAMERA)
    assert points[6, 10, 0] > 0 and points[6, 10, 1] > 0
    assert points[0, 0, 0] < 0 and points[0, 0, 1] < 0
    np.testing.assert_allclose(points[3, 4], [(4 - 4.3) * 2.0 / 9.0, (3 - 3.6) * 2.0 / 7.5, 2.0], rtol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, 0.0, -0.0, -1.5, np.inf, -np.inf])
def test_invalid_depth_is_a_nan_point(bad: float) -> None:
    depth = _depth(np.random.default_rng(2))
    depth[2, 3] = bad
    points = organised_points(depth, CAMERA)
    assert np.isnan(points[2, 3]).all()
    valid = np.ones(depth.shape, bool)
    valid[2, 3] = False
    assert np.isfinite(points[valid]).all()


def test_invalid_points_are_the_quiet_nan_of_depth_image_proc() -> None:
    """Whatever NaN comes in (here a negative one with a payload), the point is 0x7fc00000 three times."""
    depth = _depth(np.random.default_rng(3))
    depth[0, 0] = np.array([0xFFC00001], np.uint32).view(np.float32)[0]
    depth[1, 1] = np.inf
    depth[2, 2] = -3.0
    points = organised_points(depth, CAMERA)
    for v, u in [(0, 0), (1, 1), (2, 2)]:
        assert points[v, u].view(np.uint32).tolist() == [QUIET_NAN_BITS] * 3


def test_tiny_positive_depth_is_a_point_next_to_invalid_ones() -> None:
    tiny = np.finfo(np.float32).smallest_subnormal
    depth = np.full((7, 11), 2.0, np.float32)
    depth[0, 0], depth[0, 1], depth[0, 2] = tiny, -tiny, np.nan
    points = organised_points(depth, CAMERA)
    assert points[0, 0, 2] == tiny
    assert np.isnan(points[0, 1:3]).all()


def test_all_invalid_and_all_valid_images() -> None:
    assert np.isnan(organised_points(np.full((7, 11), np.inf, np.float32), CAMERA)).all()
    assert np.isfinite(organised_points(np.full((7, 11), 3.0, np.float32), CAMERA)).all()


def test_input_is_not_modified_and_output_is_float32() -> None:
    depth = _depth(np.random.default_rng(4)).astype(np.float64)
    depth[0, 0] = np.inf
    before = depth.copy()
    points = organised_points(depth, CAMERA)
    assert points.dtype == np.float32 and points.shape == (7, 11, 3)
    np.testing.assert_array_equal(depth, before)


@pytest.mark.parametrize("decimation", [1, 2, 3, 4, 8, 11, 12])
def test_decimation_is_the_full_clouds_subsample(decimation: int) -> None:
    rng = np.random.default_rng(5)
    depth = _depth(rng)
    depth[rng.random(depth.shape) < 0.2] = np.nan
    full = organised_points(depth, CAMERA)
    decimated = organised_points(depth, CAMERA, decimation)
    expected_shape = (math.ceil(7 / decimation), math.ceil(11 / decimation))
    assert decimated.shape == (*expected_shape, 3)
    assert decimated_shape(CAMERA, decimation) == expected_shape
    np.testing.assert_array_equal(decimated, full[::decimation, ::decimation])


def test_decimated_rgb_matches_the_decimated_points() -> None:
    rgb = np.random.default_rng(6).integers(0, 256, (7, 11, 3), dtype=np.uint8)
    colours = decimated_rgb(rgb, 3)
    assert colours.shape == (3, 4, 3) and colours.flags.c_contiguous
    np.testing.assert_array_equal(colours, rgb[::3, ::3])


def test_out_with_four_channels_gives_zero_padded_points() -> None:
    depth = _depth(np.random.default_rng(7))
    depth[4, 5] = np.nan
    buffer = np.full((7, 11, 4), 123.0, np.float32)
    result = organised_points(depth, CAMERA, out=buffer)
    assert result is buffer
    np.testing.assert_array_equal(buffer[..., :3], organised_points(depth, CAMERA))
    assert (buffer[..., 3].view(np.uint32) == 0).all()  # +0.0 pad, also behind the NaN point


def test_wrong_inputs_are_refused_with_what_was_expected() -> None:
    depth = _depth(np.random.default_rng(8))
    with pytest.raises(ImageEncodingError, match=r"\(7, 11\)"):
        organised_points(depth[:, :10], CAMERA)
    with pytest.raises(ImageEncodingError, match="uint16"):
        organised_points((depth * 1000).astype(np.uint16), CAMERA)
    for decimation in (0, 2.0):
        with pytest.raises(ValueError, match="decimation"):
            organised_points(depth, CAMERA, decimation)
    with pytest.raises(ValueError, match="out must be"):
        organised_points(depth, CAMERA, 2, out=np.empty((7, 11, 3), np.float32))
    with pytest.raises(ValueError, match="not contiguous"):
        organised_points(depth, CAMERA, out=np.empty((7, 11, 4), np.float32)[..., :3])
