"""Depth networks (depth_ros.models): published layouts, numerics and MVDepthNet's cost volume.

Pins down, against the published descriptions (/work/shared/reference/models.md sections 1.1-1.4,
2.1-2.3), never against the package itself:

* parameter counts (Monodepth2 ResNet-18 depth net 14,842,236; MVDepthNet 33,898,500; torchvision's
  ResNet-18/34/50 11,689,512 / 21,797,672 / 25,557,032) and the full state-dict key layouts and shapes
  that published weight files use (generated here from torchvision's naming rules and the tables in
  models.md), so that published files load strictly;
* Monodepth2's numerics: ``(x - 0.45) / 0.225`` inside the encoder, reflection-padded 3x3 convolutions,
  ELU, nearest upsampling, sigmoid disparities at four scales, ``disp_to_depth(0.1, 100)``, the pose
  decoder's ``0.01`` scaling; checked against a functional forward pass written here from the
  description (and shown to differ from it when one ingredient is swapped);
* MVDepthNet's numerics: a functional forward pass (bilinear ``align_corners=True`` upsampling, nearest
  disparity upsampling, ``2 sigmoid`` heads), 64 planes uniform in inverse depth 0.02..2.0, ``(x - 81) / 35``,
  input sizes multiples of 32;
* the vectorised cost volume equals the per-plane loop in ``mvdepthnet_reference.py``; frame averaging;
  MVDepthNet's grid convention; the true plane of a synthetic scene wins; dtype and device generality.

Full-size networks are built on the ``meta`` device (shapes only) except where a forward pass runs;
forward passes use narrow variants and small images, so the file stays fast.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from mvdepthnet_reference import cost_volume_per_plane
from torch import nn

from depth_ros.models.monodepth2 import (
    DepthDecoder,
    Monodepth2,
    Monodepth2Pose,
    PoseDecoder,
    disp_to_depth,
)
from depth_ros.models.mvdepthnet import (
    MVDepthNet,
    cost_volume,
    inverse_depth_planes,
    normalize_image,
)
from depth_ros.models.resnet import ResnetEncoder

Shapes = dict[str, tuple[int, ...]]

# --------------------------------------------------------------------------------------------------
# Expected layouts, written from torchvision's naming rules and the tables of models.md.
# --------------------------------------------------------------------------------------------------


def _bn(prefix: str, channels: int) -> Shapes:
    """torch BatchNorm2d keys (with the counter PyTorch >= 0.4.1 saves)."""
    return {
        f"{prefix}.weight": (channels,),
        f"{prefix}.bias": (channels,),
        f"{prefix}.running_mean": (channels,),
        f"{prefix}.running_var": (channels,),
        f"{prefix}.num_batches_tracked": (),
    }


def _torchvision_resnet(depth: int, in_channels: int = 3, prefix: str = "encoder.") -> Shapes:
    """Keys and shapes of torchvision's ``resnet{depth}()`` (fc included) under ``prefix``.

    Rules: ``conv1`` 7x7 + ``bn1``; ``layer1..4`` of BasicBlocks (conv1 3x3, bn1, conv2 3x3, bn2) for
    18/34 or Bottlenecks (conv1 1x1, bn1, conv2 3x3, bn2, conv3 1x1 to 4x planes, bn3) for 50; block 0
    of a layer has ``downsample.0`` (1x1 conv) + ``downsample.1`` (BN) when the stride or the channel
    count changes; ``fc`` 1000 classes.
    """
    blocks = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3]}[depth]
    bottleneck = depth >= 50
    expansion = 4 if bottleneck else 1
    keys: Shapes = {"conv1.weight": (64, in_channels, 7, 7), **_bn("bn1", 64)}
    inplanes = 64
    for layer, (planes, count) in enumerate(zip((64, 128, 256, 512), blocks, strict=True), start=1):
        for block in range(count):
            p = f"layer{layer}.{block}"
            if bottleneck:
                keys[f"{p}.conv1.weight"] = (planes, inplanes, 1, 1)
                keys.update(_bn(f"{p}.bn1", planes))
                keys[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
                keys.update(_bn(f"{p}.bn2", planes))
                keys[f"{p}.conv3.weight"] = (planes * 4, planes, 1, 1)
                keys.update(_bn(f"{p}.bn3", planes * 4))
            else:
                keys[f"{p}.conv1.weight"] = (planes, inplanes, 3, 3)
                keys.update(_bn(f"{p}.bn1", planes))
                keys[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
                keys.update(_bn(f"{p}.bn2", planes))
            stride = 2 if (block == 0 and layer > 1) else 1
            if block == 0 and (stride != 1 or inplanes != planes * expansion):
                keys[f"{p}.downsample.0.weight"] = (planes * expansion, inplanes, 1, 1)
                keys.update(_bn(f"{p}.downsample.1", planes * expansion))
            inplanes = planes * expansion
    keys["fc.weight"] = (1000, 512 * expansion)
    keys["fc.bias"] = (1000,)
    return {prefix + k: v for k, v in keys.items()}


# models.md 1.2: (index, module, in -> out) for the ResNet-18 depth decoder, transcribed from the table.
RESNET18_DECODER_TABLE = [
    (0, "upconv(4,0)", 512, 256),
    (1, "upconv(4,1)", 256 + 256, 256),
    (2, "upconv(3,0)", 256, 128),
    (3, "upconv(3,1)", 128 + 128, 128),
    (4, "upconv(2,0)", 128, 64),
    (5, "upconv(2,1)", 64 + 64, 64),
    (6, "upconv(1,0)", 64, 32),
    (7, "upconv(1,1)", 32 + 64, 32),
    (8, "upconv(0,0)", 32, 16),
    (9, "upconv(0,1)", 16, 16),
    (10, "dispconv(0)", 16, 1),
    (11, "dispconv(1)", 32, 1),
    (12, "dispconv(2)", 64, 1),
    (13, "dispconv(3)", 128, 1),
]


def _decoder_table(num_ch_enc: list[int]) -> list[tuple[int, int, int]]:
    """(index, in, out) of the depth decoder for any encoder, from the loop in models.md 1.2."""
    dec = [16, 32, 64, 128, 256]
    rows = []
    for i in range(4, -1, -1):
        rows.append((2 * (4 - i), num_ch_enc[-1] if i == 4 else dec[i + 1], dec[i]))
        rows.append((2 * (4 - i) + 1, dec[i] + (num_ch_enc[i - 1] if i > 0 else 0), dec[i]))
    rows += [(10 + s, dec[s], 1) for s in range(4)]
    return rows


def _depth_decoder_keys(table: list[tuple[int, int, int]]) -> Shapes:
    """ConvBlocks (0..9) are ``decoder.i.conv.conv.*``; the disparity Conv3x3s (10..13) ``decoder.i.conv.*``."""
    keys: Shapes = {}
    for index, cin, cout in table:
        stem = f"decoder.{index}.conv.conv" if index < 10 else f"decoder.{index}.conv"
        keys[f"{stem}.weight"] = (cout, cin, 3, 3)
        keys[f"{stem}.bias"] = (cout,)
    return keys


POSE_DECODER_KEYS: Shapes = {  # models.md 1.4, ResNet-18 pose encoder, pairs, 2 frames
    "net.0.weight": (256, 512, 1, 1),  # squeeze
    "net.0.bias": (256,),
    "net.1.weight": (256, 256, 3, 3),  # pose0
    "net.1.bias": (256,),
    "net.2.weight": (256, 256, 3, 3),  # pose1
    "net.2.bias": (256,),
    "net.3.weight": (12, 256, 1, 1),  # pose2: 6 x 2 frames
    "net.3.bias": (12,),
}

# models.md 2.1: (module, kind, in, out, kernel) of MVDepthNet, transcribed from the table.
MVDEPTHNET_TABLE = [
    ("conv1", "down", 67, 128, 7),
    ("conv2", "down", 128, 256, 5),
    ("conv3", "down", 256, 512, 3),
    ("conv4", "down", 512, 512, 3),
    ("conv5", "down", 512, 512, 3),
    ("upconv5", "up", 512, 512, 3),
    ("iconv5", "conv", 1024, 512, 3),
    ("upconv4", "up", 512, 512, 3),
    ("iconv4", "conv", 1024, 512, 3),
    ("disp4", "depth", 512, 1, 3),
    ("upconv3", "up", 512, 256, 3),
    ("iconv3", "conv", 513, 256, 3),
    ("disp3", "depth", 256, 1, 3),
    ("upconv2", "up", 256, 128, 3),
    ("iconv2", "conv", 257, 128, 3),
    ("disp2", "depth", 128, 1, 3),
    ("upconv1", "up", 128, 64, 3),
    ("iconv1", "conv", 65, 64, 3),
    ("disp1", "depth", 64, 1, 3),
]


def _mvdepthnet_keys() -> Shapes:
    """down = [conv, BN, ReLU, conv/2, BN, ReLU]; up = [Upsample, conv, BN, ReLU]; conv = [conv, BN, ReLU];
    depth = [conv with bias, Sigmoid]; all other convolutions without bias."""
    keys: Shapes = {}
    for name, kind, cin, cout, k in MVDEPTHNET_TABLE:
        if kind == "down":
            keys[f"{name}.0.weight"] = (cout, cin, k, k)
            keys.update(_bn(f"{name}.1", cout))
            keys[f"{name}.3.weight"] = (cout, cout, k, k)
            keys.update(_bn(f"{name}.4", cout))
        elif kind == "up":
            keys[f"{name}.1.weight"] = (cout, cin, k, k)
            keys.update(_bn(f"{name}.2", cout))
        elif kind == "conv":
            keys[f"{name}.0.weight"] = (cout, cin, k, k)
            keys.update(_bn(f"{name}.1", cout))
        else:
            keys[f"{name}.0.weight"] = (1, cin, k, k)
            keys[f"{name}.0.bias"] = (1,)
    return keys


def _shapes(module: nn.Module) -> Shapes:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def _on_meta(build: Callable[[], nn.Module]) -> nn.Module:
    """Build a full-size network without allocating or initialising its weights."""
    with torch.device("meta"):
        return build()


def _parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _assert_layout(actual: Shapes, expected: Shapes) -> None:
    missing = sorted(set(expected) - set(actual))
    unexpected = sorted(set(actual) - set(expected))
    assert not missing and not unexpected, f"missing {missing[:8]}, unexpected {unexpected[:8]}"
    wrong = {k: (actual[k], expected[k]) for k in expected if actual[k] != expected[k]}
    assert not wrong, f"wrong shapes (actual, expected): {wrong}"


# --------------------------------------------------------------------------------------------------
# Parameter counts and key layouts
# --------------------------------------------------------------------------------------------------


def test_monodepth2_resnet18_depth_network_has_the_published_parameter_count():
    model = _on_meta(lambda: Monodepth2(18))
    assert _parameter_count(model) == 14_842_236
    assert _parameter_count(model.encoder) == 11_689_512  # torchvision resnet18, fc included


@pytest.mark.parametrize(("depth", "count"), [(18, 11_689_512), (34, 21_797_672), (50, 25_557_032)])
def test_resnet_encoders_have_torchvision_parameter_counts(depth: int, count: int):
    assert _parameter_count(_on_meta(lambda: ResnetEncoder(depth))) == count


def test_mvdepthnet_has_the_published_parameter_count():
    assert _parameter_count(_on_meta(MVDepthNet)) == 33_898_500


@pytest.mark.parametrize("depth", [18, 34, 50])
def test_resnet_encoder_keys_are_torchvision_names_under_encoder(depth: int):
    _assert_layout(_shapes(_on_meta(lambda: ResnetEncoder(depth))), _torchvision_resnet(depth))


def test_resnet18_encoder_layout_spot_checks():
    """A few keys written out literally, as third-party loaders and published encoder.pth files have them."""
    shapes = _shapes(_on_meta(lambda: ResnetEncoder(18)))
    assert shapes["encoder.conv1.weight"] == (64, 3, 7, 7)
    assert shapes["encoder.bn1.num_batches_tracked"] == ()
    assert shapes["encoder.layer1.1.conv2.weight"] == (64, 64, 3, 3)
    assert "encoder.layer1.0.downsample.0.weight" not in shapes  # 64 -> 64, stride 1: no projection
    assert shapes["encoder.layer2.0.downsample.0.weight"] == (128, 64, 1, 1)
    assert shapes["encoder.layer4.1.bn2.running_var"] == (512,)
    assert shapes["encoder.fc.weight"] == (1000, 512)
    assert shapes["encoder.fc.bias"] == (1000,)
    assert len(shapes) == 122  # 62 parameters + 60 BN buffers (20 BNs x running_mean/var/counter)


@pytest.mark.parametrize("depth", [18, 34, 50])
def test_resnet_encoder_channels(depth: int):
    expected = [64, 256, 512, 1024, 2048] if depth == 50 else [64, 64, 128, 256, 512]
    assert _on_meta(lambda: ResnetEncoder(depth)).num_ch_enc == expected


@pytest.mark.parametrize("depth", [34, 50])
def test_resnet34_and_50_encoders_build_and_run(depth: int):
    """Real weights, a real forward: five features of num_ch_enc channels at 1/2 .. 1/32."""
    encoder = ResnetEncoder(depth).eval()
    with torch.no_grad():
        features = encoder(torch.rand(1, 3, 64, 96))
    assert [tuple(f.shape) for f in features] == [
        (1, c, 64 // 2**s, 96 // 2**s) for s, c in enumerate(encoder.num_ch_enc, start=1)
    ]


def test_resnet18_depth_decoder_keys_follow_the_published_table():
    decoder = _on_meta(lambda: DepthDecoder([64, 64, 128, 256, 512]))
    table = [(index, cin, cout) for index, _, cin, cout in RESNET18_DECODER_TABLE]
    _assert_layout(_shapes(decoder), _depth_decoder_keys(table))
    assert _parameter_count(decoder) == 14_842_236 - 11_689_512


def test_resnet18_depth_decoder_spot_checks():
    shapes = _shapes(_on_meta(lambda: DepthDecoder([64, 64, 128, 256, 512])))
    assert shapes["decoder.0.conv.conv.weight"] == (256, 512, 3, 3)
    assert shapes["decoder.7.conv.conv.weight"] == (32, 96, 3, 3)  # 32 + skip of 64
    assert shapes["decoder.9.conv.conv.weight"] == (16, 16, 3, 3)  # scale 0: no skip
    assert shapes["decoder.10.conv.weight"] == (1, 16, 3, 3)
    assert shapes["decoder.13.conv.bias"] == (1,)
    assert "decoder.10.conv.conv.weight" not in shapes
    assert len(shapes) == 28


def test_resnet50_depth_decoder_keys():
    decoder = _on_meta(lambda: DepthDecoder([64, 256, 512, 1024, 2048]))
    _assert_layout(_shapes(decoder), _depth_decoder_keys(_decoder_table([64, 256, 512, 1024, 2048])))


def test_monodepth2_depth_network_is_encoder_plus_depth_decoder():
    """Monodepth2 keeps the two published files' state dicts under ``encoder.`` and ``depth.``."""
    expected = {f"encoder.{k}": v for k, v in _torchvision_resnet(18).items()}
    table = [(index, cin, cout) for index, _, cin, cout in RESNET18_DECODER_TABLE]
    expected.update({f"depth.{k}": v for k, v in _depth_decoder_keys(table).items()})
    _assert_layout(_shapes(_on_meta(lambda: Monodepth2(18))), expected)


