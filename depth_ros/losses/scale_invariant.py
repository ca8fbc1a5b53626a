"""The scale-invariant family: Eigen et al.'s log loss, MegaDepth's data + gradient + ordinal loss, and
MiDaS's scale-and-shift-invariant loss.

Shapes: ``pred`` and ``gt`` are (B, 1, H, W); ``gt`` is metric depth (metres), valid where finite and
positive and, when a bool ``mask`` is given, inside it. ``pred`` must be positive at valid pixels for
the log losses. Each of these losses is defined per image (its scale or shift is per image), so each
is computed per image and averaged over the images that have valid pixels; with none the loss is 0
with zero (finite) gradients. Logarithms are natural.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F

from depth_ros.losses._masks import (
    check_depth_pair,
    image_means,
    image_sums,
    log_ratio,
    mean_over_images,
    pixel_counts,
    valid_depth,
)

ORDINAL_TAU = 0.25
TRIM_PRECISION = 10**6  # trim fractions are applied in integer millionths, so 0.2 * 5 is exactly 1


def _scale_invariant(d: torch.Tensor, valid: torch.Tensor, lam: float) -> torch.Tensor:
    """Eigen's loss of a masked log difference ``d`` (0 at invalid pixels)."""
    n = pixel_counts(valid, d.dtype)
    n_safe = n.clamp(min=1)
    per_image = (d * d).flatten(1).sum(1) / n_safe - lam * d.flatten(1).sum(1) ** 2 / n_safe**2
    return mean_over_images(per_image, n > 0)


def eigen_scale_invariant_loss(
    pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None = None, lam: float = 0.5
) -> torch.Tensor:
    """Eigen et al. (NeurIPS 2014) scale-invariant log loss ``(1/n) sum d^2 - (lam/n^2) (sum d)^2``.

    ``d = log pred - log gt`` over the ``n`` valid pixels of an image. ``lam = 1`` is the variance of
    ``d``, fully invariant to a global scale of ``pred``; ``lam = 0`` is the plain squared log error;
    Eigen et al. train with 0.5.

    Args:
        pred: (B, 1, H, W) predicted depth, positive.
        gt: (B, 1, H, W) ground-truth depth; missing where not finite or not positive.
        mask: optional (B, 1, H, W) bool, further restricting the valid pixels.
        lam: weight ``lambda`` of the scale term.

    Returns:
        Scalar: mean over images with valid pixels.
    """
    check_depth_pair(pred, gt, mask)
    valid = valid_depth(gt, mask)
    return _scale_invariant(log_ratio(pred, gt, valid), valid, lam)


def gradient_matching_loss(residual: torch.Tensor, valid: torch.Tensor, scales: int = 4) -> torch.Tensor:
    """Multi-scale gradient matching ``sum_s mean(|dx R_s| + |dy R_s|)`` (MegaDepth, MiDaS).

    ``R_s = R[::2^s, ::2^s]`` (and the mask alike); at each scale, the absolute forward differences of
    ``R_s`` between horizontal and vertical neighbours that are both valid are summed and divided by
    the number of valid pixels at that scale (a difference touching an invalid pixel counts as 0).
    A scale without valid pixels adds 0.

    Args:
        residual: (B, 1, H, W) difference between prediction and ground truth (MegaDepth: log depths;
            MiDaS: the aligned disparities); any value at invalid pixels.
        valid: (B, 1, H, W) bool.
        scales: number of scales.

    Returns:
        Scalar: mean over images with valid pixels.
    """
    if residual.dim() != 4 or residual.shape[1] != 1 or valid.shape != residual.shape:
        raise ValueError(f"expected (B, 1, H, W) residual and mask, got {tuple(residual.shape)}, {tuple(valid.shape)}")
    clean = torch.where(valid, residual, 0.0)
    per_image = torch.zeros(residual.shape[0], dtype=residual.dtype, device=residual.device)
    for s in range(scales):
        step = 2**s
        r, m = clean[..., ::step, ::step], valid[..., ::step, ::step]
        dx = (r[..., :, 1:] - r[..., :, :-1]).abs() * (m[..., :, 1:] & m[..., :, :-1])
        dy = (r[..., 1:, :] - r[..., :-1, :]).abs() * (m[..., 1:, :] & m[..., :-1, :])
        total = dx.flatten(1).sum(1) + dy.flatten(1).sum(1)
        per_image = per_image + total / pixel_counts(m, residual.dtype).clamp(min=1)
    return mean_over_images(per_image, valid.flatten(1).any(1))


class OrdinalPairs(NamedTuple):
    """Pixel pairs with an ordinal depth relation.

    ``index_i``, ``index_j``: (B, N) int64 flat pixel indices ``v * W + u``. ``labels``: (B, N) with
    +1 where pixel i is farther than pixel j, -1 where it is closer, 0 for padding (no pair).
    """

    index_i: torch.Tensor
    index_j: torch.Tensor
    labels: torch.Tensor


