"""ResNet encoders with torchvision's parameter names, as Monodepth2 uses them.

``ResnetEncoder`` keeps the ResNet under the attribute ``encoder`` so its state-dict keys are
``encoder.conv1.weight``, ``encoder.layer1.0.conv1.weight``, ``encoder.layer2.0.downsample.0.weight``,
``encoder.fc.weight`` ... exactly as in Monodepth2's ``encoder.pth`` and ``pose_encoder.pth``.

Numerics (Monodepth2): the input is RGB in [0, 1] and is normalised *inside* the encoder as
``(x - 0.45) / 0.225``; the forward pass returns five feature maps at 1/2, 1/4, 1/8, 1/16 and 1/32 of
the input size. ``num_input_images > 1`` stacks images along channels (the pose encoder: 6 channels).
``width < 1`` narrows every layer (lite variants); ``with_fc=False`` drops the unused classifier.
"""

from __future__ import annotations

import torch
from torch import nn

_BLOCKS = {18: ("basic", [2, 2, 2, 2]), 34: ("basic", [3, 4, 6, 3]), 50: ("bottleneck", [3, 4, 6, 3])}
MONODEPTH2_MEAN = 0.45
MONODEPTH2_STD = 0.225


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(channels, channels * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class ResNet(nn.Module):
    """torchvision-layout ResNet (``conv1``, ``bn1``, ``layer1..4``, ``fc``) of any width."""

    def __init__(self, num_layers: int, in_channels: int = 3, width: float = 1.0, with_fc: bool = True):
        super().__init__()
        if num_layers not in _BLOCKS:
            raise ValueError(f"ResNet depth must be one of {sorted(_BLOCKS)}, got {num_layers}")
        kind, counts = _BLOCKS[num_layers]
        block = BasicBlock if kind == "basic" else Bottleneck
        widths = [max(round(c * width), 8) for c in (64, 128, 256, 512)]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        channels = widths[0]
        layers = []
        for index, (planes, count) in enumerate(zip(widths, counts, strict=True)):
            stride = 1 if index == 0 else 2
            downsample = None
            if stride != 1 or channels != planes * block.expansion:
                downsample = nn.Sequential(
                    nn.Conv2d(channels, planes * block.expansion, 1, stride, bias=False),
                    nn.BatchNorm2d(planes * block.expansion),
                )
            blocks = [block(channels, planes, stride, downsample)]
            channels = planes * block.expansion
            blocks += [block(channels, planes) for _ in range(count - 1)]
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        # torchvision's classifier: unused by depth, kept so that published checkpoints load strictly.
        self.fc = nn.Linear(channels, 1000) if with_fc else None
        self.num_ch_enc = [widths[0]] + [w * block.expansion for w in widths]
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")


class ResnetEncoder(nn.Module):
    """Monodepth2's depth or pose encoder.

    Args:
        num_layers: 18, 34 or 50.
        num_input_images: images stacked along channels (1 for depth, 2 for the pose encoder).
        width: channel multiplier (1.0 = the published network).
        with_fc: keep torchvision's unused ``fc`` layer (published checkpoints contain it).

    Forward: (B, 3 * num_input_images, H, W) RGB in [0, 1] -> five feature maps, the i-th of
    (B, num_ch_enc[i], H / 2^(i+1), W / 2^(i+1)).
    """

    def __init__(self, num_layers: int = 18, num_input_images: int = 1, width: float = 1.0, with_fc: bool = True):
        super().__init__()
        self.encoder = ResNet(num_layers, 3 * num_input_images, width, with_fc)
        self.num_ch_enc = self.encoder.num_ch_enc

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        e = self.encoder
        x = (image - MONODEPTH2_MEAN) / MONODEPTH2_STD
        first = e.relu(e.bn1(e.conv1(x)))
        features = [first]
        x = e.maxpool(first)
        for layer in (e.layer1, e.layer2, e.layer3, e.layer4):
            x = layer(x)
            features.append(x)
        return features
