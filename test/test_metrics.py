"""Depth metrics (depth_ros.eval.metrics).

Pins down:

* a perfect prediction scores abs_rel = sq_rel = rmse = rmse_log = l1_inv = sc_inv = 0, a1 = a2 = a3 = 1;
* twice the ground truth scores abs_rel = 1 and a1 = a2 = a3 = 0 raw, is perfect after median scaling
  (ratio 0.5), and has sc_inv = 0 even raw (it is scale-invariant);
* values agree with hand computations on tiny images and with a per-pixel loop on a random one;
* ground truth outside ``(min_depth, max_depth)``, non-finite ground truth and pixels outside the crop
  are not evaluated; predictions are clamped to the caps; the Garg crop of KITTI's 375 x 1242 is
  rows 153:371, cols 44:1197;
* an image with nothing to evaluate raises :class:`NoValidPixelsError` (the caller skips it);
* ``average_metrics`` weighs each image the same.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from depth_ros.errors import DepthRosError
from depth_ros.eval import METRIC_NAMES, NoValidPixelsError, average_metrics, depth_metrics, garg_crop

PERFECT = {"abs_rel": 0.0, "sq_rel": 0.0, "rmse": 0.0, "rmse_log": 0.0, "a1": 1.0, "a2": 1.0, "a3": 1.0}


def _gt(seed: int = 0, shape: tuple[int, int] = (12, 16)) -> np.ndarray:
    return np.random.default_rng(seed).uniform(1.0, 30.0, shape)


def _assert_perfect(metrics: dict[str, float]) -> None:
    for name, value in PERFECT.items():
        assert metrics[name] == pytest.approx(value, abs=1e-12), name
    assert metrics["l1_inv"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["sc_inv"] == pytest.approx(0.0, abs=1e-7)


def test_perfect_prediction() -> None:
    gt = _gt()
    metrics = depth_metrics(gt.copy(), gt)
    _assert_perfect(metrics)
    assert set(metrics) == {*METRIC_NAMES, "ratio"}
    assert metrics["ratio"] == 1.0
    assert all(type(value) is float for value in metrics.values())


def test_twice_the_ground_truth_raw_and_median_scaled() -> None:
    gt = _gt(1)
    raw = depth_metrics(2 * gt, gt)
    assert raw["abs_rel"] == pytest.approx(1.0)
    assert raw["a1"] == raw["a2"] == raw["a3"] == 0.0  # 2 > 1.25^3 = 1.95
    assert raw["rmse_log"] == pytest.approx(math.log(2))
    assert raw["sc_inv"] == pytest.approx(0.0, abs=1e-7)  # scale-invariant
    assert raw["ratio"] == 1.0
    scaled = depth_metrics(2 * gt, gt, median_scaling=True)
    assert scaled["ratio"] == pytest.approx(0.5)
    _assert_perfect(scaled)


def test_hand_computation_on_a_tiny_image() -> None:
    gt = np.array([[2.0, 4.0]])
    pred = np.array([[1.0, 5.0]])
    metrics = depth_metrics(pred, gt)
    assert metrics["abs_rel"] == pytest.approx((1 / 2 + 1 / 4) / 2)
    assert metrics["sq_rel"] == pytest.approx((1 / 2 + 1 / 4) / 2)
    assert metrics["rmse"] == pytest.approx(1.0)
    assert metrics["rmse_log"] == pytest.approx(math.sqrt((math.log(0.5) ** 2 + math.log(1.25) ** 2) / 2))
    assert metrics["a1"] == 0.0  # ratios 2 and 1.25: the threshold is strict
    assert metrics["a2"] == 0.5
    assert metrics["a3"] == 0.5
    assert metrics["l1_inv"] == pytest.approx((0.5 + 0.05) / 2)
    assert metrics["sc_inv"] == pytest.approx(math.log(2.5) / 2)  # |d1 - d2| / 2 for two pixels


def test_median_scaling_by_hand() -> None:
    gt = np.array([[2.0, 4.0, 8.0]])
    pred = np.array([[1.0, 3.0, 4.0]])
    metrics = depth_metrics(pred, gt, median_scaling=True)
    assert metrics["ratio"] == pytest.approx(4 / 3)
    scaled = pred[0] * 4 / 3  # 4/3, 4, 16/3
    assert metrics["abs_rel"] == pytest.approx(((2 - 4 / 3) / 2 + 0 + (8 - 16 / 3) / 8) / 3)
    assert metrics["rmse"] == pytest.approx(math.sqrt(((2 - scaled[0]) ** 2 + (8 - scaled[2]) ** 2) / 3))


def test_agrees_with_a_per_pixel_loop() -> None:
    rng = np.random.default_rng(2)
    gt = rng.uniform(0.5, 100.0, (20, 30))
    gt[rng.uniform(size=gt.shape) < 0.2] = 0.0
    gt[3, 4] = np.nan
    pred = gt * rng.uniform(0.6, 1.6, gt.shape) + rng.uniform(0, 5, gt.shape)
    pred[5, 5] = 500.0  # clamped to the cap
    crop = garg_crop(*gt.shape)
    got = depth_metrics(pred, gt, max_depth=80.0, median_scaling=True, crop=crop)

    pixels = [
        (i, j)
        for i in range(crop[0].start, crop[0].stop)
        for j in range(crop[1].start, crop[1].stop)
        if math.isfinite(gt[i, j]) and 1e-3 < gt[i, j] < 80.0
    ]
    g = [float(gt[i, j]) for i, j in pixels]
    ratio = float(np.median(g) / np.median([pred[i, j] for i, j in pixels]))
    p = [min(max(float(pred[i, j]) * ratio, 1e-3), 80.0) for i, j in pixels]
    n = len(pixels)
    d = [math.log(pk) - math.log(gk) for pk, gk in zip(p, g, strict=True)]
    expected = {
        "abs_rel": sum(abs(gk - pk) / gk for pk, gk in zip(p, g, strict=True)) / n,
        "sq_rel": sum((gk - pk) ** 2 / gk for pk, gk in zip(p, g, strict=True)) / n,
        "rmse": math.sqrt(sum((gk - pk) ** 2 for pk, gk in zip(p, g, strict=True)) / n),
        "rmse_log": math.sqrt(sum(x * x for x in d) / n),
        "a1": sum(max(gk / pk, pk / gk) < 1.25 for pk, gk in zip(p, g, strict=True)) / n,
        "a2": sum(max(gk / pk, pk / gk) < 1.25**2 for pk, gk in zip(p, g, strict=True)) / n,
        "a3": sum(max(gk / pk, pk / gk) < 1.25**3 for pk, gk in zip(p, g, strict=True)) / n,
        "l1_inv": sum(abs(1 / pk - 1 / gk) for pk, gk in zip(p, g, strict=True)) / n,
        "sc_inv": math.sqrt(sum(x * x for x in d) / n - (sum(d) / n) ** 2),
        "ratio": ratio,
    }
    assert 0 < expected["a1"] < 1
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-10), name


def test_caps_exclude_ground_truth_and_clamp_predictions() -> None:
    gt = _gt(3)
    pred = gt.copy()
    gt[0, :4] = [0.0, 1e-3, np.inf, np.nan]  # at or below min_depth, or not finite: not evaluated
    gt[1, :2] = [80.0, 120.0]  # at or above max_depth: not evaluated
    pred[0, :4] = pred[1, :2] = 2.0  # wrong, and unchanged by the clamp: any of them evaluated shows
    _assert_perfect(depth_metrics(pred, gt))
    _assert_perfect(depth_metrics(pred[:1], gt[:1], max_depth=np.inf))  # inf is not a depth, whatever the cap
    # a prediction beyond the cap is clamped to it: gt 70, pred 1000 -> 80
    single = depth_metrics(np.array([[1000.0, 10.0]]), np.array([[70.0, 10.0]]))
    assert single["abs_rel"] == pytest.approx((10 / 70) / 2)
    low = depth_metrics(np.array([[-5.0, 0.0]]), np.array([[1.0, 1.0]]), min_depth=0.5)
    assert low["abs_rel"] == pytest.approx(0.5)  # both clamped to min_depth 0.5
    assert depth_metrics(np.array([[np.inf]]), np.array([[80.0]]), max_depth=100.0)["rmse"] == pytest.approx(20.0)


def test_garg_crop() -> None:
    assert garg_crop(375, 1242) == (slice(153, 371), slice(44, 1197))
    rows, cols = garg_crop(100, 200)
    assert (rows.start, rows.stop, cols.start, cols.stop) == (40, 99, 7, 192)


def test_crop_masks_pixels_outside() -> None:
    gt = _gt(4, (40, 60))
    crop = garg_crop(*gt.shape)
    pred = gt.copy()
    outside = np.ones_like(gt, dtype=bool)
    outside[crop] = False
    pred[outside] *= 3.0
    _assert_perfect(depth_metrics(pred, gt, crop=crop))
    assert depth_metrics(pred, gt)["abs_rel"] > 0.5


def test_an_image_without_valid_pixels_raises_a_clear_error() -> None:
    pred = np.ones((4, 5))
    for gt, crop in (
        (np.full((4, 5), np.nan), None),
        (np.zeros((4, 5)), None),
        (np.full((4, 5), 100.0), None),  # all beyond max_depth
        (np.r_[np.ones((1, 5)), np.zeros((3, 5))], (slice(2, 4), slice(0, 5))),  # valid only outside the crop
    ):
        with pytest.raises(NoValidPixelsError, match="no ground-truth pixel to evaluate") as caught:
            depth_metrics(pred, gt, crop=crop)
        assert isinstance(caught.value, DepthRosError) and isinstance(caught.value, ValueError)
        assert "skip this image" in str(caught.value)


def test_bad_input_is_refused() -> None:
    gt = _gt(5, (4, 5))
    with pytest.raises(ValueError, match="differ in shape"):
        depth_metrics(np.ones((4, 6)), gt)
    with pytest.raises(ValueError, match="call depth_metrics per image"):
        depth_metrics(np.ones((2, 4, 5)), np.ones((2, 4, 5)))
    pred = gt.copy()
    pred[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN at 1 of 20"):
        depth_metrics(pred, gt)
    gt_hole = gt.copy()
    gt_hole[1, 1] = 0.0  # NaN where ground truth is missing does not matter
    _assert_perfect(depth_metrics(pred, gt_hole))
    with pytest.raises(ValueError, match="positive, finite median prediction"):
        depth_metrics(np.zeros((4, 5)), gt, median_scaling=True)


def test_leading_unit_axes_and_tensors_are_accepted() -> None:
    gt = _gt(6, (6, 7))
    expected = depth_metrics(1.1 * gt, gt)
    assert depth_metrics((1.1 * gt)[None, None], gt[None]) == expected
    from_tensors = depth_metrics(torch.tensor(1.1 * gt, dtype=torch.float64)[None], torch.tensor(gt)[None, None])
    assert from_tensors == pytest.approx(expected)


def test_average_metrics_weighs_images_equally() -> None:
    gt = _gt(7)
    small, large = _gt(8, (2, 2)), _gt(9, (30, 30))
    per_image = [depth_metrics(gt, gt), depth_metrics(2 * small, small), depth_metrics(large, large)]
    mean = average_metrics(per_image)
    assert mean["abs_rel"] == pytest.approx(1 / 3)
    assert mean["a1"] == pytest.approx(2 / 3)
    assert set(mean) == set(per_image[0])
    with pytest.raises(ValueError, match="no per-image metrics"):
        average_metrics([])
    with pytest.raises(ValueError, match="has keys"):
        average_metrics([per_image[0], {"abs_rel": 0.0}])