def ordinal_penalty(p: torch.Tensor, tau: float = ORDINAL_TAU) -> torch.Tensor:
    """MegaDepth's ordinal penalty of the wrong-order margin ``P``, elementwise.

    ``log(1 + exp(P))`` for ``P <= tau``; ``log(1 + exp(sqrt(P))) + c`` above, with
    ``c = log(1 + exp(tau)) - log(1 + exp(sqrt(tau)))`` so the two pieces meet at ``tau`` (the slope
    does not: it jumps up there, from ``sigmoid(tau)`` to ``sigmoid(sqrt(tau)) / (2 sqrt(tau))``).
    Increasing in ``P``; the square root softens the growth for badly ordered pairs (``P >= 1``).
    Needs ``tau > 0``.
    """
    c = math.log1p(math.exp(tau)) - math.log1p(math.exp(math.sqrt(tau)))
    above = F.softplus(torch.sqrt(p.clamp(min=tau))) + c  # clamped: no NaN gradient from sqrt of P < 0
    return torch.where(p <= tau, F.softplus(p), above)


def ordinal_loss(pred: torch.Tensor, pairs: OrdinalPairs, tau: float = ORDINAL_TAU) -> torch.Tensor:
    """MegaDepth's ordinal loss: mean of :func:`ordinal_penalty` of ``P = -r (log pred_i - log pred_j)``.

    ``P`` is negative when the prediction orders the pair as labelled, positive when it does not.

    Args:
        pred: (B, 1, H, W) predicted depth, positive at the paired pixels.
        pairs: :class:`OrdinalPairs`.
        tau: threshold between the two pieces of the penalty (MegaDepth: 0.25).

    Returns:
        Scalar: mean over labelled pairs per image, then over the images that have any.
    """
    if pred.dim() != 4 or pred.shape[1] != 1:
        raise ValueError(f"pred: expected (B, 1, H, W), got {tuple(pred.shape)}")
    batch = pred.shape[0]
    shapes = {tuple(t.shape) for t in pairs}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2 or next(iter(shapes))[0] != batch:
        raise ValueError(f"ordinal pairs: expected index_i, index_j, labels of one shape (B={batch}, N), got {shapes}")
    labelled = pairs.labels != 0
    flat = pred.flatten(1)
    one = torch.ones_like(pairs.labels, dtype=pred.dtype)
    log_i = torch.log(torch.where(labelled, flat.gather(1, pairs.index_i), one))
    log_j = torch.log(torch.where(labelled, flat.gather(1, pairs.index_j), one))
    penalty = ordinal_penalty(-pairs.labels.to(pred.dtype) * (log_i - log_j), tau)
    count = labelled.sum(1).to(pred.dtype)
    per_pair_image = torch.where(labelled, penalty, 0.0).sum(1) / count.clamp(min=1)
    return mean_over_images(per_pair_image, count > 0)


def megadepth_loss(
    pred: torch.Tensor,
    gt: torch.Tensor,
    mask: torch.Tensor | None = None,
    ordinal: OrdinalPairs | None = None,
    alpha: float = 0.5,
    beta: float = 0.1,
    scales: int = 4,
    tau: float = ORDINAL_TAU,
) -> torch.Tensor:
    """MegaDepth (Li and Snavely, CVPR 2018): ``L_data + alpha L_grad + beta L_ord``.

    * ``L_data``: :func:`eigen_scale_invariant_loss` with ``lambda = 1`` on ``R = log pred - log gt``.
    * ``L_grad``: :func:`gradient_matching_loss` of ``R`` over ``scales`` scales.
    * ``L_ord``: :func:`ordinal_loss` on ``ordinal`` pairs (0 when none are given).

    All three are invariant to a global scale of ``pred``. An image with ordinal labels but no depth
    (``gt`` all 0) contributes to ``L_ord`` only. Defaults are the paper's ``alpha = 0.5, beta = 0.1``.

    Args:
        pred: (B, 1, H, W) predicted depth, positive.
        gt: (B, 1, H, W) ground-truth depth; missing where not finite or not positive.
        mask: optional (B, 1, H, W) bool, further restricting the valid pixels.
        ordinal: optional pixel pairs with ordinal labels.
        alpha, beta: weights of the gradient and ordinal terms.
        scales: scales of the gradient term.
        tau: threshold of the ordinal penalty.

    Returns:
        Scalar loss.
    """
    check_depth_pair(pred, gt, mask)
    valid = valid_depth(gt, mask)
    residual = log_ratio(pred, gt, valid)
    loss = _scale_invariant(residual, valid, 1.0) + alpha * gradient_matching_loss(residual, valid, scales)
    if ordinal is not None:
        loss = loss + beta * ordinal_loss(pred, ordinal, tau)
    return loss


