"""Shape checks, validity masks and masked reductions shared by the supervised losses.

Masked values are replaced *before* any operation that could overflow (``log``, ``1/x``), never
multiplied away afterwards: ``0 * inf`` is NaN, and so is the gradient of a ``torch.where`` whose
unselected branch is infinite. Every reduction divides by ``max(count, 1)``, so an empty mask gives
0 with finite (zero) gradients.
"""

from __future__ import annotations

import torch


def check_depth_pair(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None = None) -> None:
    """Raise ``ValueError`` unless ``pred`` is (B, 1, H, W) and ``gt`` (and ``mask``, bool) match it."""
    if pred.dim() != 4 or pred.shape[1] != 1:
        raise ValueError(f"pred: expected (B, 1, H, W), got {tuple(pred.shape)}")
    if gt.shape != pred.shape:
        raise ValueError(f"gt: expected the shape of pred {tuple(pred.shape)}, got {tuple(gt.shape)}")
    if mask is not None:
        if mask.shape != pred.shape:
            raise ValueError(f"mask: expected the shape of pred {tuple(pred.shape)}, got {tuple(mask.shape)}")
        if mask.dtype != torch.bool:
            raise ValueError(f"mask: expected a bool tensor, got {mask.dtype}; pass e.g. mask > 0")


def valid_depth(gt: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Bool mask of ground truth that is finite and positive (and inside ``mask`` when one is given)."""
    valid = torch.isfinite(gt) & (gt > 0)
    return valid if mask is None else valid & mask


def log_ratio(pred: torch.Tensor, gt: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``log pred - log gt`` on valid pixels, 0 elsewhere (invalid values never reach ``log``)."""
    one = torch.ones_like(pred)
    return torch.where(valid, torch.log(torch.where(valid, pred, one)) - torch.log(torch.where(valid, gt, one)), 0.0)


def pixel_counts(valid: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B,) number of valid pixels of each image, as ``dtype``."""
    return valid.flatten(1).sum(1).to(dtype)


def image_sums(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(B,) sum of ``values`` over the valid pixels of each image."""
    return torch.where(valid, values, 0.0).flatten(1).sum(1)


def image_means(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(B,) mean of ``values`` over the valid pixels of each image; 0 for an image without any."""
    return image_sums(values, valid) / pixel_counts(valid, values.dtype).clamp(min=1)


def mean_over_images(per_image: torch.Tensor, has_pixels: torch.Tensor) -> torch.Tensor:
    """Scalar mean of ``per_image`` (B,) over the images where ``has_pixels`` (B,) is true; 0 if none."""
    weights = has_pixels.to(per_image.dtype)
    return (per_image * weights).sum() / weights.sum().clamp(min=1)


def masked_mean(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Scalar mean of ``values`` over all valid pixels of the batch; 0 if there are none."""
    return torch.where(valid, values, 0.0).sum() / valid.sum().to(values.dtype).clamp(min=1)
