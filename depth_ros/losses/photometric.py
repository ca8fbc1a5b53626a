"""Monodepth2's photometric losses: SSIM, the reprojection error, the per-pixel minimum and auto-masking.

Images are (B, C, H, W) with values in [0, 1] (the SSIM constants assume that range). Per-pixel losses
are (B, 1, H, W). Nothing here reduces over pixels: the caller averages the returned map (Monodepth2
averages it over all pixels, those won by an identity loss included; they carry no gradient to depth
or pose).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

SSIM_C1 = 0.01**2
SSIM_C2 = 0.03**2
SSIM_WEIGHT = 0.85
TIE_BREAK_STD = 1e-5


def _local_mean(x: torch.Tensor) -> torch.Tensor:
    """3x3 box mean with a one-pixel reflection pad, so the output keeps the input's size."""
    return F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), 3, 1)


def ssim_error(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-pixel, per-channel SSIM dissimilarity ``clamp((1 - SSIM(x, y)) / 2, 0, 1)``.

    With 3x3 box means over a one-pixel reflection-padded image: ``mu_x = E[x]``,
    ``sigma_x^2 = E[x^2] - mu_x^2``, ``sigma_xy = E[xy] - mu_x mu_y`` and

        SSIM = (2 mu_x mu_y + C1) (2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1) (sigma_x^2 + sigma_y^2 + C2))

    with ``C1 = 0.01^2``, ``C2 = 0.03^2``.

    Args:
        x, y: (B, C, H, W) images in [0, 1], H and W at least 2 (reflection padding).

    Returns:
        (B, C, H, W) error in [0, 1]; 0 where the images are identical.
    """
    if x.dim() != 4 or x.shape != y.shape:
        raise ValueError(
            f"ssim_error: expected two (B, C, H, W) images of one shape, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    mu_x, mu_y = _local_mean(x), _local_mean(y)
    sigma_x = _local_mean(x * x) - mu_x * mu_x
    sigma_y = _local_mean(y * y) - mu_y * mu_y
    sigma_xy = _local_mean(x * y) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + SSIM_C1) * (2 * sigma_xy + SSIM_C2)
    denominator = (mu_x * mu_x + mu_y * mu_y + SSIM_C1) * (sigma_x + sigma_y + SSIM_C2)
    return torch.clamp((1 - numerator / denominator) / 2, 0, 1)


def reprojection_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Photometric error ``0.85 mean_c(ssim_error(pred, target)) + 0.15 mean_c|pred - target|``.

    Args:
        pred: (B, C, H, W) image warped from a source frame (or the unwarped source, for auto-masking).
        target: (B, C, H, W) target image.

    Returns:
        (B, 1, H, W) error, both terms averaged over channels.
    """
    ssim = ssim_error(pred, target).mean(1, keepdim=True)
    return SSIM_WEIGHT * ssim + (1 - SSIM_WEIGHT) * (pred - target).abs().mean(1, keepdim=True)


def _stack(name: str, losses: Sequence[torch.Tensor]) -> torch.Tensor:
    """A non-empty list of (B, 1, H, W) losses -> (B, N, H, W)."""
    if len(losses) == 0:
        raise ValueError(f"{name}: expected at least one (B, 1, H, W) loss, got an empty list")
    first = losses[0]
    for loss in losses:
        if loss.dim() != 4 or loss.shape[1] != 1 or loss.shape != first.shape:
            shapes = [tuple(x.shape) for x in losses]
            raise ValueError(f"{name}: expected (B, 1, H, W) losses of one shape, got {shapes}")
    return torch.cat(list(losses), 1)


def min_reprojection_loss(
    reprojection: Sequence[torch.Tensor],
    identity: Sequence[torch.Tensor] | None = None,
    automask: bool = True,
    average: bool = False,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel minimum reprojection over source frames, with Monodepth2's auto-masking.

    1. Combine the reprojection losses (warped sources vs target) per pixel: their minimum, or with
       ``average=True`` their mean (Monodepth2's ``--avg_reprojection``).
    2. With ``automask=True`` (auto-masking): the identity losses (unwarped sources vs target) get
       tie-break noise ``1e-5 * randn`` (drawn on their device, from ``generator`` if given) and are
       placed *before* the combined reprojection loss(es); the loss is the per-pixel minimum over all
       of them, and the mask is true where a reprojection loss won, i.e. beat every (noisy) identity
       loss. Pixels that do not change between frames (static camera, objects moving with it) are
       masked; where warped and unwarped sources agree exactly the noise masks about half of them.
       With ``automask=False`` the loss is the combination of step 1 and the mask is all true.

    The flags are independent, as in Monodepth2; the ablation baseline "averaged reprojection without
    masking" is ``average=True, automask=False`` (``--avg_reprojection --disable_automasking``).

    Args:
        reprojection: one (B, 1, H, W) :func:`reprojection_error` per source frame, warped to the target.
        identity: one (B, 1, H, W) :func:`reprojection_error` per unwarped source frame; needed when
            ``automask`` is set, ignored otherwise.
        automask: mask pixels where an unwarped source matches the target at least as well.
        average: the mean over source frames instead of the minimum.
        generator: random generator for the tie-break noise, on the losses' device.

    Returns:
        ``loss``: (B, 1, H, W) per-pixel loss (the minimum includes the identity losses where they won);
        ``mask``: (B, 1, H, W) bool, true where a warped source won.
    """
    losses = _stack("reprojection", reprojection)
    combined = losses.mean(1, keepdim=True) if average else losses.amin(1, keepdim=True)
    if not automask:
        return combined, torch.ones_like(combined, dtype=torch.bool)
    if identity is None:
        raise ValueError(
            "min_reprojection_loss: automask=True needs the identity losses; pass identity or automask=False"
        )
    unwarped = _stack("identity", identity)
    if unwarped.shape[0] != losses.shape[0] or unwarped.shape[2:] != losses.shape[2:]:
        raise ValueError(
            f"identity losses {tuple(unwarped.shape[2:])} (batch {unwarped.shape[0]}) do not match the "
            f"reprojection losses {tuple(losses.shape[2:])} (batch {losses.shape[0]})"
        )
    noise = torch.randn(unwarped.shape, generator=generator, device=unwarped.device, dtype=unwarped.dtype)
    loss, winner = torch.cat([unwarped + TIE_BREAK_STD * noise, combined], 1).min(1, keepdim=True)
    return loss, winner >= unwarped.shape[1]
