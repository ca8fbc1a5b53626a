"""Edge-aware first-order smoothness of disparity (Monodepth2).

Gradients are forward differences between horizontal and vertical neighbours. Disparity is divided by
its per-image mean first, so the penalty does not shrink by shrinking the whole disparity map.
"""

from __future__ import annotations

import torch

MEAN_EPS = 1e-7


def edge_aware_smoothness(disp: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Smoothness penalty ``mean|dx d*| exp(-mean_c|dx I|) + mean|dy d*| exp(-mean_c|dy I|)``.

    ``d* = disp / (mean_{H,W}(disp) + 1e-7)`` per image; ``dx``, ``dy`` are forward differences, each
    averaged over its (B, 1, H, W-1) or (B, 1, H-1, W) pairs. Image edges (large ``|dI|``) lower the
    weight, so disparity may jump where the image does.

    Monodepth2 weights the scale-``s`` term by ``1e-3 / 2^s``, with ``disp`` the decoder's output at scale
    ``s`` and ``image`` the target image resized to it; that weighting is the caller's.

    Args:
        disp: (B, 1, H, W) disparity (any positive units: it is mean-normalised).
        image: (B, C, H, W) image of the same H, W, values in [0, 1].

    Returns:
        Scalar loss; 0 for a constant disparity.
    """
    if disp.dim() != 4 or disp.shape[1] != 1:
        raise ValueError(f"disp: expected (B, 1, H, W), got {tuple(disp.shape)}")
    if image.dim() != 4 or image.shape[0] != disp.shape[0] or image.shape[2:] != disp.shape[2:]:
        raise ValueError(
            f"image: expected (B, C, H, W) with B, H, W of disp {tuple(disp.shape)}, got {tuple(image.shape)}; "
            "resize the image to the disparity's scale"
        )
    norm = disp / (disp.mean((2, 3), keepdim=True) + MEAN_EPS)
    disp_dx = (norm[..., :, 1:] - norm[..., :, :-1]).abs()
    disp_dy = (norm[..., 1:, :] - norm[..., :-1, :]).abs()
    image_dx = (image[..., :, 1:] - image[..., :, :-1]).abs().mean(1, keepdim=True)
    image_dy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean(1, keepdim=True)
    return (disp_dx * torch.exp(-image_dx)).mean() + (disp_dy * torch.exp(-image_dy)).mean()
