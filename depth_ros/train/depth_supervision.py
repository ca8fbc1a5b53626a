"""Ground-truth depth terms for Monodepth2 training (``depth_loss`` in the training config).

Where the data has depth (the synthetic generator, TUM RGB-D, a bag with a depth topic), the
self-supervised photometric loss can be joined by a supervised term on each scale's depth (upsampled
to full resolution, as the photometric loss uses it). The relative-depth losses of the scale-invariant
family suit a monocular network, whose scale the photometric loss leaves free:

* ``eigen``: Eigen et al.'s scale-invariant log loss, lambda 0.5;
* ``megadepth``: MegaDepth's scale-invariant data term + gradient matching (no ordinal pairs here);
* ``midas``: MiDaS's scale-and-shift-invariant loss on disparity (``1 / depth``), with gradient matching;

and two metric ones for data whose scale the network should learn: ``huber`` and ``berhu`` (metres).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from depth_ros.losses import (
    berhu_loss,
    eigen_scale_invariant_loss,
    huber_loss,
    megadepth_loss,
    scale_shift_invariant_loss,
)
from depth_ros.train.config import ConfigError

DepthLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""(predicted depth (B, 1, H, W) metres, positive; ground truth (B, 1, H, W), NaN or <= 0 where unknown) -> scalar."""


def _midas(depth: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    return scale_shift_invariant_loss(1.0 / depth, gt, space="disparity")


DEPTH_LOSSES: dict[str, DepthLoss] = {
    "eigen": eigen_scale_invariant_loss,
    "megadepth": megadepth_loss,
    "midas": _midas,
    "huber": huber_loss,
    "berhu": berhu_loss,
}


def depth_loss(name: str) -> DepthLoss | None:
    """The loss called ``name``, or None for ``"none"`` (self-supervised only).

    Raises:
        ConfigError: an unknown name (the message lists the valid ones).
    """
    if name == "none":
        return None
    if name not in DEPTH_LOSSES:
        raise ConfigError(f"depth_loss must be none or one of {', '.join(DEPTH_LOSSES)}, got {name!r}")
    return DEPTH_LOSSES[name]
