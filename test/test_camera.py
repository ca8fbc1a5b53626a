"""Pinhole camera conventions (depth_ros.geometry.camera).

Pins down:

* resizing follows ``cv2.resize``'s pixel-area mapping ``u' = s (u + 0.5) - 0.5``, proved against OpenCV
  itself on a smooth image (the naive ``cx * s`` of image_proc is shown to be off by ``(s - 1) / 2``);
* cropping shifts the principal point by the crop origin and refuses crops outside the image;
* ``PixelTransform.then`` composes in order (this map, then the other);
* ``apply_to_projection`` on a stereo ``P`` keeps the baseline ``B = -P[0, 3] / P[0, 0]``;
* Monodepth2's normalised ``K`` round-trips exactly and reads its KITTI example correctly;
* bad intrinsics (all-zero K, negative/NaN focal length, non-positive size, skew) raise
  ``CameraModelError`` with a message naming the problem;
* ``from_fov`` gives the stated horizontal field of view between the outer image edges.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from depth_ros.errors import CameraModelError
from depth_ros.geometry import PinholeCamera, PixelTransform

WIDTH, HEIGHT = 640, 480
# A camera whose principal point is deliberately off-centre and whose focal lengths differ.
CAMERA = PinholeCamera(WIDTH, HEIGHT, fx=525.0, fy=531.5, cx=317.3, cy=243.9)


def _project(K: np.ndarray, point: np.ndarray) -> np.ndarray:
    """(u, v) of a 3D point with the (3, 3) or (3, 4) matrix ``K`` (points given homogeneous for (3, 4))."""
    p = K @ point
    return p[:2] / p[2]


def _gaussian_blob(width: int, height: int, u0: float, v0: float, sigma: float) -> np.ndarray:
    """Float64 image of a 2D Gaussian centred at the sub-pixel position (u0, v0), pixel centres at integers."""
    u = np.arange(width, dtype=np.float64)
    v = np.arange(height, dtype=np.float64)
    return np.exp(-((u[None, :] - u0) ** 2 + (v[:, None] - v0) ** 2) / (2.0 * sigma**2))


def _centroid(image: np.ndarray) -> np.ndarray:
    """Intensity-weighted mean (u, v) of an image, pixel centres at integer coordinates."""
    height, width = image.shape
    total = image.sum()
    u = (image * np.arange(width)[None, :]).sum() / total
    v = (image * np.arange(height)[:, None]).sum() / total
    return np.array([u, v])


# ---------------------------------------------------------------------------------------------------------
# Resize: against cv2.resize
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("interpolation", [cv2.INTER_AREA, cv2.INTER_LINEAR], ids=["area", "linear"])
@pytest.mark.parametrize("new_size", [(320, 256), (400, 300), (213, 160), (960, 720)])
def test_resized_camera_follows_cv2_resize(interpolation: int, new_size: tuple[int, int]) -> None:
    new_width, new_height = new_size
    u0, v0 = 301.37, 217.81
    image = _gaussian_blob(WIDTH, HEIGHT, u0, v0, sigma=9.0)
    resized_image = cv2.resize(image, (new_width, new_height), interpolation=interpolation)
    observed = _centroid(resized_image)

    # Where the resized camera puts the 3D ray that the original camera sees at (u0, v0).
    ray = np.linalg.solve(CAMERA.K, [u0, v0, 1.0])
    resized = CAMERA.resized(new_width, new_height)
    predicted = _project(resized.K, ray)
    assert (resized.width, resized.height) == (new_width, new_height)
    np.testing.assert_allclose(observed, predicted, rtol=0, atol=0.02)

    # The naive mapping (image_proc's cx * s) misses by (s - 1) / 2: the test tells the two apart.
    s = np.array([new_width / WIDTH, new_height / HEIGHT])
    naive = s * np.array([u0, v0])
    np.testing.assert_allclose(observed - naive, (s - 1.0) / 2.0, rtol=0, atol=0.02)
    assert np.all(np.abs(observed - naive) > 0.1)


def test_resize_keeps_a_centred_principal_point_centred() -> None:
    camera = PinholeCamera(640, 480, 500.0, 500.0, 319.5, 239.5)
    half = camera.resized(320, 240)
    assert (half.fx, half.fy, half.cx, half.cy) == (250.0, 250.0, 159.5, 119.5)
    double = camera.resized(1280, 960)
    assert (double.fx, double.fy, double.cx, double.cy) == (1000.0, 1000.0, 639.5, 479.5)


def test_resize_transform_maps_image_edges_to_image_edges() -> None:
    transform = PixelTransform.resize(640, 480, 320, 256)
    edges = transform.matrix @ np.array([[-0.5, -0.5, 1.0], [639.5, 479.5, 1.0]]).T
    np.testing.assert_allclose(edges[:2].T, [[-0.5, -0.5], [319.5, 255.5]], rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# Crop
# ---------------------------------------------------------------------------------------------------------


def test_cropped_shifts_principal_point() -> None:
    crop = CAMERA.cropped(10, 20, 300, 200)
    assert (crop.width, crop.height) == (300, 200)
    assert (crop.fx, crop.fy) == (CAMERA.fx, CAMERA.fy)
    assert crop.cx == pytest.approx(CAMERA.cx - 10, abs=1e-12)
    assert crop.cy == pytest.approx(CAMERA.cy - 20, abs=1e-12)


def test_cropped_camera_describes_the_sliced_image() -> None:
    x0, y0, width, height = 37, 11, 200, 150
    rng = np.random.default_rng(0)
    image = rng.random((HEIGHT, WIDTH))
    crop_image = image[y0 : y0 + height, x0 : x0 + width]
    crop = CAMERA.cropped(x0, y0, width, height)
    # A point that the full camera sees at the centre of pixel (u, v) = (130, 97).
    point = 3.0 * np.linalg.solve(CAMERA.K, [130.0, 97.0, 1.0])
    u, v = np.rint(_project(crop.K, point)).astype(int)
    np.testing.assert_allclose(_project(crop.K, point), [130 - x0, 97 - y0], rtol=0, atol=1e-9)
    assert crop_image[v, u] == image[97, 130]


@pytest.mark.parametrize(
    "crop",
    [(-1, 0, 100, 100), (0, -1, 100, 100), (541, 0, 100, 100), (0, 381, 100, 100), (0, 0, 641, 480)],
    ids=["x0<0", "y0<0", "right-edge", "bottom-edge", "too-wide"],
)
def test_cropped_rejects_crops_outside_the_image(crop: tuple[int, int, int, int]) -> None:
    with pytest.raises(CameraModelError, match="does not fit"):
        CAMERA.cropped(*crop)


def test_cropped_accepts_crops_touching_the_image_edges() -> None:
    crop = CAMERA.cropped(540, 380, 100, 100)
    assert (crop.width, crop.height) == (100, 100)
    full = CAMERA.cropped(0, 0, WIDTH, HEIGHT)
    assert full == CAMERA


# ---------------------------------------------------------------------------------------------------------
# Composition
# ---------------------------------------------------------------------------------------------------------


def test_then_is_resize_followed_by_crop() -> None:
    resize = PixelTransform.resize(WIDTH, HEIGHT, 320, 256)
    crop = PixelTransform.crop(10, 20)
    both = resize.then(crop)
    by_steps = CAMERA.resized(320, 256).cropped(10, 20, 200, 150)
    combined = CAMERA.transformed(both, 200, 150)
    np.testing.assert_allclose(combined.K, by_steps.K, rtol=0, atol=1e-12)
    np.testing.assert_allclose(both.matrix, crop.matrix @ resize.matrix, rtol=0, atol=1e-15)
    # The order matters: cropping first and then resizing is a different map.
    assert not np.allclose(crop.then(resize).matrix, both.matrix)


def test_then_matches_cv2_resize_then_slice() -> None:
    u0, v0 = 301.37, 217.81
    resized = cv2.resize(_gaussian_blob(WIDTH, HEIGHT, u0, v0, 9.0), (320, 256), interpolation=cv2.INTER_AREA)
    x0, y0 = 70, 50
    observed = _centroid(resized[y0 : y0 + 120, x0 : x0 + 160])
    transform = PixelTransform.resize(WIDTH, HEIGHT, 320, 256).then(PixelTransform.crop(x0, y0))
    predicted = (transform.matrix @ [u0, v0, 1.0])[:2]
    np.testing.assert_allclose(observed, predicted, rtol=0, atol=0.02)


# ---------------------------------------------------------------------------------------------------------
# Projection matrices P
# ---------------------------------------------------------------------------------------------------------


def test_P_of_a_monocular_camera_is_K_with_a_zero_column() -> None:
    np.testing.assert_array_equal(CAMERA.P[:, :3], CAMERA.K)
    np.testing.assert_array_equal(CAMERA.P[:, 3], [0.0, 0.0, 0.0])


@pytest.mark.parametrize("new_size", [(320, 256), (960, 720)])
def test_apply_to_projection_keeps_the_stereo_baseline(new_size: tuple[int, int]) -> None:
    baseline = 0.12  # metres; the right camera of a stereo pair has P[0, 3] = -fx * B
    P = np.hstack([CAMERA.K, [[-CAMERA.fx * baseline], [0.0], [0.0]]])
    transform = PixelTransform.resize(WIDTH, HEIGHT, *new_size)
    P_new = transform.apply_to_projection(P)

    assert P_new.shape == (3, 4)
    np.testing.assert_allclose(P_new[:, :3], CAMERA.resized(*new_size).K, rtol=0, atol=1e-12)
    assert P_new[0, 3] == pytest.approx(new_size[0] / WIDTH * P[0, 3], rel=1e-12)
    assert -P_new[0, 3] / P_new[0, 0] == pytest.approx(baseline, rel=1e-12)
    # A 3D point's pixel in the right image moves by the same pixel map as the image itself.
    point = np.array([0.4, -0.3, 2.5, 1.0])
    np.testing.assert_allclose(
        _project(P_new, point), (transform.matrix @ [*_project(P, point), 1.0])[:2], rtol=0, atol=1e-9
    )


def test_apply_to_projection_rejects_other_shapes() -> None:
    with pytest.raises(CameraModelError, match="shape"):
        PixelTransform.crop(1, 1).apply_to_projection(np.eye(4))


# ---------------------------------------------------------------------------------------------------------
# Monodepth2's normalised K
# ---------------------------------------------------------------------------------------------------------

# Monodepth2's KITTIDataset.K (datasets/kitti_dataset.py), float32 as it is stored there.
MONODEPTH2_KITTI_K = np.array(
    [[0.58, 0, 0.5, 0], [0, 1.92, 0.5, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
    dtype=np.float32,
)


def test_from_normalized_K_reads_monodepth2_kitti_example() -> None:
    for K in (MONODEPTH2_KITTI_K, MONODEPTH2_KITTI_K[:3, :3]):
        camera = PinholeCamera.from_normalized_K(K, 1242, 375)
        assert (camera.width, camera.height) == (1242, 375)
        assert camera.fx == pytest.approx(0.58 * 1242, rel=1e-6)
        assert camera.fy == pytest.approx(1.92 * 375, rel=1e-6)
        assert camera.cx == pytest.approx(0.5 * 1242, rel=1e-6)
        assert camera.cy == pytest.approx(0.5 * 375, rel=1e-6)


def test_normalized_K_has_monodepth2_layout() -> None:
    camera = PinholeCamera(1242, 375, 0.58 * 1242, 1.92 * 375, 621.0, 187.5)
    K = camera.normalized_K()
    assert K.shape == (4, 4)
    np.testing.assert_allclose(K, MONODEPTH2_KITTI_K, rtol=1e-6, atol=0)


@pytest.mark.parametrize(
    "camera",
    [
        PinholeCamera(1242, 375, 721.5377, 721.5377, 609.5593, 172.854),  # KITTI 2011_09_26 P2
        PinholeCamera(640, 480, 500.0, 500.0, 319.5, 239.5),
        CAMERA,
    ],
    ids=["kitti", "vga-centred", "vga-off-centre"],
)
def test_normalized_K_round_trips_exactly(camera: PinholeCamera) -> None:
    # "Exact" up to float64 rounding of (f / W) * W (one ulp); float32 storage is ~1e-8 off and fails.
    back = PinholeCamera.from_normalized_K(camera.normalized_K(), camera.width, camera.height)
    assert (back.width, back.height) == (camera.width, camera.height)
    for name in ("fx", "fy", "cx", "cy"):
        assert getattr(back, name) == pytest.approx(getattr(camera, name), rel=1e-14, abs=0), name


# ---------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("K", "size", "message"),
    [
        (np.zeros((3, 3)), (640, 480), "focal length.*uncalibrated"),
        (np.zeros(9), (640, 480), "focal length.*uncalibrated"),  # CameraInfo.k of an uncalibrated camera
        ([[-500, 0, 320], [0, 500, 240], [0, 0, 1]], (640, 480), "focal length"),
        ([[500, 0, 320], [0, -500, 240], [0, 0, 1]], (640, 480), "focal length"),
        ([[np.nan, 0, 320], [0, 500, 240], [0, 0, 1]], (640, 480), "finite"),
        ([[500, 0, 320], [0, np.inf, 240], [0, 0, 1]], (640, 480), "finite"),
        ([[500, 0, np.nan], [0, 500, 240], [0, 0, 1]], (640, 480), "finite"),
        ([[500, 0, 320], [0, 500, 240], [0, 0, 1]], (0, 480), "image size"),
        ([[500, 0, 320], [0, 500, 240], [0, 0, 1]], (640, -1), "image size"),
        ([[500, 0.5, 320], [0, 500, 240], [0, 0, 1]], (640, 480), "skew"),
        (np.full(9, np.nan), (640, 480), "^non-finite intrinsics"),  # a bag's camera_info with a NaN K
        ([[500, np.nan, 320], [0, 500, 240], [0, 0, 1]], (640, 480), "^non-finite intrinsics"),
    ],
    ids=[
        "zero-K",
        "zero-k9",
        "negative-fx",
        "negative-fy",
        "nan-fx",
        "inf-fy",
        "nan-cx",
        "zero-width",
        "negative-height",
        "skew",
        "nan-K",
        "nan-skew",
    ],
)
def test_bad_intrinsics_raise_camera_model_error(K, size: tuple[int, int], message: str) -> None:
    with pytest.raises(CameraModelError, match=message):
        PinholeCamera.from_matrix(np.asarray(K, dtype=np.float64), *size)


def test_bad_intrinsics_in_the_constructor_raise() -> None:
    with pytest.raises(CameraModelError, match="focal length"):
        PinholeCamera(640, 480, 0.0, 500.0, 320.0, 240.0)
    with pytest.raises(CameraModelError, match="finite"):
        PinholeCamera(640, 480, float("nan"), 500.0, 320.0, 240.0)
    with pytest.raises(CameraModelError, match="image size"):
        PinholeCamera(640, 0, 500.0, 500.0, 320.0, 240.0)


def test_camera_model_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        PinholeCamera.from_matrix(np.zeros((3, 3)), 640, 480)


# ---------------------------------------------------------------------------------------------------------
# Field of view
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height", "fov_deg"), [(640, 480, 90.0), (1242, 375, 81.0), (101, 77, 30.0)])
def test_from_fov_gives_the_horizontal_fov_between_the_image_edges(width: int, height: int, fov_deg: float) -> None:
    camera = PinholeCamera.from_fov(width, height, fov_deg)
    assert camera.fx == camera.fy
    K_inv = np.linalg.inv(camera.K)
    left = K_inv @ [-0.5, camera.cy, 1.0]
    right = K_inv @ [width - 0.5, camera.cy, 1.0]
    angle = np.degrees(np.arccos(left @ right / (np.linalg.norm(left) * np.linalg.norm(right))))
    assert angle == pytest.approx(fov_deg, abs=1e-9)
    # The principal point is the image centre: the optical axis goes through the middle of the image.
    np.testing.assert_allclose(K_inv @ [(width - 1) / 2, (height - 1) / 2, 1.0], [0.0, 0.0, 1.0], rtol=0, atol=1e-15)
