"""Supervised per-pixel losses: MVDepthNet's multi-scale L1 on inverse depth, Huber, and BerHu.

Shapes: (B, 1, H, W). Ground truth is missing where it is not finite or not positive (MVDepthNet: not
above 0.1 m) and, when a bool ``mask`` is given, outside it. These losses are means over all valid
pixels of the batch (not per image); with none the loss is 0 with zero (finite) gradients.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from depth_ros.losses._masks import check_depth_pair, masked_mean, valid_depth

MVDEPTHNET_MIN_VALID = 0.1  # m: ground truth at or below this is missing
MVDEPTHNET_DEPTH_RANGE = (0.5, 50.0)  # m: the cost volume's nearest and farthest planes
BERHU_FRACTION = 0.2


def mvdepthnet_loss(
    inverse_depths: Sequence[torch.Tensor],
    gt_depth: torch.Tensor,
    min_valid: float = MVDEPTHNET_MIN_VALID,
    depth_range: tuple[float, float] = MVDEPTHNET_DEPTH_RANGE,
) -> torch.Tensor:
    """MVDepthNet's loss ``sum_s mean_valid |pred_s - 1 / clamp(gt, 0.5, 50)[::2^s, ::2^s]|``.

    Ground truth is valid where finite and ``> min_valid``; valid depths are clamped to ``depth_range``
    (the cost volume's plane range) and inverted. The pyramid subsamples that inverse depth and the
    mask by ``[::2, ::2]`` per scale (no averaging); each scale's L1 is its mean over the valid pixels
    of the batch, and the scales are summed with equal weights.

    Args:
        inverse_depths: predicted inverse depth in m^-1, finest first (MVDepthNet: four, full to 1/8
            resolution); scale ``s`` must be (B, 1, ceil(H / 2^s), ceil(W / 2^s)).
        gt_depth: (B, 1, H, W) ground-truth depth in metres.
        min_valid: depth in metres at or below which ground truth counts as missing.
        depth_range: (near, far) clamp of valid ground truth, metres.

    Returns:
        Scalar loss.
    """
    if len(inverse_depths) == 0:
        raise ValueError("mvdepthnet_loss: expected one inverse-depth map per scale, got none")
    if gt_depth.dim() != 4 or gt_depth.shape[1] != 1:
        raise ValueError(f"gt_depth: expected (B, 1, H, W), got {tuple(gt_depth.shape)}")
    near, far = depth_range
    valid = torch.isfinite(gt_depth) & (gt_depth > min_valid)
    target = 1.0 / torch.where(valid, gt_depth, 1.0).clamp(near, far)
    total = gt_depth.new_zeros(())
    for s, pred in enumerate(inverse_depths):
        step = 2**s
        target_s, valid_s = target[..., ::step, ::step], valid[..., ::step, ::step]
        if pred.shape != target_s.shape:
            raise ValueError(
                f"inverse_depths[{s}]: expected {tuple(target_s.shape)} (ground truth {tuple(gt_depth.shape)} "
                f"subsampled by [::{step}, ::{step}]), got {tuple(pred.shape)}"
            )
        total = total + masked_mean((pred - target_s).abs(), valid_s)
    return total


def _masked_residual(
    pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``pred - gt`` on valid pixels (0 elsewhere) and the valid mask."""
    check_depth_pair(pred, gt, mask)
    valid = valid_depth(gt, mask)
    return torch.where(valid, pred - torch.where(valid, gt, 0.0), 0.0), valid


def huber_loss(
    pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None = None, delta: float = 1.0
) -> torch.Tensor:
    """Huber loss of ``r = pred - gt``: ``r^2 / 2`` for ``|r| <= delta``, ``delta (|r| - delta / 2)`` above.

    Args:
        pred: (B, 1, H, W) predicted depth, in the units of ``gt``.
        gt: (B, 1, H, W) ground-truth depth; missing where not finite or not positive.
        mask: optional (B, 1, H, W) bool, further restricting the valid pixels.
        delta: threshold, in the units of ``gt``.

    Returns:
        Scalar: mean over the valid pixels of the batch.
    """
    residual, valid = _masked_residual(pred, gt, mask)
    size = residual.abs()
    return masked_mean(torch.where(size <= delta, 0.5 * residual * residual, delta * (size - 0.5 * delta)), valid)


def berhu_loss(
    pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None = None, fraction: float = BERHU_FRACTION
) -> torch.Tensor:
    """Reverse Huber (Laina et al., 3DV 2016) of ``r = pred - gt``: ``|r|`` for ``|r| <= c``,
    ``(r^2 + c^2) / (2c)`` above, with ``c = 0.2 max|r|`` over the valid pixels of the batch.

    ``c`` is a constant of the step (no gradient flows through the max). The two pieces and their
    slopes meet at ``|r| = c``.

    Args:
        pred: (B, 1, H, W) predicted depth, in the units of ``gt``.
        gt: (B, 1, H, W) ground-truth depth; missing where not finite or not positive.
        mask: optional (B, 1, H, W) bool, further restricting the valid pixels.
        fraction: ``c`` as a fraction of the largest absolute residual.

    Returns:
        Scalar: mean over the valid pixels of the batch.
    """
    residual, valid = _masked_residual(pred, gt, mask)
    size = residual.abs()
    c = fraction * size.detach().amax()  # invalid residuals are 0, so they never set c
    quadratic = (residual * residual + c * c) / (2 * torch.where(c > 0, c, 1.0))
    return masked_mean(torch.where(size <= c, size, quadratic), valid)
