"""Monodepth2 (Godard et al., ICCV 2019): depth decoder, pose decoder and the depth network.

Parameter names follow the published checkpoints: the depth decoder registers its convolutions in
one ``ModuleList`` called ``decoder`` in the order upconv(4,0), upconv(4,1), upconv(3,0), ...,
upconv(0,1), dispconv(0..3), so keys read ``decoder.0.conv.conv.weight`` ... ``decoder.13.conv.bias``;
the pose decoder's are ``net.0`` (squeeze) .. ``net.3``.

Numerics: 3x3 convolutions after a 1-pixel reflection pad, ELU, nearest x2 upsampling, sigmoid
disparity heads at scales 0..3 (full, 1/2, 1/4, 1/8 resolution), and
``disp_to_depth(disp, 0.1, 100)``: ``depth = 1 / (1/100 + (1/0.1 - 1/100) disp)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from depth_ros.models.metadata import check_input_size
from depth_ros.models.resnet import ResnetEncoder

MIN_DEPTH = 0.1
MAX_DEPTH = 100.0
STEREO_SCALE_FACTOR = 5.4  # KITTI rig baseline 0.54 m over the nominal 0.1 used in training


def disp_to_depth(disp: torch.Tensor, min_depth: float = MIN_DEPTH, max_depth: float = MAX_DEPTH):
    """Sigmoid disparity (0, 1) -> (scaled disparity, depth) with depth in ``[min_depth, max_depth]``."""
    min_disp, max_disp = 1.0 / max_depth, 1.0 / min_depth
    scaled_disp = min_disp + (max_disp - min_disp) * disp
    return scaled_disp, 1.0 / scaled_disp


class Conv3x3(nn.Module):
    """Reflection pad by one pixel, then a 3x3 convolution with bias."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.pad = nn.ReflectionPad2d(1)
        self.conv = nn.Conv2d(in_channels, out_channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pad(x))


class ConvBlock(nn.Module):
    """:class:`Conv3x3` followed by ELU."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = Conv3x3(in_channels, out_channels)
        self.nonlin = nn.ELU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlin(self.conv(x))


class DepthDecoder(nn.Module):
    """U-Net decoder from five encoder features to sigmoid disparities at four scales.

    Args:
        num_ch_enc: channels of the five encoder features.
        width: channel multiplier of the decoder (1.0 = the published [16, 32, 64, 128, 256]).
    """

    def __init__(self, num_ch_enc: list[int], width: float = 1.0):
        super().__init__()
        self.num_ch_enc = list(num_ch_enc)
        self.num_ch_dec = [max(round(c * width), 4) for c in (16, 32, 64, 128, 256)]
        modules = []
        for i in range(4, -1, -1):
            in_channels = self.num_ch_enc[-1] if i == 4 else self.num_ch_dec[i + 1]
            modules.append(ConvBlock(in_channels, self.num_ch_dec[i]))  # upconv(i, 0)
            in_channels = self.num_ch_dec[i] + (self.num_ch_enc[i - 1] if i > 0 else 0)
            modules.append(ConvBlock(in_channels, self.num_ch_dec[i]))  # upconv(i, 1)
        modules += [Conv3x3(self.num_ch_dec[s], 1) for s in range(4)]  # dispconv(s)
        self.decoder = nn.ModuleList(modules)

    def forward(self, features: list[torch.Tensor], scales: tuple[int, ...] = (0, 1, 2, 3)) -> list[torch.Tensor]:
        """Five features -> sigmoid disparities, one (B, 1, H / 2^s, W / 2^s) per requested scale, in order."""
        disparities = {}
        x = features[-1]
        for i in range(4, -1, -1):
            x = self.decoder[2 * (4 - i)](x)
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            if i > 0:
                x = torch.cat([x, features[i - 1]], 1)
            x = self.decoder[2 * (4 - i) + 1](x)
            if i in scales:
                disparities[i] = torch.sigmoid(self.decoder[10 + i](x))
        return [disparities[s] for s in scales]


class PoseDecoder(nn.Module):
    """Relative pose from pose-encoder features: axis-angle and translation (scaled by 0.01).

    Args:
        num_ch_enc: channels of the pose encoder's features (the last one is used).
        num_input_features: feature sets concatenated (1 for the ``pairs`` input mode).
        num_frames_to_predict_for: poses predicted (the published ``pose.pth`` has 2; only the first is used).
    """

    def __init__(self, num_ch_enc: list[int], num_input_features: int = 1, num_frames_to_predict_for: int = 2):
        super().__init__()
        self.num_frames = num_frames_to_predict_for
        self.net = nn.ModuleList(
            [
                nn.Conv2d(num_ch_enc[-1], 256, 1),
                nn.Conv2d(256 * num_input_features, 256, 3, 1, 1),
                nn.Conv2d(256, 256, 3, 1, 1),
                nn.Conv2d(256, 6 * num_frames_to_predict_for, 1),
            ]
        )

    def forward(self, features: list[list[torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Feature lists of each input -> axis-angle and translation, each (B, frames, 1, 3)."""
        x = torch.cat([F.relu(self.net[0](f[-1])) for f in features], 1)
        x = F.relu(self.net[1](x))
        x = F.relu(self.net[2](x))
        x = 0.01 * self.net[3](x).mean(3).mean(2)
        x = x.view(-1, self.num_frames, 1, 6)
        return x[..., :3], x[..., 3:]


class Monodepth2(nn.Module):
    """Depth network: :class:`ResnetEncoder` (``encoder``) + :class:`DepthDecoder` (``depth``).

    Forward: (B, 3, H, W) RGB in [0, 1] (H, W multiples of 32) -> sigmoid disparities at the requested
    scales (see :meth:`DepthDecoder.forward`).
    """

    def __init__(self, num_layers: int = 18, width: float = 1.0, decoder_width: float = 1.0, with_fc: bool = True):
        super().__init__()
        self.encoder = ResnetEncoder(num_layers, 1, width, with_fc)
        self.depth = DepthDecoder(self.encoder.num_ch_enc, decoder_width)

    def forward(self, image: torch.Tensor, scales: tuple[int, ...] = (0, 1, 2, 3)) -> list[torch.Tensor]:
        if not torch.jit.is_tracing():  # sizes are fixed at export time
            check_input_size("monodepth2", image.shape[-2], image.shape[-1])
        return self.depth(self.encoder(image), scales)


class Monodepth2Pose(nn.Module):
    """Pose network for training: a two-image :class:`ResnetEncoder` and a :class:`PoseDecoder`."""

    def __init__(self, num_layers: int = 18, width: float = 1.0, with_fc: bool = True, frames: int = 2):
        super().__init__()
        self.encoder = ResnetEncoder(num_layers, 2, width, with_fc)
        self.decoder = PoseDecoder(self.encoder.num_ch_enc, 1, frames)

    def forward(self, image_a: torch.Tensor, image_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Two (B, 3, H, W) RGB images in temporal order -> axis-angle, translation (B, frames, 1, 3)."""
        return self.decoder([self.encoder(torch.cat([image_a, image_b], 1))])
