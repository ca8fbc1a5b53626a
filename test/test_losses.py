"""Losses (depth_ros.losses): each loss's defining property, and agreement with a direct evaluation.

Pins down:

* every loss equals an explicit per-pixel Python loop over small random inputs (written here from the
  formulas, independently of the vectorised code), missing ground truth included;
* invariances: Eigen with lambda = 1 and MegaDepth are unchanged when ``pred`` is scaled, Eigen with
  lambda = 0 is not; MiDaS's loss is unchanged under scale *and* shift of ``pred``;
* zero at the optimum: ``pred = gt`` gives 0 for every supervised and scale-invariant loss, identical
  images give 0 photometric error, a constant disparity gives 0 smoothness;
* the ordinal penalty is continuous at tau and grows with the wrong-order margin;
* empty masks: no valid pixel gives a loss of 0 and finite (zero) gradients; an image without valid
  pixels drops out of the batch mean;
* auto-masking: the minimum is per pixel, the mask is true exactly where a warped source beat every
  identity loss, ties between them are broken by the noise, ``average=True`` averages (and is
  auto-masked or not independently);
* MVDepthNet's ground truth clamping, inversion, mask and pyramid, and BerHu's two pieces, by hand.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pytest
import torch

from depth_ros.losses import (
    OrdinalPairs,
    align_scale_shift,
    berhu_loss,
    edge_aware_smoothness,
    eigen_scale_invariant_loss,
    gradient_matching_loss,
    huber_loss,
    megadepth_loss,
    min_reprojection_loss,
    mvdepthnet_loss,
    ordinal_loss,
    ordinal_penalty,
    reprojection_error,
    scale_shift_invariant_loss,
    ssim_error,
)

SHAPE = (2, 1, 6, 7)
Space = Literal["disparity", "depth"]
Rho = Literal["mse", "trimmed_mae"]
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


def _depths(seed: int = 0, shape: tuple[int, ...] = SHAPE) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random positive ``pred`` and ``gt`` (float64) with missing ground truth of every kind, and a mask."""
    rng = np.random.default_rng(seed)
    pred = torch.tensor(rng.uniform(0.5, 10.0, shape))
    gt = torch.tensor(rng.uniform(0.5, 10.0, shape))
    gt[0, 0, 1, 2] = 0.0
    gt[0, 0, 3, 4] = float("nan")
    gt[0, 0, -1, 0] = float("inf")
    gt[1, 0, 2, :3] = -1.0
    mask = torch.tensor(rng.uniform(size=shape) > 0.15)
    return pred, gt, mask


def _valid(gt: torch.Tensor, mask: torch.Tensor | None, b: int, i: int, j: int) -> bool:
    value = float(gt[b, 0, i, j])
    return math.isfinite(value) and value > 0 and (mask is None or bool(mask[b, 0, i, j]))