def test_pose_encoder_has_a_six_channel_conv1_and_otherwise_resnet18_keys():
    _assert_layout(_shapes(_on_meta(lambda: ResnetEncoder(18, num_input_images=2))), _torchvision_resnet(18, 6))


def test_pose_decoder_keys():
    _assert_layout(_shapes(_on_meta(lambda: PoseDecoder([64, 64, 128, 256, 512], 1, 2))), POSE_DECODER_KEYS)


def test_pose_network_is_pose_encoder_plus_pose_decoder():
    expected = {f"encoder.{k}": v for k, v in _torchvision_resnet(18, 6).items()}
    expected.update({f"decoder.{k}": v for k, v in POSE_DECODER_KEYS.items()})
    _assert_layout(_shapes(_on_meta(lambda: Monodepth2Pose(18))), expected)


def test_mvdepthnet_keys_follow_the_published_table():
    _assert_layout(_shapes(_on_meta(MVDepthNet)), _mvdepthnet_keys())


def test_mvdepthnet_layout_spot_checks():
    shapes = _shapes(_on_meta(MVDepthNet))
    assert shapes["conv1.0.weight"] == (128, 67, 7, 7)
    assert shapes["conv1.3.weight"] == (128, 128, 7, 7)
    assert shapes["conv1.4.running_mean"] == (128,)
    assert shapes["upconv5.1.weight"] == (512, 512, 3, 3)
    assert shapes["iconv5.0.weight"] == (512, 1024, 3, 3)
    assert shapes["iconv3.0.weight"] == (256, 513, 3, 3)
    assert shapes["iconv2.0.weight"] == (128, 257, 3, 3)
    assert shapes["iconv1.0.weight"] == (64, 65, 3, 3)
    assert shapes["disp4.0.weight"] == (1, 512, 3, 3)
    assert shapes["disp4.0.bias"] == (1,)
    assert "conv1.0.bias" not in shapes  # all convolutions but the depth heads are bias-free
    assert "upconv5.0.weight" not in shapes  # index 0 is the parameter-free Upsample


