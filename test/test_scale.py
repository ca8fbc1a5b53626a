"""Scale estimators of depth_ros.pipeline.scale against synthetic ground truth: the ground plane, the odometry
ratio, and the running median that smooths them."""

from __future__ import annotations

import numpy as np
import pytest

from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence
from depth_ros.geometry import PinholeCamera
from depth_ros.pipeline.scale import ScaleWindow, ground_scale_ratio, odometry_scale_ratio

UNKNOWN_SCALE = 7.0  # "relative depth" = metric depth / UNKNOWN_SCALE


def _frame(scene: str, index: int, **config):
    sequence = SyntheticSequence(SyntheticConfig(scene=scene, frames=index + 1, width=128, height=96, **config))
    return sequence.config, sequence[index]


@pytest.mark.parametrize(
    ("scene", "index", "config"),
    [
        ("corridor", 0, {}),
        ("corridor", 6, {}),
        ("room", 3, {}),
        ("corridor", 2, {"camera_height_m": 0.4, "camera_pitch_down_deg": 20.0}),
    ],
    ids=["corridor", "corridor-later", "room", "low-camera-pitched-20deg"],
)
def test_ground_plane_recovers_the_unknown_scale(scene: str, index: int, config: dict) -> None:
    setup, frame = _frame(scene, index, **config)
    exact = ground_scale_ratio(frame.depth / UNKNOWN_SCALE, frame.camera, setup.camera_height_m)
    noise = np.exp(np.random.default_rng(0).normal(0.0, 0.03, frame.depth.shape))  # 3% multiplicative noise
    noisy = ground_scale_ratio(frame.depth * noise / UNKNOWN_SCALE, frame.camera, setup.camera_height_m)
    assert exact == pytest.approx(UNKNOWN_SCALE, rel=0.01)
    assert noisy == pytest.approx(UNKNOWN_SCALE, rel=0.05)


def test_ground_ratio_is_deterministic_and_scales_with_the_camera_height() -> None:
    setup, frame = _frame("corridor", 0)
    relative = frame.depth / UNKNOWN_SCALE
    first = ground_scale_ratio(relative, frame.camera, setup.camera_height_m)
    assert ground_scale_ratio(relative, frame.camera, setup.camera_height_m) == first
    assert ground_scale_ratio(relative, frame.camera, 2 * setup.camera_height_m) == pytest.approx(2 * first)


def test_no_ground_gives_none() -> None:
    camera = PinholeCamera.from_fov(128, 96, 80.0)
    wall = np.full((96, 128), 3.0, np.float32)  # a wall facing the camera: its normal is the optical axis
    assert ground_scale_ratio(wall, camera, 1.3) is None
    assert ground_scale_ratio(np.full((96, 128), np.nan, np.float32), camera, 1.3) is None
    sky_below = wall.copy()
    sky_below[48:] = np.inf  # nothing valid in the lower half
    assert ground_scale_ratio(sky_below, camera, 1.3) is None


def _plane_depth(camera: PinholeCamera, normal: np.ndarray, height: float) -> np.ndarray:
    """(H, W) depth of the plane ``normal . p = height`` (optical frame), NaN where the ray misses it."""
    u, v = np.meshgrid(np.arange(camera.width), np.arange(camera.height))
    rays = np.stack([(u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy, np.ones_like(u, float)], -1)
    along = rays @ normal
    return np.where(along > 1e-6, height / np.where(along > 1e-6, along, 1.0), np.nan)


@pytest.mark.parametrize(("roll_deg", "found"), [(0.0, True), (25.0, True), (40.0, False), (90.0, False)])
def test_only_planes_within_the_tilt_limit_of_down_count_as_ground(roll_deg: float, found: bool) -> None:
    camera = PinholeCamera.from_fov(128, 96, 90.0)
    roll = np.deg2rad(roll_deg)
    normal = np.array([np.sin(roll), np.cos(roll), 0.0])  # +y (down) rolled about the optical axis
    ratio = ground_scale_ratio(_plane_depth(camera, normal, 0.25), camera, 1.0)
    assert ratio == (pytest.approx(4.0) if found else None)


def test_ground_ratio_checks_the_depth_size() -> None:
    with pytest.raises(ValueError, match="camera is 128x96"):
        ground_scale_ratio(np.ones((48, 64)), PinholeCamera.from_fov(128, 96, 80.0), 1.3)


def test_odometry_ratio_is_metric_motion_over_network_motion() -> None:
    ratio = odometry_scale_ratio(np.array([0.3, 0.0, 0.4]), np.array([0.0, -0.05, 0.0]), 0.05)
    assert ratio == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("t_odometry", "t_network"),
    [
        ([0.03, 0.0, 0.0], [0.0, 0.0, 0.1]),  # the camera moved less than min_translation_m
        ([0.3, 0.0, 0.4], [0.0, 0.0, 0.0]),  # the network sees no motion
        ([np.nan, 0.0, 0.4], [0.0, 0.0, 0.1]),
        ([0.3, 0.0, 0.4], [np.inf, 0.0, 0.1]),
    ],
    ids=["too-little-motion", "network-degenerate", "odometry-nan", "network-inf"],
)
def test_odometry_ratio_is_none_when_the_motion_cannot_tell(t_odometry: list, t_network: list) -> None:
    assert odometry_scale_ratio(np.array(t_odometry), np.array(t_network), 0.05) is None


def test_odometry_ratio_checks_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(3,\) translations"):
        odometry_scale_ratio(np.zeros(4), np.zeros(3), 0.05)


def test_window_median_ignores_outliers_and_invalid_ratios() -> None:
    window = ScaleWindow(20)
    assert window.value is None
    for ratio in (None, np.nan, np.inf, 0.0, -3.0):
        window.add(ratio)
    assert window.value is None and len(window) == 0
    rng = np.random.default_rng(0)
    for ratio in 5.0 * np.exp(rng.normal(0.0, 0.02, 14)):
        window.add(float(ratio))
    for outlier in (500.0, 0.01, 80.0, 0.2, 1000.0, 0.05):  # 6 wild ratios among 20
        window.add(outlier)
    assert len(window) == 20
    assert window.value == pytest.approx(5.0, rel=0.05)


def test_window_forgets_the_oldest_ratios() -> None:
    window = ScaleWindow(3)
    for ratio in (1.0, 1.0, 1.0, 4.0, 4.0):
        window.add(ratio)
    assert window.value == 4.0 and len(window) == 3
    with pytest.raises(ValueError, match="at least one"):
        ScaleWindow(0)
