"""Training losses: differentiable torch on any device, each with its formula in its docstring.

* :mod:`~depth_ros.losses.photometric`: Monodepth2's SSIM + L1 reprojection error, per-pixel minimum
  over source frames, auto-masking.
* :mod:`~depth_ros.losses.smoothness`: edge-aware smoothness of mean-normalised disparity.
* :mod:`~depth_ros.losses.scale_invariant`: Eigen et al.'s scale-invariant log loss, MegaDepth's
  data + gradient-matching + ordinal loss, MiDaS's scale-and-shift-invariant loss.
* :mod:`~depth_ros.losses.supervised`: MVDepthNet's multi-scale L1 on inverse depth, Huber, BerHu.

Conventions: depth maps are (B, 1, H, W) in metres, images (B, C, H, W) in [0, 1]. Ground truth is
missing where it is not finite or not positive, and an optional bool ``mask`` of the same shape
restricts it further. Losses defined per image (the scale-invariant family) average over the images
that have valid pixels; per-pixel losses (L1, Huber, BerHu) average over all valid pixels of the batch.
Without any valid pixel a loss is 0 and its gradients are zeros, never NaN.
"""

from depth_ros.losses.photometric import min_reprojection_loss, reprojection_error, ssim_error
from depth_ros.losses.scale_invariant import (
    OrdinalPairs,
    align_scale_shift,
    eigen_scale_invariant_loss,
    gradient_matching_loss,
    megadepth_loss,
    ordinal_loss,
    ordinal_penalty,
    scale_shift_invariant_loss,
)
from depth_ros.losses.smoothness import edge_aware_smoothness
from depth_ros.losses.supervised import berhu_loss, huber_loss, mvdepthnet_loss

__all__ = [
    "OrdinalPairs",
    "align_scale_shift",
    "berhu_loss",
    "edge_aware_smoothness",
    "eigen_scale_invariant_loss",
    "gradient_matching_loss",
    "huber_loss",
    "megadepth_loss",
    "min_reprojection_loss",
    "mvdepthnet_loss",
    "ordinal_loss",
    "ordinal_penalty",
    "reprojection_error",
    "scale_shift_invariant_loss",
    "ssim_error",
]