# --------------------------------------------------------------------------------------------------
# Functional reference forward passes (written from models.md, reading weights by published key)
# --------------------------------------------------------------------------------------------------


def _randomise_batchnorm(model: nn.Module, seed: int) -> nn.Module:
    """Non-trivial BN statistics and affine parameters, so that eval-mode BN is not the identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
    return model.eval()


def _sub(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries of ``state`` under ``prefix``, with the prefix removed."""
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def _bn_eval(x: torch.Tensor, s: dict[str, torch.Tensor], p: str) -> torch.Tensor:
    return F.batch_norm(
        x, s[f"{p}.running_mean"], s[f"{p}.running_var"], s[f"{p}.weight"], s[f"{p}.bias"], False, 0.0, 1e-5
    )


def _reference_resnet(s: dict[str, torch.Tensor], x: torch.Tensor, p: str = "encoder.") -> list[torch.Tensor]:
    """Monodepth2's ResnetEncoder.forward on torchvision-named weights (BasicBlocks)."""
    x = (x - 0.45) / 0.225
    x = F.relu(_bn_eval(F.conv2d(x, s[f"{p}conv1.weight"], stride=2, padding=3), s, f"{p}bn1"))
    features = [x]
    x = F.max_pool2d(x, 3, 2, 1)
    for layer in range(1, 5):
        blocks = sorted({int(k.split(".")[2]) for k in s if k.startswith(f"{p}layer{layer}.")})
        for block in blocks:
            b = f"{p}layer{layer}.{block}"
            stride = 2 if (layer > 1 and block == 0) else 1
            out = F.relu(_bn_eval(F.conv2d(x, s[f"{b}.conv1.weight"], stride=stride, padding=1), s, f"{b}.bn1"))
            out = _bn_eval(F.conv2d(out, s[f"{b}.conv2.weight"], padding=1), s, f"{b}.bn2")
            if f"{b}.downsample.0.weight" in s:
                x = _bn_eval(F.conv2d(x, s[f"{b}.downsample.0.weight"], stride=stride), s, f"{b}.downsample.1")
            x = F.relu(out + x)
        features.append(x)
    return features