def align_scale_shift(
    pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image least-squares ``s, t = argmin sum_valid (s pred + t - target)^2``.

    Closed form: ``s = cov(pred, target) / var(pred)``, ``t = mean(target) - s mean(pred)`` over the
    valid pixels. Where ``pred`` is constant on them up to rounding (``var(pred) <= (64 eps)^2
    mean(pred^2)``, ``eps`` the dtype's machine epsilon) or only one pixel is valid: ``s = 0``,
    ``t = mean(target)``; with no valid pixel ``s = t = 0``. Gradients flow through ``s`` and ``t``.

    Args:
        pred, target: (B, 1, H, W) in one space (disparity or depth); any value at invalid pixels.
        valid: (B, 1, H, W) bool.

    Returns:
        ``scale``, ``shift``: (B,) each.
    """
    pred = torch.where(valid, pred, 0.0)
    target = torch.where(valid, target, 0.0)
    mean_p = image_means(pred, valid)
    mean_t = image_means(target, valid)
    centred_p = pred - mean_p.view(-1, 1, 1, 1)
    centred_t = target - mean_t.view(-1, 1, 1, 1)
    var = image_means(centred_p * centred_p, valid)
    cov = image_means(centred_p * centred_t, valid)
    degenerate = var <= (64 * torch.finfo(pred.dtype).eps) ** 2 * image_means(pred * pred, valid)
    scale = torch.where(degenerate, 0.0, cov / torch.where(degenerate, 1.0, var))
    return scale, mean_t - scale * mean_p


def scale_shift_invariant_loss(
    pred: torch.Tensor,
    gt: torch.Tensor,
    mask: torch.Tensor | None = None,
    space: Literal["disparity", "depth"] = "disparity",
    rho: Literal["mse", "trimmed_mae"] = "mse",
    trim: float = 0.2,
    alpha: float = 0.5,
    scales: int = 4,
) -> torch.Tensor:
    """MiDaS (Ranftl et al., TPAMI 2020): ``L_ssi + alpha L_reg``.

    The target is ``1/gt`` (``space="disparity"``, MiDaS's choice) or ``gt`` (``"depth"``); ``pred`` is
    in that space. Per image, :func:`align_scale_shift` gives ``s, t`` and the aligned residual
    ``r = s pred + t - target`` on the ``M`` valid pixels; then

    * ``rho="mse"``: ``L_ssi = (1/2M) sum r^2``;
    * ``rho="trimmed_mae"``: ``L_ssi = (1/2M) sum |r|`` over the ``M - floor(trim M)`` smallest ``|r|``
      (the largest ``trim`` fraction, 20 %, dropped; still divided by ``2M``, as MiDaS writes it);
    * ``L_reg``: :func:`gradient_matching_loss` of ``r`` over ``scales`` scales.

    Invariant to ``pred -> a pred + b`` for any ``a != 0`` and ``b``.

    Args:
        pred: (B, 1, H, W) prediction in ``space`` (disparity or depth, up to scale and shift).
        gt: (B, 1, H, W) ground-truth depth; missing where not finite or not positive.
        mask: optional (B, 1, H, W) bool, further restricting the valid pixels.
        space: ``"disparity"`` or ``"depth"``.
        rho: ``"mse"`` or ``"trimmed_mae"``.
        trim: fraction of the largest residuals that ``trimmed_mae`` drops.
        alpha: weight of the gradient term (MiDaS: 0.5).
        scales: scales of the gradient term (MiDaS: 4).

    Returns:
        Scalar loss: each term per image, then averaged over images with valid pixels.
    """
    check_depth_pair(pred, gt, mask)
    if space not in ("disparity", "depth"):
        raise ValueError(f"space: expected 'disparity' or 'depth', got {space!r}")
    if rho not in ("mse", "trimmed_mae"):
        raise ValueError(f"rho: expected 'mse' or 'trimmed_mae', got {rho!r}")
    if not 0 <= trim < 1:
        raise ValueError(f"trim: expected a fraction in [0, 1), got {trim}")
    valid = valid_depth(gt, mask)
    pred = torch.where(valid, pred, 0.0)
    gt = torch.where(valid, gt, 1.0)
    target = 1.0 / gt if space == "disparity" else gt
    scale, shift = align_scale_shift(pred, target, valid)
    residual = torch.where(valid, scale.view(-1, 1, 1, 1) * pred + shift.view(-1, 1, 1, 1) - target, 0.0)
    count = valid.flatten(1).sum(1)
    if rho == "mse":
        data = image_sums(residual * residual, valid)
    else:
        ranked = torch.where(valid, residual.abs(), torch.inf).flatten(1).sort(1).values  # valid ones first
        keep = count - count * round(trim * TRIM_PRECISION) // TRIM_PRECISION
        kept = torch.arange(ranked.shape[1], device=ranked.device) < keep[:, None]
        data = torch.where(kept, ranked, 0.0).sum(1)
    per_image = data / (2 * count.to(pred.dtype).clamp(min=1))
    return mean_over_images(per_image, count > 0) + alpha * gradient_matching_loss(residual, valid, scales)