def _mean_over_images(values: Sequence[float | None]) -> float:
    """Mean of the per-image values that exist (None: no valid pixel); 0 if none do."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else 0.0


def _pixels(shape: tuple[int, ...]):
    return ((i, j) for i in range(shape[-2]) for j in range(shape[-1]))


# ---------------------------------------------------------------------------------------------------------
# Direct evaluations: explicit loops over pixels, from the formulas in the docstrings
# ---------------------------------------------------------------------------------------------------------


def _reflect(k: int, n: int) -> int:
    """Index after a one-pixel reflection pad: -1 -> 1, n -> n - 2."""
    return -k if k < 0 else 2 * (n - 1) - k if k >= n else k


def _ref_ssim_error(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    batch, channels, height, width = x.shape
    for b in range(batch):
        for c in range(channels):
            for i, j in _pixels(x.shape):
                wx, wy = [], []
                for di in (-1, 0, 1):
                    for dj in (-1, 0, 1):
                        ii, jj = _reflect(i + di, height), _reflect(j + dj, width)
                        wx.append(x[b, c, ii, jj])
                        wy.append(y[b, c, ii, jj])
                mx, my = sum(wx) / 9, sum(wy) / 9
                vx = sum(v * v for v in wx) / 9 - mx * mx
                vy = sum(v * v for v in wy) / 9 - my * my
                cxy = sum(a * b for a, b in zip(wx, wy, strict=True)) / 9 - mx * my
                ssim = ((2 * mx * my + 0.01**2) * (2 * cxy + 0.03**2)) / (
                    (mx * mx + my * my + 0.01**2) * (vx + vy + 0.03**2)
                )
                out[b, c, i, j] = min(max((1 - ssim) / 2, 0.0), 1.0)
    return out


def _ref_eigen(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None, lam: float) -> float:
    per_image: list[float | None] = []
    for b in range(pred.shape[0]):
        d = [
            math.log(pred[b, 0, i, j]) - math.log(gt[b, 0, i, j])
            for i, j in _pixels(pred.shape)
            if _valid(gt, mask, b, i, j)
        ]
        n = len(d)
        per_image.append(sum(x * x for x in d) / n - lam * sum(d) ** 2 / n**2 if n else None)
    return _mean_over_images(per_image)


def _ref_gradient_matching(residual: np.ndarray, valid: np.ndarray, scales: int) -> float:
    """``residual``, ``valid``: (B, H, W) arrays."""
    per_image: list[float | None] = []
    for b in range(residual.shape[0]):
        if not valid[b].any():
            per_image.append(None)
            continue
        total = 0.0
        for s in range(scales):
            step = 2**s
            rows = range(0, residual.shape[1], step)
            cols = range(0, residual.shape[2], step)
            grad, count = 0.0, 0
            for i in rows:
                for j in cols:
                    if not valid[b, i, j]:
                        continue
                    count += 1
                    if j + step in cols and valid[b, i, j + step]:
                        grad += abs(residual[b, i, j + step] - residual[b, i, j])
                    if i + step in rows and valid[b, i + step, j]:
                        grad += abs(residual[b, i + step, j] - residual[b, i, j])
            total += grad / count if count else 0.0
        per_image.append(total)
    return _mean_over_images(per_image)


def _ref_log_residual(pred, gt, mask):
    batch, _, height, width = pred.shape
    valid = np.zeros((batch, height, width), dtype=bool)
    residual = np.zeros((batch, height, width))
    for b in range(batch):
        for i, j in _pixels(pred.shape):
            if _valid(gt, mask, b, i, j):
                valid[b, i, j] = True
                residual[b, i, j] = math.log(pred[b, 0, i, j]) - math.log(gt[b, 0, i, j])
    return residual, valid


def _ref_ordinal(pred: torch.Tensor, pairs: OrdinalPairs, tau: float = 0.25) -> float:
    c = math.log(1 + math.exp(tau)) - math.log(1 + math.exp(math.sqrt(tau)))
    width = pred.shape[-1]
    per_image: list[float | None] = []
    for b in range(pred.shape[0]):
        losses = []
        for n in range(pairs.labels.shape[1]):
            r = int(pairs.labels[b, n])
            if r == 0:
                continue
            i, j = int(pairs.index_i[b, n]), int(pairs.index_j[b, n])
            p_i = float(pred[b, 0, i // width, i % width])
            p_j = float(pred[b, 0, j // width, j % width])
            p = -r * (math.log(p_i) - math.log(p_j))
            losses.append(math.log(1 + math.exp(p)) if p <= tau else math.log(1 + math.exp(math.sqrt(p))) + c)
        per_image.append(sum(losses) / len(losses) if losses else None)
    return _mean_over_images(per_image)


def _ref_ssi(pred, gt, mask, space: Space, rho: Rho, alpha: float = 0.5, scales: int = 4) -> float:
    batch, _, height, width = pred.shape
    per_image: list[float | None] = []
    residual = np.zeros((batch, height, width))
    valid = np.zeros((batch, height, width), dtype=bool)
    for b in range(batch):
        ps, ts, where = [], [], []
        for i, j in _pixels(pred.shape):
            if _valid(gt, mask, b, i, j):
                g = float(gt[b, 0, i, j])
                ps.append(float(pred[b, 0, i, j]))
                ts.append(1.0 / g if space == "disparity" else g)
                where.append((i, j))
        m = len(ps)
        if m == 0:
            per_image.append(None)
            continue
        # normal equations of min sum (s p + t - target)^2
        sp, st, spp, spt = sum(ps), sum(ts), sum(p * p for p in ps), sum(p * t for p, t in zip(ps, ts, strict=True))
        det = m * spp - sp * sp
        s = (m * spt - sp * st) / det
        t = (spp * st - sp * spt) / det
        r = [s * p + t - target for p, target in zip(ps, ts, strict=True)]
        for (i, j), value in zip(where, r, strict=True):
            residual[b, i, j], valid[b, i, j] = value, True
        if rho == "mse":
            per_image.append(sum(x * x for x in r) / (2 * m))
        else:
            kept = sorted(abs(x) for x in r)[: m - math.floor(0.2 * m)]
            per_image.append(sum(kept) / (2 * m))
    return _mean_over_images(per_image) + alpha * _ref_gradient_matching(residual, valid, scales)


def _ref_smoothness(disp: np.ndarray, image: np.ndarray) -> float:
    batch, channels, height, width = image.shape
    sx, nx, sy, ny = 0.0, 0, 0.0, 0
    for b in range(batch):
        mean = sum(disp[b, 0, i, j] for i, j in _pixels(disp.shape)) / (height * width)
        d = disp[b, 0] / (mean + 1e-7)
        for i, j in _pixels(disp.shape):
            if j + 1 < width:
                edge = sum(abs(image[b, c, i, j + 1] - image[b, c, i, j]) for c in range(channels)) / channels
                sx += abs(d[i, j + 1] - d[i, j]) * math.exp(-edge)
                nx += 1
            if i + 1 < height:
                edge = sum(abs(image[b, c, i + 1, j] - image[b, c, i, j]) for c in range(channels)) / channels
                sy += abs(d[i + 1, j] - d[i, j]) * math.exp(-edge)
                ny += 1
    return sx / nx + sy / ny


# ---------------------------------------------------------------------------------------------------------
# Photometric: SSIM, reprojection error, minimum reprojection and auto-masking
# ---------------------------------------------------------------------------------------------------------


def test_ssim_matches_per_pixel_loop() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.uniform(size=(2, 3, 6, 7)), rng.uniform(size=(2, 3, 6, 7))
    y[0] = x[0] * 0.9 + 0.05  # one pair of similar images, one of unrelated ones
    got = ssim_error(torch.tensor(x), torch.tensor(y)).numpy()
    np.testing.assert_allclose(got, _ref_ssim_error(x, y), rtol=1e-10, atol=1e-12)
    assert got.shape == x.shape
    assert (got >= 0).all() and (got <= 1).all()


def test_ssim_of_identical_images_is_zero() -> None:
    x = torch.rand(2, 3, 6, 7, generator=torch.Generator().manual_seed(0))
    assert ssim_error(x, x).abs().max() < 1e-6
    assert reprojection_error(x, x).abs().max() < 1e-6


def test_reprojection_error_matches_per_pixel_loop() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.uniform(size=(2, 3, 6, 7)), rng.uniform(size=(2, 3, 6, 7))
    ssim = _ref_ssim_error(x, y)
    expected = np.zeros((2, 1, 6, 7))
    for b in range(2):
        for i, j in _pixels(x.shape):
            expected[b, 0, i, j] = (
                0.85 * sum(ssim[b, c, i, j] for c in range(3)) / 3
                + 0.15 * sum(abs(x[b, c, i, j] - y[b, c, i, j]) for c in range(3)) / 3
            )
    got = reprojection_error(torch.tensor(x), torch.tensor(y))
    assert got.shape == (2, 1, 6, 7)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)


def _losses(seed: int, count: int, low: float, high: float) -> list[torch.Tensor]:
    rng = np.random.default_rng(seed)
    return [torch.tensor(rng.uniform(low, high, SHAPE)) for _ in range(count)]


def test_min_reprojection_without_automask_is_the_per_pixel_minimum() -> None:
    reprojection = _losses(3, 3, 0.0, 1.0)
    loss, mask = min_reprojection_loss(reprojection, automask=False)
    for b in range(2):
        for i, j in _pixels(SHAPE):
            assert loss[b, 0, i, j] == min(float(r[b, 0, i, j]) for r in reprojection)
    assert mask.dtype == torch.bool and mask.shape == SHAPE and mask.all()


def test_automask_is_true_exactly_where_a_reprojection_beats_every_identity_loss() -> None:
    # values on a grid of 0.01: the 1e-5 tie-break noise cannot reorder them
    reprojection = [torch.round(x * 100) / 100 + 0.005 for x in _losses(4, 2, 0.0, 1.0)]
    identity = [torch.round(x * 100) / 100 for x in _losses(5, 2, 0.0, 1.0)]
    loss, mask = min_reprojection_loss(reprojection, identity, generator=torch.Generator().manual_seed(0))
    assert loss.shape == mask.shape == SHAPE
    for b in range(2):
        for i, j in _pixels(SHAPE):
            best_reprojection = min(float(r[b, 0, i, j]) for r in reprojection)
            best_identity = min(float(r[b, 0, i, j]) for r in identity)
            assert bool(mask[b, 0, i, j]) == (best_reprojection < best_identity)
            assert float(loss[b, 0, i, j]) == pytest.approx(min(best_reprojection, best_identity), abs=1e-4)
            if mask[b, 0, i, j]:
                assert float(loss[b, 0, i, j]) == best_reprojection  # the noise is on identity losses only
    assert 0 < mask.sum() < mask.numel()


def test_automask_ties_are_broken_by_the_noise_reproducibly() -> None:
    same = _losses(6, 1, 0.0, 1.0)
    masks = [min_reprojection_loss(same, same, generator=torch.Generator().manual_seed(seed))[1] for seed in (7, 7, 8)]
    assert torch.equal(masks[0], masks[1])
    assert not torch.equal(masks[0], masks[2])
    assert 0.2 < masks[0].double().mean() < 0.8  # a static scene: masked about half the time, not never


def test_average_mode_averages_and_automask_is_independent_of_it() -> None:
    # means are multiples of 1/300 plus 0.005, identity losses multiples of 1/100: at least 0.0016 apart
    reprojection = [torch.round(x * 100) / 100 + 0.005 for x in _losses(9, 3, 0.0, 1.0)]
    mean = (reprojection[0] + reprojection[1] + reprojection[2]) / 3
    identity = [torch.round(x * 100) / 100 for x in _losses(10, 2, 0.0, 1.0)]
    loss, mask = min_reprojection_loss(reprojection, identity, automask=False, average=True)  # the baseline
    torch.testing.assert_close(loss, mean)
    assert mask.all()
    loss, mask = min_reprojection_loss(reprojection, identity, average=True)  # averaged, then auto-masked
    best_identity = torch.minimum(identity[0], identity[1])
    torch.testing.assert_close(mask, mean < best_identity)
    torch.testing.assert_close(loss, torch.minimum(mean, best_identity), atol=1e-4, rtol=0)
    assert 0 < mask.sum() < mask.numel()


def test_min_reprojection_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="needs the identity losses"):
        min_reprojection_loss(_losses(0, 2, 0.0, 1.0))
    with pytest.raises(ValueError, match="empty list"):
        min_reprojection_loss([], automask=False)
    with pytest.raises(ValueError, match="one shape"):
        min_reprojection_loss([torch.zeros(2, 1, 6, 7), torch.zeros(2, 1, 6, 8)], automask=False)


# ---------------------------------------------------------------------------------------------------------
# Smoothness
# ---------------------------------------------------------------------------------------------------------


def test_smoothness_matches_per_pixel_loop() -> None:
    rng = np.random.default_rng(11)
    disp, image = rng.uniform(0.01, 1.0, SHAPE), rng.uniform(size=(2, 3, 6, 7))
    got = edge_aware_smoothness(torch.tensor(disp), torch.tensor(image))
    assert got.dim() == 0
    assert float(got) == pytest.approx(_ref_smoothness(disp, image), rel=1e-10)


def test_smoothness_of_constant_disparity_is_zero_and_of_scaled_disparity_unchanged() -> None:
    image = torch.rand(2, 3, 6, 7, dtype=torch.float64)
    assert float(edge_aware_smoothness(torch.full(SHAPE, 0.3, dtype=torch.float64), image)) == 0.0
    disp = torch.rand(SHAPE, dtype=torch.float64) + 0.1
    assert float(edge_aware_smoothness(5 * disp, image)) == pytest.approx(float(edge_aware_smoothness(disp, image)))


def test_image_edges_reduce_the_smoothness_penalty() -> None:
    disp = torch.full(SHAPE, 0.2, dtype=torch.float64)
    disp[..., 3:] = 0.8  # a disparity step between columns 2 and 3
    flat = torch.full((2, 3, 6, 7), 0.5, dtype=torch.float64)
    edge = flat.clone()
    edge[..., 3:] = 1.0  # an image edge at the same place
    assert float(edge_aware_smoothness(disp, edge)) < float(edge_aware_smoothness(disp, flat))


# ---------------------------------------------------------------------------------------------------------
# Eigen, MegaDepth, MiDaS: agreement with direct evaluation
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("use_mask", [False, True])
def test_eigen_matches_per_pixel_loop(lam: float, use_mask: bool) -> None:
    pred, gt, random_mask = _depths(12)
    mask = random_mask if use_mask else None
    got = eigen_scale_invariant_loss(pred, gt, mask, lam=lam)
    assert float(got) == pytest.approx(_ref_eigen(pred, gt, mask, lam), rel=1e-10)


@pytest.mark.parametrize("scales", [1, 4])
def test_gradient_matching_matches_per_pixel_loop(scales: int) -> None:
    pred, gt, mask = _depths(13, (2, 1, 9, 11))
    residual, valid = _ref_log_residual(pred, gt, mask)
    got = gradient_matching_loss(torch.tensor(residual)[:, None], torch.tensor(valid)[:, None], scales)
    assert float(got) == pytest.approx(_ref_gradient_matching(residual, valid, scales), rel=1e-10)


def _pairs(seed: int, count: int = 9, shape: tuple[int, ...] = SHAPE) -> OrdinalPairs:
    rng = np.random.default_rng(seed)
    pixels = shape[-2] * shape[-1]
    labels = rng.choice([-1, 1], size=(shape[0], count))
    labels[1, count // 2 :] = 0  # padding
    return OrdinalPairs(
        torch.tensor(rng.integers(0, pixels, (shape[0], count))),
        torch.tensor(rng.integers(0, pixels, (shape[0], count))),
        torch.tensor(labels),
    )


def test_ordinal_loss_matches_per_pair_loop() -> None:
    pred, _, _ = _depths(14)
    pairs = _pairs(15)
    assert float(ordinal_loss(pred, pairs)) == pytest.approx(_ref_ordinal(pred, pairs), rel=1e-10)


def test_megadepth_matches_per_pixel_loop() -> None:
    pred, gt, mask = _depths(16)
    pairs = _pairs(17)
    residual, valid = _ref_log_residual(pred, gt, mask)
    expected = (
        _ref_eigen(pred, gt, mask, 1.0)
        + 0.5 * _ref_gradient_matching(residual, valid, 4)
        + 0.1 * _ref_ordinal(pred, pairs)
    )
    assert float(megadepth_loss(pred, gt, mask, ordinal=pairs)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("space", ["disparity", "depth"])
@pytest.mark.parametrize("rho", ["mse", "trimmed_mae"])
def test_scale_shift_invariant_matches_per_pixel_loop(space: Space, rho: Rho) -> None:
    pred, gt, mask = _depths(18)
    got = scale_shift_invariant_loss(pred, gt, mask, space=space, rho=rho)
    assert float(got) == pytest.approx(_ref_ssi(pred, gt, mask, space, rho), rel=1e-9)


def test_trimmed_mae_drops_the_largest_fifth() -> None:
    # one image of 5 valid pixels: exactly one residual is dropped
    gt = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64).view(1, 1, 1, 5)
    pred = gt.clone()
    pred[..., 4] = 50.0  # an outlier
    trimmed = scale_shift_invariant_loss(pred, gt, space="depth", rho="trimmed_mae", alpha=0.0)
    scale, shift = align_scale_shift(pred, gt, torch.ones_like(gt, dtype=torch.bool))
    residual = (scale.view(-1, 1, 1, 1) * pred + shift.view(-1, 1, 1, 1) - gt).abs().flatten()
    assert float(trimmed) == pytest.approx(float(residual.sort().values[:4].sum() / 10), rel=1e-12)


def test_least_squares_alignment_recovers_an_affine_map_and_handles_degenerate_images() -> None:
    target = torch.rand(3, 1, 4, 5, dtype=torch.float64)
    pred = (target - 0.3) / 2.5
    pred[2] = 7.0  # constant prediction: no scale to fit
    valid = torch.ones_like(target, dtype=torch.bool)
    valid[1] = False  # an image without valid pixels
    scale, shift = align_scale_shift(pred, target, valid)
    torch.testing.assert_close(scale[0], torch.tensor(2.5, dtype=torch.float64))
    torch.testing.assert_close(shift[0], torch.tensor(0.3, dtype=torch.float64))
    assert float(scale[1]) == 0.0 and float(shift[1]) == 0.0
    assert float(scale[2]) == 0.0 and float(shift[2]) == pytest.approx(float(target[2].mean()))
    constant = torch.full((2, 1, 192, 256), 0.1234567)  # float32: rounding must not pass for a slope
    scale, _ = align_scale_shift(constant, torch.rand(constant.shape), torch.ones_like(constant, dtype=torch.bool))
    assert (scale == 0).all()


# ---------------------------------------------------------------------------------------------------------
# Invariances
# ---------------------------------------------------------------------------------------------------------


def test_eigen_with_lambda_one_is_scale_invariant_and_with_zero_is_not() -> None:
    pred, gt, mask = _depths(19)
    for lam, invariant in ((1.0, True), (0.5, False), (0.0, False)):
        base = float(eigen_scale_invariant_loss(pred, gt, mask, lam=lam))
        scaled = float(eigen_scale_invariant_loss(3.7 * pred, gt, mask, lam=lam))
        assert (scaled == pytest.approx(base, rel=1e-9)) == invariant, lam


def test_megadepth_is_scale_invariant() -> None:
    pred, gt, mask = _depths(20)
    pairs = _pairs(21)
    base = float(megadepth_loss(pred, gt, mask, ordinal=pairs))
    assert float(megadepth_loss(0.01 * pred, gt, mask, ordinal=pairs)) == pytest.approx(base, rel=1e-9)
    assert float(megadepth_loss(pred**1.5, gt, mask, ordinal=pairs)) != pytest.approx(base, rel=1e-3)


@pytest.mark.parametrize("space", ["disparity", "depth"])
@pytest.mark.parametrize("rho", ["mse", "trimmed_mae"])
def test_scale_shift_invariant_loss_is_invariant_to_scale_and_shift(space: Space, rho: Rho) -> None:
    pred, gt, mask = _depths(22)
    base = float(scale_shift_invariant_loss(pred, gt, mask, space=space, rho=rho))
    for scale, shift in ((4.0, 0.0), (1.0, -3.0), (0.2, 11.0), (-2.0, 1.0)):
        moved = float(scale_shift_invariant_loss(scale * pred + shift, gt, mask, space=space, rho=rho))
        assert moved == pytest.approx(base, rel=1e-8), (scale, shift)
    assert float(scale_shift_invariant_loss(pred**2, gt, mask, space=space, rho=rho)) != pytest.approx(base, rel=1e-3)


# ---------------------------------------------------------------------------------------------------------
# Zero at the optimum
# ---------------------------------------------------------------------------------------------------------


def test_every_loss_is_zero_at_the_optimum() -> None:
    _, gt, mask = _depths(23)
    pred = torch.where(torch.isfinite(gt) & (gt > 0), gt, 1.0)  # pred = gt wherever gt is valid
    for lam in (0.0, 0.5, 1.0):
        assert float(eigen_scale_invariant_loss(pred, gt, mask, lam=lam)) == pytest.approx(0.0, abs=1e-15)
    assert float(megadepth_loss(pred, gt, mask)) == pytest.approx(0.0, abs=1e-15)
    for rho in ("mse", "trimmed_mae"):
        disparity = scale_shift_invariant_loss(3.0 / pred + 2.0, gt, mask, rho=rho)
        depth = scale_shift_invariant_loss(0.5 * pred - 1.0, gt, mask, space="depth", rho=rho)
        assert float(disparity) == pytest.approx(0.0, abs=1e-12)
        assert float(depth) == pytest.approx(0.0, abs=1e-12)
    assert float(huber_loss(pred, gt, mask)) == 0.0
    assert float(berhu_loss(pred, gt, mask)) == 0.0
    inverse = 1.0 / pred.clamp(0.5, 50.0)
    pyramid = [inverse[..., :: 2**s, :: 2**s] for s in range(4)]
    assert float(mvdepthnet_loss(pyramid, gt)) == 0.0


# ---------------------------------------------------------------------------------------------------------
# Ordinal penalty
# ---------------------------------------------------------------------------------------------------------


def test_ordinal_penalty_is_continuous_at_tau() -> None:
    tau = 0.25
    left = float(ordinal_penalty(torch.tensor(tau, dtype=torch.float64)))  # P <= tau: the left piece
    right = float(ordinal_penalty(torch.tensor(tau + 1e-12, dtype=torch.float64)))
    assert left == pytest.approx(math.log(1 + math.exp(tau)), abs=1e-12)
    assert abs(left - right) < 1e-6
    other = ordinal_penalty(torch.tensor([0.5 - 1e-12, 0.5 + 1e-12], dtype=torch.float64), tau=0.5)
    assert abs(float(other[1] - other[0])) < 1e-6


def test_ordinal_penalty_grows_with_the_wrong_order_margin() -> None:
    p = torch.linspace(-4.0, 6.0, 1001, dtype=torch.float64)
    penalty = ordinal_penalty(p)
    assert (penalty.diff() > 0).all()
    far = p >= 1.0  # for badly ordered pairs the square-root piece grows more slowly than softplus
    assert (penalty[far] < torch.nn.functional.softplus(p[far])).all()


def test_ordinal_loss_grows_as_a_pair_is_ordered_more_wrongly() -> None:
    pairs = OrdinalPairs(torch.tensor([[0]]), torch.tensor([[1]]), torch.tensor([[1]]))  # pixel 0 is farther
    losses = []
    for ratio in (4.0, 2.0, 1.0, 0.8, 0.5, 0.1):  # depth of pixel 0 over pixel 1: right order, then wrong
        pred = torch.tensor([[[[ratio, 1.0]]]], dtype=torch.float64)
        losses.append(float(ordinal_loss(pred, pairs)))
    assert all(a < b for a, b in itertools.pairwise(losses))
    flipped = OrdinalPairs(pairs.index_i, pairs.index_j, -pairs.labels)
    pred = torch.tensor([[[[0.1, 1.0]]]], dtype=torch.float64)
    assert float(ordinal_loss(pred, flipped)) < float(ordinal_loss(pred, pairs))


# ---------------------------------------------------------------------------------------------------------
# Empty masks and gradients
# ---------------------------------------------------------------------------------------------------------


def _supervised_losses(pred: torch.Tensor, gt: torch.Tensor) -> dict[str, torch.Tensor]:
    pyramid = [pred[..., :: 2**s, :: 2**s] for s in range(4)]
    return {
        "eigen": eigen_scale_invariant_loss(pred, gt),
        "megadepth": megadepth_loss(pred, gt),
        "ssi_mse": scale_shift_invariant_loss(pred, gt),
        "ssi_trimmed": scale_shift_invariant_loss(pred, gt, rho="trimmed_mae"),
        "huber": huber_loss(pred, gt),
        "berhu": berhu_loss(pred, gt),
        "mvdepthnet": mvdepthnet_loss(pyramid, gt),
    }


@pytest.mark.parametrize("missing", [0.0, float("nan"), float("inf"), -1.0])
def test_no_valid_pixel_gives_zero_loss_and_finite_gradients(missing: float) -> None:
    pred = (torch.rand(SHAPE, dtype=torch.float64) + 0.5).requires_grad_()
    gt = torch.full(SHAPE, missing, dtype=torch.float64)
    for name, loss in _supervised_losses(pred, gt).items():
        (grad,) = torch.autograd.grad(loss, pred)
        assert loss.item() == 0.0, name
        assert torch.isfinite(grad).all() and (grad == 0).all(), name


def test_empty_user_mask_gives_zero_loss_and_finite_gradients() -> None:
    pred, gt, _ = _depths(24)
    pred.requires_grad_()
    empty = torch.zeros(SHAPE, dtype=torch.bool)
    for loss in (
        eigen_scale_invariant_loss(pred, gt, empty),
        megadepth_loss(pred, gt, empty),
        scale_shift_invariant_loss(pred, gt, empty, rho="trimmed_mae"),
        huber_loss(pred, gt, empty),
        berhu_loss(pred, gt, empty),
    ):
        (grad,) = torch.autograd.grad(loss, pred)
        assert loss.item() == 0.0 and torch.isfinite(grad).all()
    no_pairs = OrdinalPairs(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3))
    loss = ordinal_loss(pred, no_pairs)
    (grad,) = torch.autograd.grad(loss, pred)
    assert loss.item() == 0.0 and torch.isfinite(grad).all()


def test_an_image_without_valid_pixels_drops_out_of_the_batch_mean() -> None:
    pred, gt, _ = _depths(25)
    gt[1] = float("nan")
    for name, loss in _supervised_losses(pred, gt).items():
        if name in ("huber", "berhu", "mvdepthnet"):  # means over the batch's pixels: the same by construction
            continue
        alone = _supervised_losses(pred[:1], gt[:1])[name]
        assert float(loss) == pytest.approx(float(alone), rel=1e-12), name


def test_gradients_are_finite_with_missing_ground_truth() -> None:
    pred, gt, _ = _depths(26)
    pred.requires_grad_()
    for name, loss in _supervised_losses(pred, gt).items():
        (grad,) = torch.autograd.grad(loss, pred)
        assert torch.isfinite(grad).all(), name
        missing = ~(torch.isfinite(gt) & (gt > 0))
        if name != "mvdepthnet":  # its coarse scales see a subsampled mask
            assert (grad[missing] == 0).all(), name
    margins = torch.tensor([-1.0, 0.0, 0.25, 3.0], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(ordinal_penalty(margins).sum(), margins)  # sqrt of P < 0 is never reached
    assert torch.isfinite(grad).all() and (grad > 0).all()


def test_gradcheck_of_the_scale_invariant_family() -> None:
    pred, gt, mask = _depths(27, (2, 1, 4, 5))
    pred.requires_grad_()
    pairs = _pairs(28, 4, (2, 1, 4, 5))
    for function in (
        lambda p: eigen_scale_invariant_loss(p, gt, mask),
        lambda p: megadepth_loss(p, gt, mask, ordinal=pairs),
        lambda p: scale_shift_invariant_loss(p, gt, mask),
        lambda p: scale_shift_invariant_loss(p, gt, mask, space="depth", rho="trimmed_mae"),
    ):
        assert torch.autograd.gradcheck(function, (pred,))


# ---------------------------------------------------------------------------------------------------------
# MVDepthNet, Huber, BerHu
# ---------------------------------------------------------------------------------------------------------


def test_mvdepthnet_ground_truth_clamp_inversion_mask_and_pyramid_by_hand() -> None:
    nan = float("nan")
    gt = torch.tensor(
        [
            [0.05, 2.0, 0.3, 4.0],  # 0.05: missing (<= 0.1); 0.3: clamped to 0.5 -> inverse 2
            [1.0, 1.0, 1.0, 1.0],
            [100.0, 1.0, nan, 1.0],  # 100: clamped to 50 -> inverse 0.02; nan: missing
            [1.0, 1.0, 1.0, 1.0],
        ],
        dtype=torch.float64,
    ).view(1, 1, 4, 4)
    full = torch.full((1, 1, 4, 4), 0.5, dtype=torch.float64)  # inverse depth 0.5 m^-1 everywhere
    half = torch.full((1, 1, 2, 2), 0.5, dtype=torch.float64)  # sees gt[::2, ::2] = 0.05, 0.3 / 100, nan
    quarter = torch.full((1, 1, 1, 1), 0.5, dtype=torch.float64)  # sees gt[0, 0] = 0.05: nothing valid
    # full scale, 14 valid pixels: |0.5-0.5| for 2.0 (0), 0.3 -> |0.5-2| = 1.5, 4.0 -> 0.25,
    # ten ones -> 0.5 each, 100 -> |0.5-0.02| = 0.48
    full_l1 = (0.0 + 1.5 + 0.25 + 10 * 0.5 + 0.48) / 14
    half_l1 = (1.5 + 0.48) / 2
    loss = mvdepthnet_loss([full, half, quarter], gt)
    assert float(loss) == pytest.approx(full_l1 + half_l1 + 0.0, rel=1e-12)
    with pytest.raises(ValueError, match=r"subsampled by \[::2, ::2\]"):
        mvdepthnet_loss([full, full], gt)


def test_mvdepthnet_scales_are_summed_with_equal_weights_and_odd_sizes_round_up() -> None:
    gt = torch.full((2, 1, 5, 7), 2.0, dtype=torch.float64)
    pyramid = [
        torch.full((2, 1, h, w), 0.5 + 0.1 * s, dtype=torch.float64)
        for s, (h, w) in enumerate([(5, 7), (3, 4), (2, 2), (1, 1)])
    ]
    assert float(mvdepthnet_loss(pyramid, gt)) == pytest.approx(0.0 + 0.1 + 0.2 + 0.3)


def test_berhu_is_l1_below_c_and_scaled_square_above() -> None:
    gt = torch.tensor([1.0, 2.0, 3.0, 4.0, float("nan")], dtype=torch.float64).view(1, 1, 1, 5)
    pred = gt + torch.tensor([0.1, 0.5, 1.0, -2.0, 0.0], dtype=torch.float64).view(1, 1, 1, 5)
    c = 0.2 * 2.0
    expected = [0.1, (0.5**2 + c**2) / (2 * c), (1.0 + c**2) / (2 * c), (4.0 + c**2) / (2 * c)]
    assert float(berhu_loss(pred, gt)) == pytest.approx(sum(expected) / 4, rel=1e-12)


def test_huber_is_quadratic_below_delta_and_linear_above() -> None:
    gt = torch.tensor([1.0, 2.0, 3.0, 0.0], dtype=torch.float64).view(1, 1, 1, 4)
    pred = gt + torch.tensor([0.5, -1.0, 3.0, 9.0], dtype=torch.float64).view(1, 1, 1, 4)
    expected = [0.5 * 0.25, 0.5 * 1.0, 1.0 * (3.0 - 0.5)]
    assert float(huber_loss(pred, gt)) == pytest.approx(sum(expected) / 3, rel=1e-12)
    assert float(huber_loss(pred, gt, delta=2.0)) == pytest.approx((0.125 + 0.5 + 2.0 * (3.0 - 1.0)) / 3)


def test_huber_and_berhu_match_per_pixel_loop() -> None:
    pred, gt, mask = _depths(29)
    residuals = [
        float(pred[b, 0, i, j] - gt[b, 0, i, j])
        for b in range(2)
        for i, j in _pixels(SHAPE)
        if _valid(gt, mask, b, i, j)
    ]
    c = 0.2 * max(abs(r) for r in residuals)
    berhu = [abs(r) if abs(r) <= c else (r * r + c * c) / (2 * c) for r in residuals]
    huber = [0.5 * r * r if abs(r) <= 1.5 else 1.5 * (abs(r) - 0.75) for r in residuals]
    assert float(berhu_loss(pred, gt, mask)) == pytest.approx(sum(berhu) / len(berhu), rel=1e-12)
    assert float(huber_loss(pred, gt, mask, delta=1.5)) == pytest.approx(sum(huber) / len(huber), rel=1e-12)


# ---------------------------------------------------------------------------------------------------------
# Shapes, dtypes, devices
# ---------------------------------------------------------------------------------------------------------


def test_shape_errors_say_what_was_expected() -> None:
    pred = torch.ones(2, 1, 6, 7)
    with pytest.raises(ValueError, match=r"expected \(B, 1, H, W\), got \(2, 6, 7\)"):
        eigen_scale_invariant_loss(pred[:, 0], pred[:, 0])
    with pytest.raises(ValueError, match="gt: expected the shape of pred"):
        huber_loss(pred, torch.ones(2, 1, 6, 8))
    with pytest.raises(ValueError, match="expected a bool tensor"):
        megadepth_loss(pred, pred, mask=torch.ones(2, 1, 6, 7))
    with pytest.raises(ValueError, match="space"):
        scale_shift_invariant_loss(pred, pred, space="log")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="resize the image"):
        edge_aware_smoothness(pred, torch.ones(2, 3, 12, 14))


@pytest.mark.parametrize("device", DEVICES)
def test_losses_run_in_float32_on_any_device(device: str) -> None:
    pred64, gt64, mask64 = _depths(30)
    pairs64 = _pairs(31)
    pred = pred64.float().to(device).requires_grad_()
    gt, mask = gt64.float().to(device), mask64.to(device)
    pairs = OrdinalPairs(*(t.to(device) for t in pairs64))
    images = torch.rand(3, 2, 3, 6, 7, device=device)
    generator = torch.Generator(device=device).manual_seed(0)
    reprojection = [reprojection_error(images[0], images[1]), reprojection_error(images[0], images[2])]
    identity = [reprojection_error(images[1], images[2])]
    photometric, _ = min_reprojection_loss(reprojection, identity, generator=generator)
    megadepth = megadepth_loss(pred, gt, mask, ordinal=pairs)
    total = (
        photometric.mean()
        + edge_aware_smoothness(1.0 / pred, images[0])
        + megadepth
        + scale_shift_invariant_loss(1.0 / pred, gt, mask)
        + berhu_loss(pred, gt, mask)
    )
    total.backward()
    assert total.device.type == device and total.dtype == torch.float32
    assert torch.isfinite(pred.grad).all()  # type: ignore[arg-type]
    expected = megadepth_loss(pred64, gt64, mask64, ordinal=pairs64)
    assert megadepth.item() == pytest.approx(float(expected), rel=1e-4)