def _reference_depth_decoder(
    s: dict[str, torch.Tensor],
    features: list[torch.Tensor],
    p: str = "decoder.",
    pad: str = "reflect",
    activation: Callable[[torch.Tensor], torch.Tensor] = F.elu,
    upsample: str = "nearest",
) -> list[torch.Tensor]:
    """Monodepth2's DepthDecoder.forward (models.md 1.2); the keyword arguments swap one ingredient."""

    def conv3x3(x: torch.Tensor, stem: str) -> torch.Tensor:
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode=pad), s[f"{stem}.weight"], s[f"{stem}.bias"])

    disparities = {}
    x = features[-1]
    for i in range(4, -1, -1):
        x = activation(conv3x3(x, f"{p}{2 * (4 - i)}.conv.conv"))
        x = F.interpolate(x, scale_factor=2.0, mode=upsample)
        if i > 0:
            x = torch.cat([x, features[i - 1]], 1)
        x = activation(conv3x3(x, f"{p}{2 * (4 - i) + 1}.conv.conv"))
        if i < 4:  # disparity heads at scales 0..3
            disparities[i] = torch.sigmoid(conv3x3(x, f"{p}{10 + i}.conv"))
    return [disparities[i] for i in range(4)]


@pytest.fixture(scope="module")
def lite_monodepth2() -> Monodepth2:
    torch.manual_seed(0)
    return _randomise_batchnorm(Monodepth2(18, width=0.25, decoder_width=0.5, with_fc=False), 1)


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    return torch.rand(2, 3, 64, 96, generator=torch.Generator().manual_seed(2))


def test_monodepth2_matches_a_functional_forward_written_from_the_description(lite_monodepth2, image):
    state = lite_monodepth2.state_dict()
    with torch.no_grad():
        actual = lite_monodepth2(image)
        features = _reference_resnet(_sub(state, "encoder."), image)
        expected = _reference_depth_decoder(_sub(state, "depth."), features)
    assert len(actual) == 4
    for a, e in zip(actual, expected, strict=True):
        torch.testing.assert_close(a, e, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "swap",
    [
        {"pad": "constant"},  # zero padding instead of reflection
        {"activation": F.relu},  # ReLU instead of ELU
        {"upsample": "bilinear"},  # bilinear instead of nearest
    ],
    ids=["zero-padding", "relu", "bilinear"],
)
def test_monodepth2_decoder_ingredients_matter(lite_monodepth2, image, swap):
    """The reference above is not vacuous: swapping reflection padding, ELU or nearest upsampling changes it."""
    state = _sub(lite_monodepth2.state_dict(), "depth.")
    with torch.no_grad():
        features = lite_monodepth2.encoder(image)
        actual = lite_monodepth2.depth(features)
        swapped = _reference_depth_decoder(state, features, **swap)
    assert not torch.allclose(actual[0], swapped[0], atol=1e-4)


def test_monodepth2_normalises_inside_the_encoder(lite_monodepth2):
    """0.45 everywhere is the network's zero input; 0.45 + 0.225 its one (the encoder computes (x - 0.45) / 0.225)."""
    encoder = lite_monodepth2.encoder
    e = encoder.encoder

    def without_normalisation(x: torch.Tensor) -> list[torch.Tensor]:
        x = e.relu(e.bn1(e.conv1(x)))
        features = [x]
        x = e.maxpool(x)
        for layer in (e.layer1, e.layer2, e.layer3, e.layer4):
            x = layer(x)
            features.append(x)
        return features

    with torch.no_grad():
        for value, normalised in ((0.45, 0.0), (0.45 + 0.225, 1.0), (0.0, -2.0)):
            actual = encoder(torch.full((1, 3, 64, 64), value))
            expected = without_normalisation(torch.full((1, 3, 64, 64), normalised))
            for a, b in zip(actual, expected, strict=True):
                torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
        # and it is not the identity: feeding the raw values differs
        raw = without_normalisation(torch.full((1, 3, 64, 64), 0.45))
        assert not torch.allclose(encoder(torch.full((1, 3, 64, 64), 0.45))[0], raw[0], atol=1e-3)


def test_monodepth2_disparities_are_sigmoids_at_four_scales(lite_monodepth2, image):
    with torch.no_grad():
        disparities = lite_monodepth2(image)
    assert [tuple(d.shape) for d in disparities] == [(2, 1, 64 // 2**s, 96 // 2**s) for s in range(4)]
    for d in disparities:
        assert d.min() > 0 and d.max() < 1


def test_monodepth2_scale_selection_returns_only_the_requested_heads(lite_monodepth2, image):
    with torch.no_grad():
        everything = lite_monodepth2(image)
        (full,) = lite_monodepth2(image, scales=(0,))
        quarter, half = lite_monodepth2(image, scales=(2, 1))
    torch.testing.assert_close(full, everything[0])
    torch.testing.assert_close(quarter, everything[2])
    torch.testing.assert_close(half, everything[1])


@pytest.mark.parametrize("size", [(63, 64), (64, 95), (48, 64)], ids=["63x64", "64x95", "48x64"])
def test_monodepth2_refuses_input_sizes_that_are_not_multiples_of_32(lite_monodepth2, size):
    """The network promises H, W multiples of 32. Some other sizes fail deep inside with a size mismatch
    (48: 48 -> ... -> 3 -> 2 -> 4 != 3), but 32k - 1 silently returns a disparity one pixel larger than
    the image (63 -> 32 -> ... -> 64): both must be refused up front."""
    with torch.no_grad(), pytest.raises((ValueError, RuntimeError)):
        disparities = lite_monodepth2(torch.rand(1, 3, *size))
        assert tuple(disparities[0].shape[-2:]) == size, f"{size} input gave {tuple(disparities[0].shape)}"


def test_disp_to_depth_maps_the_sigmoid_range_onto_0_1_to_100_metres():
    disp = torch.tensor([0.0, 1e-3, 0.1, 0.5, 0.9, 1.0], dtype=torch.float64)
    scaled, depth = disp_to_depth(disp, 0.1, 100.0)
    assert depth[0].item() == pytest.approx(100.0)
    assert depth[-1].item() == pytest.approx(0.1)
    assert torch.all(depth[1:] < depth[:-1])  # monotone: more disparity, nearer
    torch.testing.assert_close(scaled * depth, torch.ones_like(depth))
    # the published formula: 1 / (1/100 + (1/0.1 - 1/100) disp)
    torch.testing.assert_close(depth, 1.0 / (0.01 + (10.0 - 0.01) * disp))
    # default range is (0.1, 100)
    torch.testing.assert_close(disp_to_depth(disp)[1], depth)


def _reference_pose_decoder(s: dict[str, torch.Tensor], last: torch.Tensor, frames: int):
    x = F.relu(F.conv2d(last, s["net.0.weight"], s["net.0.bias"]))
    x = F.relu(F.conv2d(x, s["net.1.weight"], s["net.1.bias"], padding=1))
    x = F.relu(F.conv2d(x, s["net.2.weight"], s["net.2.bias"], padding=1))
    x = F.conv2d(x, s["net.3.weight"], s["net.3.bias"]).mean(3).mean(2)
    x = 0.01 * x.view(-1, frames, 1, 6)
    return x[..., :3], x[..., 3:]


def test_pose_network_matches_the_published_pose_decoder():
    torch.manual_seed(3)
    model = _randomise_batchnorm(Monodepth2Pose(18, width=0.25, with_fc=False), 4)
    a, b = torch.rand(2, 2, 3, 64, 96, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        axisangle, translation = model(a, b)
        state = model.state_dict()
        features = _reference_resnet(_sub(state, "encoder."), torch.cat([a, b], 1))
        expected = _reference_pose_decoder(_sub(state, "decoder."), features[-1], 2)
    assert tuple(axisangle.shape) == (2, 2, 1, 3) and tuple(translation.shape) == (2, 2, 1, 3)
    torch.testing.assert_close(axisangle, expected[0], atol=1e-6, rtol=1e-4)
    torch.testing.assert_close(translation, expected[1], atol=1e-6, rtol=1e-4)
    # input order matters (pairs are fed in temporal order)
    assert not torch.allclose(model(b, a)[1], translation)


# --------------------------------------------------------------------------------------------------
# MVDepthNet network
# --------------------------------------------------------------------------------------------------


def _reference_mvdepthnet(
    s: dict[str, torch.Tensor],
    reference: torch.Tensor,
    volume: torch.Tensor,
    align_corners: bool = True,
    disparity_upsample: str = "nearest",
    head_scale: float = 2.0,
) -> list[torch.Tensor]:
    """``depthNet.forward`` of models.md 2.1 on published key names; the keywords swap one ingredient."""

    def down(x, n):
        k = s[f"{n}.0.weight"].shape[-1]
        x = F.relu(_bn_eval(F.conv2d(x, s[f"{n}.0.weight"], padding=(k - 1) // 2), s, f"{n}.1"))
        return F.relu(_bn_eval(F.conv2d(x, s[f"{n}.3.weight"], stride=2, padding=(k - 1) // 2), s, f"{n}.4"))

    def up(x, n):
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=align_corners)
        return F.relu(_bn_eval(F.conv2d(x, s[f"{n}.1.weight"], padding=1), s, f"{n}.2"))

    def conv(x, n):
        return F.relu(_bn_eval(F.conv2d(x, s[f"{n}.0.weight"], padding=1), s, f"{n}.1"))

    def head(x, n):
        return head_scale * torch.sigmoid(F.conv2d(x, s[f"{n}.0.weight"], s[f"{n}.0.bias"], padding=1))

    def udisp(x):
        if disparity_upsample == "nearest":
            return F.interpolate(x, scale_factor=2.0, mode="nearest")
        return F.interpolate(x, scale_factor=2.0, mode=disparity_upsample, align_corners=True)

    conv1 = down(torch.cat([reference, volume], 1), "conv1")
    conv2 = down(conv1, "conv2")
    conv3 = down(conv2, "conv3")
    conv4 = down(conv3, "conv4")
    conv5 = down(conv4, "conv5")
    iconv5 = conv(torch.cat([up(conv5, "upconv5"), conv4], 1), "iconv5")
    iconv4 = conv(torch.cat([up(iconv5, "upconv4"), conv3], 1), "iconv4")
    disp4 = head(iconv4, "disp4")
    iconv3 = conv(torch.cat([up(iconv4, "upconv3"), conv2, udisp(disp4)], 1), "iconv3")
    disp3 = head(iconv3, "disp3")
    iconv2 = conv(torch.cat([up(iconv3, "upconv2"), conv1, udisp(disp3)], 1), "iconv2")
    disp2 = head(iconv2, "disp2")
    iconv1 = conv(torch.cat([up(iconv2, "upconv1"), udisp(disp2)], 1), "iconv1")
    disp1 = head(iconv1, "disp1")
    return [disp1, disp2, disp3, disp4]


@pytest.fixture(scope="module")
def lite_mvdepthnet() -> MVDepthNet:
    torch.manual_seed(6)
    return _randomise_batchnorm(MVDepthNet(width=0.125), 7)


@pytest.fixture(scope="module")
def mvdepthnet_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(8)
    reference = normalize_image(torch.rand(2, 3, 64, 96, generator=g) * 255)
    volume = torch.rand(2, 64, 64, 96, generator=g) * 6
    return reference, volume


def test_mvdepthnet_matches_a_functional_forward_written_from_the_description(lite_mvdepthnet, mvdepthnet_inputs):
    with torch.no_grad():
        actual = lite_mvdepthnet(*mvdepthnet_inputs)
        expected = _reference_mvdepthnet(lite_mvdepthnet.state_dict(), *mvdepthnet_inputs)
    for a, e in zip(actual, expected, strict=True):
        torch.testing.assert_close(a, e, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "swap",
    [{"align_corners": False}, {"disparity_upsample": "bilinear"}, {"head_scale": 1.0}],
    ids=["align_corners-false", "bilinear-disparity-upsampling", "no-x2"],
)
def test_mvdepthnet_ingredients_matter(lite_mvdepthnet, mvdepthnet_inputs, swap):
    """The reference is not vacuous: align_corners=False, bilinear disparity upsampling or a head without
    the factor 2 each change the full-resolution output."""
    with torch.no_grad():
        actual = lite_mvdepthnet(*mvdepthnet_inputs)
        swapped = _reference_mvdepthnet(lite_mvdepthnet.state_dict(), *mvdepthnet_inputs, **swap)
    assert not torch.allclose(actual[0], swapped[0], atol=1e-4)


def test_mvdepthnet_bilinear_upsampling_uses_align_corners():
    upsamplers = [m for m in _on_meta(MVDepthNet).modules() if isinstance(m, nn.Upsample)]
    assert len(upsamplers) == 5  # upconv5 .. upconv1
    for m in upsamplers:
        assert m.mode == "bilinear" and m.align_corners is True and m.scale_factor == 2.0


def test_mvdepthnet_outputs_inverse_depth_in_0_2_at_four_scales(lite_mvdepthnet, mvdepthnet_inputs):
    with torch.no_grad():
        outputs = lite_mvdepthnet(*mvdepthnet_inputs)
    assert [tuple(o.shape) for o in outputs] == [(2, 1, 64 // 2**s, 96 // 2**s) for s in range(4)]
    for o in outputs:
        assert o.min() > 0 and o.max() < 2


def test_mvdepthnet_heads_reach_beyond_1(lite_mvdepthnet, mvdepthnet_inputs):
    """The heads are 2 sigmoid(.): with a large bias the full-resolution output approaches 2, not 1."""
    state = {k: v.clone() for k, v in lite_mvdepthnet.state_dict().items()}
    state["disp1.0.bias"] = torch.tensor([6.0])
    model = MVDepthNet(width=0.125)
    model.load_state_dict(state)
    with torch.no_grad():
        full = model.eval()(*mvdepthnet_inputs)[0]
    assert full.min() > 1.5 and full.max() < 2.0


@pytest.mark.parametrize("size", [(63, 64), (64, 95), (48, 64), (31, 32)], ids=["63x64", "64x95", "48x64", "31x32"])
def test_mvdepthnet_refuses_input_sizes_that_are_not_multiples_of_32(lite_mvdepthnet, size):
    """Documented: H and W multiples of 32. 48 fails deep inside (a concatenation size mismatch), but
    32k - 1 returns outputs one pixel larger than the input without complaint: both must be refused."""
    with torch.no_grad(), pytest.raises((ValueError, RuntimeError)):
        outputs = lite_mvdepthnet(torch.zeros(1, 3, *size), torch.zeros(1, 64, *size))
        assert tuple(outputs[0].shape[-2:]) == size, f"{size} input gave {tuple(outputs[0].shape)}"


def test_inverse_depth_planes_are_64_uniform_from_0_02_to_2():
    planes = inverse_depth_planes()
    assert planes.shape == (64,) and planes.dtype == torch.float32
    expected = torch.tensor([1 / 50 + i * (1 / 0.5 - 1 / 50) / 63 for i in range(64)], dtype=torch.float64)
    torch.testing.assert_close(planes.double(), expected, atol=1e-6, rtol=0)
    assert planes[0].item() == pytest.approx(0.02) and planes[-1].item() == pytest.approx(2.0)
    assert 1.0 / planes[0].item() == pytest.approx(50.0)  # plane 0 is the farthest: 50 m
    assert torch.all(planes[1:] > planes[:-1])
    assert inverse_depth_planes(dtype=torch.float64).dtype == torch.float64


def test_normalize_image_is_x_minus_81_over_35():
    values = torch.tensor([0.0, 46.0, 81.0, 116.0, 255.0])
    torch.testing.assert_close(normalize_image(values), torch.tensor([-81 / 35, -1.0, 0.0, 1.0, 174 / 35]))


# --------------------------------------------------------------------------------------------------
# Cost volume
# --------------------------------------------------------------------------------------------------

HEIGHT, WIDTH = 64, 96  # not square, so that swapping u and v shows


def _rotation(rotvec: torch.Tensor) -> torch.Tensor:
    angle = float(rotvec.norm())
    k = rotvec / angle
    skew = torch.tensor([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]], dtype=torch.float64)
    return torch.eye(3, dtype=torch.float64) + math.sin(angle) * skew + (1 - math.cos(angle)) * skew @ skew


def _scene(seed: int, batch: int, frames: int, dtype: torch.dtype, skew: float = 0.0):
    """Smooth normalised images, random intrinsics per batch element and random small rigid motions."""
    g = torch.Generator().manual_seed(seed)

    def smooth(n: int) -> torch.Tensor:  # smooth textures keep float32 sampling error small
        low = torch.randn(n, 3, HEIGHT // 4, WIDTH // 4, generator=g, dtype=torch.float64)
        return F.interpolate(low, size=(HEIGHT, WIDTH), mode="bilinear", align_corners=False)

    reference = smooth(batch)
    measurements = smooth(batch * frames).reshape(batch, frames, 3, HEIGHT, WIDTH)
    K = torch.zeros(batch, 3, 3, dtype=torch.float64)
    for b in range(batch):
        fx, fy = (torch.rand(2, generator=g, dtype=torch.float64) * 60 + 60).tolist()
        cx, cy = (torch.rand(2, generator=g, dtype=torch.float64) * 8 - 4).tolist()
        K[b] = torch.tensor([[fx, skew, WIDTH / 2 + cx], [0.0, fy, HEIGHT / 2 + cy], [0.0, 0.0, 1.0]])
    T = torch.eye(4, dtype=torch.float64).repeat(batch, frames, 1, 1)
    for b in range(batch):
        for n in range(frames):
            T[b, n, :3, :3] = _rotation(torch.randn(3, generator=g, dtype=torch.float64) * 0.05)
            T[b, n, :3, 3] = torch.randn(3, generator=g, dtype=torch.float64) * 0.1
    return [x.to(dtype) for x in (reference, measurements, K, T)]


@pytest.mark.parametrize("frames", [1, 3])
@pytest.mark.parametrize(("dtype", "atol"), [(torch.float32, 1e-4), (torch.float64, 1e-9)], ids=["float32", "float64"])
def test_cost_volume_equals_the_per_plane_loop(frames: int, dtype: torch.dtype, atol: float):
    reference, measurements, K, T = _scene(10 + frames, 2, frames, dtype)
    planes = inverse_depth_planes(dtype=dtype)
    actual = cost_volume(reference, measurements, K, T, planes)
    expected = cost_volume_per_plane(reference, measurements, K, T, planes)
    assert actual.shape == (2, 64, HEIGHT, WIDTH) and actual.dtype == dtype
    assert expected.abs().max() > 1.0  # a volume worth comparing
    torch.testing.assert_close(actual, expected, atol=atol, rtol=1e-5)


def test_cost_volume_with_few_planes_and_a_batch_of_different_cameras():
    """Each batch element uses its own K and poses: the batch equals its elements computed one by one."""
    reference, measurements, K, T = _scene(20, 3, 2, torch.float64)
    planes = torch.tensor([0.1, 0.4, 1.3], dtype=torch.float64)
    batch = cost_volume(reference, measurements, K, T, planes)
    assert batch.shape == (3, 3, HEIGHT, WIDTH)
    for b in range(3):
        one = cost_volume(reference[b : b + 1], measurements[b : b + 1], K[b : b + 1], T[b : b + 1], planes)
        torch.testing.assert_close(batch[b : b + 1], one, atol=1e-10, rtol=0)
    torch.testing.assert_close(batch, cost_volume_per_plane(reference, measurements, K, T, planes))


@pytest.mark.parametrize("block_bytes", [1, 3 * 4 * HEIGHT * WIDTH * 8 * 5, 0], ids=["one plane", "5 planes", "all"])
def test_cost_volume_blocks_of_planes_give_the_same_volume(block_bytes: int):
    """The CPU's blocks of planes (1 plane, 5 planes with a remainder of 4 from 64, or one block) are the same
    arithmetic: every blocking equals the per-plane definition."""
    reference, measurements, K, T = _scene(25, 2, 2, torch.float64)
    planes = inverse_depth_planes(dtype=torch.float64)
    actual = cost_volume(reference, measurements, K, T, planes, block_bytes=block_bytes)
    torch.testing.assert_close(actual, cost_volume_per_plane(reference, measurements, K, T, planes))


def test_cost_volume_averages_the_frames():
    reference, measurements, K, T = _scene(30, 2, 3, torch.float64)
    planes = inverse_depth_planes(dtype=torch.float64)
    together = cost_volume(reference, measurements, K, T, planes)
    singles = [cost_volume(reference, measurements[:, n : n + 1], K, T[:, n : n + 1], planes) for n in range(3)]
    torch.testing.assert_close(together, torch.stack(singles).mean(0), atol=1e-10, rtol=0)
    assert not torch.allclose(singles[0], singles[1])  # the frames do differ


def test_cost_volume_identity_pose_shows_mvdepthnet_grid_convention():
    """Identity pose, measurement == reference. Every plane maps pixel (u, v) onto itself, but MVDepthNet's
    grid (u - W/2) / (W/2) read with align_corners=True samples pixel u (W - 1) / W, v (H - 1) / H: a shift
    of u / W, v / H pixels towards the origin. So the volume is not zero; for an image linear in u and v,
    I = a u + b v in every channel, it is exactly 3 (a u / W + b v / H) at every pixel and on every plane,
    and for a constant image it is zero. (Exactly: the division by z + 1e-6 also pulls the sample towards
    the origin by the factor d / (d + 1e-6), a few 1e-4 px on the nearest planes; included below.)"""
    a, b = 0.5, 0.25
    v, u = torch.meshgrid(
        torch.arange(HEIGHT, dtype=torch.float64), torch.arange(WIDTH, dtype=torch.float64), indexing="ij"
    )
    ramp = (a * u + b * v).expand(1, 3, HEIGHT, WIDTH)
    K = torch.tensor([[[80.0, 0.0, 47.0], [0.0, 70.0, 33.0], [0.0, 0.0, 1.0]]], dtype=torch.float64)
    T = torch.eye(4, dtype=torch.float64)[None, None]
    planes = inverse_depth_planes(dtype=torch.float64)
    volume = cost_volume(ramp, ramp[:, None], K, T, planes)
    shrink = (1.0 / planes / (1.0 / planes + 1e-6))[:, None, None]  # d / (d + 1e-6), per plane
    expected = 3 * (a * u * (1 - shrink * (WIDTH - 1) / WIDTH) + b * v * (1 - shrink * (HEIGHT - 1) / HEIGHT))
    torch.testing.assert_close(volume, expected[None], atol=1e-9, rtol=0)
    torch.testing.assert_close(volume[0, 0], 3 * (a * u / WIDTH + b * v / HEIGHT), atol=1e-5, rtol=0)
    assert volume[0, :, 0, 0].abs().max() < 1e-12  # the origin is the only fixed point

    constant = torch.full((1, 3, HEIGHT, WIDTH), 0.7, dtype=torch.float64)
    assert cost_volume(constant, constant[:, None], K, T, planes).abs().max() < 1e-9


def test_exact_sweep_grid_samples_pixel_centres() -> None:
    """With the exact grid, a measurement identical to the reference (identity pose) costs nothing on any plane
    (up to the ``z + 1e-6`` of the projection), where the published grid shifts it (test above)."""
    v, u = torch.meshgrid(
        torch.arange(HEIGHT, dtype=torch.float64), torch.arange(WIDTH, dtype=torch.float64), indexing="ij"
    )
    ramp = (0.5 * u + 0.25 * v).expand(1, 3, HEIGHT, WIDTH)
    K = torch.tensor([[[80.0, 0.0, 47.0], [0.0, 70.0, 33.0], [0.0, 0.0, 1.0]]], dtype=torch.float64)
    T = torch.eye(4, dtype=torch.float64)[None, None]
    planes = inverse_depth_planes(dtype=torch.float64)
    exact = cost_volume(ramp, ramp[:, None], K, T, planes, grid="exact")
    assert exact.abs().max() < 1e-3
    assert cost_volume(ramp, ramp[:, None], K, T, planes).abs().max() > 2.0  # 3 (0.5 u / W + 0.25 v / H) at most


def _texture(u: torch.Tensor, v: torch.Tensor, seed: int = 1, waves: int = 24) -> torch.Tensor:
    """(3, H, W) smooth aperiodic texture: a sum of random plane waves, evaluated at any (u, v)."""
    g = torch.Generator().manual_seed(seed)
    frequency = (torch.rand(waves, 2, generator=g, dtype=torch.float64) * 0.6 + 0.1) * (
        torch.randint(0, 2, (waves, 2), generator=g) * 2 - 1
    )
    phase = torch.rand(waves, 3, generator=g, dtype=torch.float64) * 2 * math.pi
    argument = u[..., None] * frequency[:, 0] + v[..., None] * frequency[:, 1]  # (H, W, waves)
    return torch.stack([torch.cos(argument + phase[:, c]).sum(-1) for c in range(3)]) / math.sqrt(waves)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_true_plane_of_a_fronto_parallel_scene_has_the_lowest_cost(dtype: torch.dtype):
    """A textured plane 2 m in front of the reference camera, seen again by a camera 0.2 m to its right.

    With f = 250 px the measurement sees reference pixel (u, v) at (u - f b / d, v) = (u - 25, v): the
    measurement image is the texture evaluated there, exactly (no resampling). Inverse depth 0.5 lies
    between planes 15 and 16 (index 15.27), so plane 15 must win at most pixels that the measurement
    camera sees; MVDepthNet's grid convention (up to one pixel, see above) and the texture's
    self-similarity leave some pixels to the neighbours."""
    f, baseline, depth = 250.0, 0.2, 2.0
    v, u = torch.meshgrid(
        torch.arange(HEIGHT, dtype=torch.float64), torch.arange(WIDTH, dtype=torch.float64), indexing="ij"
    )
    reference = _texture(u, v)[None]
    measurement = _texture(u + f * baseline / depth, v)[None, None]  # meas pixel u' shows reference u' + 25
    K = torch.tensor([[[f, 0.0, WIDTH / 2], [0.0, f, HEIGHT / 2], [0.0, 0.0, 1.0]]], dtype=torch.float64)
    T_meas_ref = torch.eye(4, dtype=torch.float64)[None, None].clone()
    T_meas_ref[0, 0, 0, 3] = -baseline  # the measurement camera sits at x = +0.2 m in the reference frame
    planes = inverse_depth_planes(dtype=dtype)
    true_index = (1.0 / depth - 0.02) / (1.98 / 63)
    assert 15 < true_index < 15.5

    volume = cost_volume(reference.to(dtype), measurement.to(dtype), K.to(dtype), T_meas_ref.to(dtype), planes)
    best = volume[0].argmin(0)
    seen = u >= f * baseline / depth + 2  # reference pixels inside the measurement image, with a margin
    winners = best[seen]
    assert (winners == 15).double().mean() > 0.7
    assert ((winners - 15).abs() <= 1).double().mean() > 0.8
    assert torch.mode(winners).values.item() == 15


def test_cost_volume_on_the_meta_device():
    """Shape-only device: the vectorised volume creates nothing on the CPU behind the caller's back."""
    with torch.device("meta"):
        reference = torch.empty(2, 3, HEIGHT, WIDTH)
        measurements = torch.empty(2, 3, 3, HEIGHT, WIDTH)
        K = torch.eye(3).repeat(2, 1, 1)
        T = torch.eye(4).repeat(2, 3, 1, 1)
        planes = inverse_depth_planes(64)
    volume = cost_volume(reference, measurements, K, T, planes)
    assert volume.device.type == "meta"
    assert volume.shape == (2, 64, HEIGHT, WIDTH)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device in this environment")
def test_cost_volume_on_cuda_equals_cpu():
    reference, measurements, K, T = _scene(40, 2, 2, torch.float32)
    planes = inverse_depth_planes()
    cpu = cost_volume(reference, measurements, K, T, planes)
    cuda = cost_volume(*(x.cuda() for x in (reference, measurements, K, T, planes)))
    assert cuda.device.type == "cuda"
    torch.testing.assert_close(cuda.cpu(), cpu, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(
        cost_volume_per_plane(*(x.cuda() for x in (reference, measurements, K, T, planes))).cpu(),
        cpu,
        atol=1e-4,
        rtol=1e-5,
    )


def test_cost_volume_with_a_skewed_camera_matrix():
    """Intrinsics may carry a skew term K[0, 1] (sensor_msgs/CameraInfo allows it). MVDepthNet uses the full
    inverse K^-1; the volume must agree with the per-plane loop (which does) or refuse such K."""
    reference, measurements, K, T = _scene(50, 1, 1, torch.float64, skew=4.0)
    planes = inverse_depth_planes(dtype=torch.float64)
    try:
        actual = cost_volume(reference, measurements, K, T, planes)
    except ValueError:
        return  # refusing a skewed K is acceptable
    torch.testing.assert_close(actual, cost_volume_per_plane(reference, measurements, K, T, planes))
