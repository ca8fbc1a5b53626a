"""Weights files (depth_ros.models.checkpoints): our format, Monodepth2 folders, MVDepthNet .pth.tar.

Pins down, with real files written by ``torch.save`` (no mocks):

* our format round-trips (metadata, every tensor, outputs) for lite Monodepth2 and MVDepthNet, and is
  written atomically (no temporary file left, an existing file replaced whole, kept on failure);
* a published Monodepth2 folder (``encoder.pth`` with ``height``/``width``/``use_stereo`` entries beside
  the ResNet weights, ``depth.pth``) loads with the input size from the file and ``stereo`` x5.4 scale
  for stereo-trained models; ResNet depth is read from the weights;
* MVDepthNet's ``{'state_dict': ..., 'epoch_num': ...}`` loads, also without ``num_batches_tracked``
  (PyTorch 0.3 files), marked BGR: fed RGB images, the runtime reproduces the depth of the authors' example
  pipeline, which feeds ``cv2.imread`` (BGR) images; metadata without a channel order reads as RGB;
* ``load_any`` tells the formats apart by content, not by file name;
* every bad file raises :class:`CheckpointError` saying what is wrong: missing, truncated, random bytes,
  pickled Python objects (refused without running any code), missing / unexpected / wrongly shaped
  parameters (named), unknown architecture or variant, unknown format version.
"""

from __future__ import annotations

import collections
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from mvdepthnet_reference import cost_volume_per_plane
from torch import nn

from depth_ros.errors import DepthRosError
from depth_ros.models import CheckpointError, ModelMetadata, load_any, load_checkpoint, save_checkpoint
from depth_ros.models.checkpoints import load_monodepth2_folder, load_mvdepthnet_tar
from depth_ros.models.monodepth2 import DepthDecoder, Monodepth2, Monodepth2Pose
from depth_ros.models.mvdepthnet import MVDepthNet
from depth_ros.models.resnet import ResnetEncoder
from depth_ros.runtime.engine import open_engine

LITE_MONODEPTH2 = {"num_layers": 18, "width": 0.25, "decoder_width": 0.5, "with_fc": False}
LITE_MVDEPTHNET = {"width": 0.125, "planes": 64}


def _randomise(model: nn.Module, seed: int) -> nn.Module:
    """Every parameter and BN statistic random (not the constructor's init), so that a load is visible."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                tensor.fill_(int(torch.randint(1, 1000, (1,), generator=g)))
            elif name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=g) + 0.5)
            else:
                tensor.copy_(torch.randn(tensor.shape, generator=g) * 0.1)
    return model.eval()


def _lite_monodepth2(seed: int = 0) -> tuple[Monodepth2, ModelMetadata]:
    model = _randomise(Monodepth2(**LITE_MONODEPTH2), seed)
    metadata = ModelMetadata(
        architecture="monodepth2",
        variant=dict(LITE_MONODEPTH2),
        height=64,
        width=96,
        scale_type="stereo",
        scale_factor=5.4,
        source="unit test",
    )
    return model, metadata


def _lite_mvdepthnet(seed: int = 1) -> tuple[MVDepthNet, ModelMetadata]:
    model = _randomise(MVDepthNet(**LITE_MVDEPTHNET), seed)
    metadata = ModelMetadata(
        architecture="mvdepthnet",
        variant=dict(LITE_MVDEPTHNET),
        height=64,
        width=96,
        mean=81.0,
        std=35.0,
        value_range=1.0,
        min_depth=0.5,
        max_depth=50.0,
        scale_type="metric",
        planes=64,
        measurement_frames=2,
    )
    return model, metadata


def _outputs(model: nn.Module, architecture: str) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(9)
    with torch.no_grad():
        if architecture == "monodepth2":
            return model(torch.rand(1, 3, 64, 96, generator=g))
        return model(torch.randn(1, 3, 64, 96, generator=g), torch.rand(1, 64, 64, 96, generator=g) * 5)


def _assert_same_state(actual: nn.Module | dict, expected: nn.Module | dict) -> None:
    a = actual.state_dict() if isinstance(actual, nn.Module) else actual
    e = expected.state_dict() if isinstance(expected, nn.Module) else expected
    assert sorted(a) == sorted(e)
    different = [k for k in e if not torch.equal(a[k], e[k])]
    assert not different, f"tensors differ: {different[:6]}"


def _our_file(path: Path, model: nn.Module, metadata: ModelMetadata, /, **changes) -> Path:
    """A file in our format written by hand (as another version or a damaged copy would be)."""
    payload = {
        "format": "depth_ros",
        "format_version": 1,
        "metadata": metadata.to_json(),
        "state_dict": model.state_dict(),
    }
    payload.update(changes)
    torch.save(payload, path)
    return path


def _error(call, *args) -> str:
    with pytest.raises(CheckpointError) as info:
        call(*args)
    assert isinstance(info.value, DepthRosError)
    return str(info.value)


# --------------------------------------------------------------------------------------------------
# Our format
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [_lite_monodepth2, _lite_mvdepthnet], ids=["monodepth2", "mvdepthnet"])
@pytest.mark.parametrize("loader", [load_checkpoint, load_any], ids=["load_checkpoint", "load_any"])
def test_our_format_round_trips(tmp_path: Path, make, loader):
    model, metadata = make()
    path = save_checkpoint(tmp_path / "model.pt", model, metadata)
    assert path == tmp_path / "model.pt" and path.is_file()

    loaded, loaded_metadata = loader(path)
    assert loaded_metadata == metadata
    assert type(loaded) is type(model)
    assert not loaded.training  # ready for inference
    _assert_same_state(loaded, model)
    for a, b in zip(_outputs(loaded, metadata.architecture), _outputs(model, metadata.architecture), strict=True):
        assert torch.equal(a, b)


def test_our_format_is_a_plain_weights_only_file_with_extra_entries(tmp_path: Path):
    model, metadata = _lite_monodepth2()
    path = save_checkpoint(tmp_path / "model.pt", model, metadata, step=123, optimiser={"lr": torch.tensor(0.5)})
    data = torch.load(path, weights_only=True)
    assert data["format"] == "depth_ros" and data["format_version"] == 1
    assert ModelMetadata.from_json(data["metadata"]) == metadata
    assert data["step"] == 123 and data["optimiser"]["lr"].item() == 0.5
    _assert_same_state(data["state_dict"], model)
    load_checkpoint(path)  # extra entries do not disturb loading


def test_save_creates_missing_folders_and_leaves_no_temporary_file(tmp_path: Path):
    model, metadata = _lite_monodepth2()
    path = save_checkpoint(tmp_path / "a" / "b" / "model.pt", model, metadata)
    assert path.is_file()
    assert sorted(os.listdir(path.parent)) == ["model.pt"]


def test_save_replaces_an_existing_file(tmp_path: Path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"an older, larger file " * 100_000)
    model, metadata = _lite_mvdepthnet()
    save_checkpoint(path, model, metadata)
    assert sorted(os.listdir(tmp_path)) == ["model.pt"]
    loaded, loaded_metadata = load_checkpoint(path)
    assert loaded_metadata == metadata
    _assert_same_state(loaded, model)


def test_a_failed_save_keeps_the_existing_file_and_leaves_no_temporary_file(tmp_path: Path):
    path = tmp_path / "model.pt"
    model, metadata = _lite_monodepth2(seed=0)
    save_checkpoint(path, model, metadata)
    before = path.read_bytes()
    other, _ = _lite_monodepth2(seed=5)
    with pytest.raises(Exception):  # noqa: B017 - whatever pickling raises for a lambda
        save_checkpoint(path, other, metadata, callback=lambda: None)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.pt"]
    _assert_same_state(load_checkpoint(path)[0], model)


def test_unknown_format_version_is_refused(tmp_path: Path):
    model, metadata = _lite_monodepth2()
    path = _our_file(tmp_path / "model.pt", model, metadata, format_version=2)
    for loader in (load_checkpoint, load_any):
        message = _error(loader, path)
        assert "version 2" in message and str(path) in message


def test_unknown_architecture_is_refused(tmp_path: Path):
    model, metadata = _lite_monodepth2()
    metadata_json = metadata.to_json().replace('"monodepth2"', '"monodepth3"')
    path = _our_file(tmp_path / "model.pt", model, metadata, metadata=metadata_json)
    for loader in (load_checkpoint, load_any):
        assert "monodepth3" in _error(loader, path)


@pytest.mark.parametrize(
    "variant",
    [{"num_layers": 101, "width": 0.25}, {"depth": 18}, {"num_layers": "eighteen"}],
    ids=["unsupported-depth", "unknown-argument", "wrong-type"],
)
def test_unusable_variant_in_metadata_is_a_checkpoint_error(tmp_path: Path, variant):
    """A variant the network cannot be built from (hand-edited, or written by another version) is a bad
    file like any other: CheckpointError naming the variant, not a TypeError/ValueError from a constructor."""
    model, metadata = _lite_monodepth2()
    path = _our_file(tmp_path / "model.pt", model, metadata.replace(variant=variant))
    message = _error(load_checkpoint, path)
    assert str(path) in message or "variant" in message


def test_unreadable_metadata_is_refused(tmp_path: Path):
    model, metadata = _lite_monodepth2()
    path = _our_file(tmp_path / "model.pt", model, metadata, metadata="{not json")
    assert "metadata" in _error(load_checkpoint, path)


def test_missing_parameter_is_named(tmp_path: Path):
    model, metadata = _lite_monodepth2()
    state = model.state_dict()
    del state["depth.decoder.7.conv.conv.weight"]
    path = _our_file(tmp_path / "model.pt", model, metadata, state_dict=state)
    message = _error(load_checkpoint, path)
    assert "missing" in message and "depth.decoder.7.conv.conv.weight" in message


def test_unexpected_parameter_is_named(tmp_path: Path):
    model, metadata = _lite_mvdepthnet()
    state = model.state_dict()
    state["refine.0.weight"] = torch.zeros(1, 2, 3, 3)
    path = _our_file(tmp_path / "model.pt", model, metadata, state_dict=state)
    message = _error(load_any, path)
    assert "unexpected" in message and "refine.0.weight" in message


def test_wrong_shapes_are_named(tmp_path: Path):
    """Weights of a wider network under metadata of a narrower one."""
    _, metadata = _lite_monodepth2()
    wider = Monodepth2(**{**LITE_MONODEPTH2, "width": 0.5})
    path = _our_file(tmp_path / "model.pt", wider, metadata)
    message = _error(load_checkpoint, path)
    assert "wrong shape" in message
    assert "encoder.encoder.conv1.weight (32, 3, 7, 7) != (16, 3, 7, 7)" in message


def test_resnet34_weights_under_resnet18_metadata_are_refused(tmp_path: Path):
    """Same channel widths, more blocks: the extra blocks are reported as unexpected."""
    _, metadata = _lite_monodepth2()
    resnet34 = Monodepth2(**{**LITE_MONODEPTH2, "num_layers": 34})
    path = _our_file(tmp_path / "model.pt", resnet34, metadata)
    message = _error(load_checkpoint, path)
    assert "unexpected" in message and "encoder.encoder.layer1.2." in message


def test_state_dict_entry_that_is_not_a_tensor_is_a_checkpoint_error(tmp_path: Path):
    model, metadata = _lite_monodepth2()
    state = model.state_dict()
    state["encoder.encoder.conv1.weight"] = [1.0, 2.0]
    path = _our_file(tmp_path / "model.pt", model, metadata, state_dict=state)
    assert "encoder.encoder.conv1.weight" in _error(load_checkpoint, path)


def test_state_dict_that_is_not_a_dict_is_refused(tmp_path: Path):
    model, metadata = _lite_monodepth2()
    path = _our_file(tmp_path / "model.pt", model, metadata, state_dict=[1, 2, 3])
    assert "state dict" in _error(load_checkpoint, path)


# --------------------------------------------------------------------------------------------------
# Unreadable files and unsafe pickles
# --------------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path):
    for loader in (load_checkpoint, load_any, load_mvdepthnet_tar):
        message = _error(loader, tmp_path / "nope.pt")
        assert "not found" in message and "nope.pt" in message


def test_missing_monodepth2_folder_files(tmp_path: Path):
    message = _error(load_monodepth2_folder, tmp_path)
    assert "not found" in message and "encoder.pth" in message
    torch.save(_randomise(ResnetEncoder(18, width=0.25, with_fc=False), 0).state_dict(), tmp_path / "encoder.pth")
    message = _error(load_any, tmp_path)
    assert "not found" in message and "depth.pth" in message


@pytest.mark.parametrize("fraction", [0.5, 0.1, 0.9])
def test_truncated_file(tmp_path: Path, fraction: float):
    model, metadata = _lite_mvdepthnet()
    good = save_checkpoint(tmp_path / "good.pt", model, metadata)
    data = good.read_bytes()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(data[: int(len(data) * fraction)])
    for loader in (load_checkpoint, load_any):
        message = _error(loader, bad)
        assert str(bad) in message and re.search("truncated|corrupt", message)


def test_random_bytes(tmp_path: Path):
    path = tmp_path / "noise.pth.tar"
    path.write_bytes(
        torch.randint(0, 256, (50_000,), generator=torch.Generator().manual_seed(0)).byte().numpy().tobytes()
    )
    for loader in (load_checkpoint, load_any, load_mvdepthnet_tar):
        message = _error(loader, path)
        assert str(path) in message and re.search("truncated|corrupt", message)


def test_empty_file(tmp_path: Path):
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    assert str(path) in _error(load_any, path)


def _create_marker(path: str) -> None:
    """What a malicious pickle would run on load: here, create a file."""
    Path(path).write_text("code ran during unpickling")


class _Trap:
    """Unpickles by calling :func:`_create_marker` (any callable would do: os.system, ...)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (_create_marker, (self.marker,))


class _SneakyOrderedDict(collections.OrderedDict):
    """A state-dict look-alike of a class that is not on the safe list."""


def test_the_trap_is_live(tmp_path: Path):
    """Control for the next test: an unsafe torch.load of the trap file does run code."""
    marker = tmp_path / "marker"
    path = tmp_path / "trap.pt"
    torch.save({"state_dict": {}, "payload": _Trap(marker)}, path)
    torch.load(path, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("loader", [load_checkpoint, load_any, load_mvdepthnet_tar])
def test_pickled_code_is_refused_without_running(tmp_path: Path, loader):
    marker = tmp_path / "marker"
    model, metadata = _lite_mvdepthnet()
    path = _our_file(tmp_path / "trap.pth.tar", model, metadata, payload=_Trap(marker))
    message = _error(loader, path)
    assert not marker.exists(), "loading the file ran code from it"
    assert message == (
        f"{path} is not a plain checkpoint: it holds Python objects (test_checkpoints._create_marker) that loading "
        "would have to run; refused"
    )


def test_monodepth2_folder_with_pickled_code_is_refused_without_running(tmp_path: Path):
    marker = tmp_path / "marker"
    encoder = _randomise(ResnetEncoder(18, width=0.25, with_fc=False), 0).state_dict()
    encoder["height"] = _Trap(marker)
    torch.save(encoder, tmp_path / "encoder.pth")
    torch.save({}, tmp_path / "depth.pth")
    message = _error(load_any, tmp_path)
    assert not marker.exists()
    assert "encoder.pth" in message


def test_custom_container_class_is_refused(tmp_path: Path):
    model, metadata = _lite_mvdepthnet()
    state = _SneakyOrderedDict(model.state_dict())
    path = _our_file(tmp_path / "model.pt", model, metadata, state_dict=state)
    torch.load(path, weights_only=False)  # control: a plain pickle reads it fine
    assert _error(load_any, path).startswith(f"{path} is not a plain checkpoint: it holds Python objects")
    tar = tmp_path / "weights.pth.tar"
    torch.save({"state_dict": state, "epoch_num": 3}, tar)
    assert str(tar) in _error(load_mvdepthnet_tar, tar)


# --------------------------------------------------------------------------------------------------
# Monodepth2 model folders (encoder.pth + depth.pth, as the published trainer saves them)
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def resnet18_monodepth2() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """State dicts of a full-size ResNet-18 encoder (fc included) and its depth decoder, random weights."""
    encoder = _randomise(ResnetEncoder(18), 10)
    decoder = _randomise(DepthDecoder(encoder.num_ch_enc), 11)
    return encoder.state_dict(), decoder.state_dict()


def _write_folder(folder: Path, encoder: dict, depth: dict, **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({**encoder, **extra}, folder / "encoder.pth")
    torch.save(depth, folder / "depth.pth")
    return folder


@pytest.mark.parametrize("loader", [load_monodepth2_folder, load_any], ids=["load_monodepth2_folder", "load_any"])
@pytest.mark.parametrize(
    ("use_stereo", "scale_type", "scale_factor"),
    [(False, "relative", 1.0), (True, "stereo", 5.4)],
    ids=["mono", "stereo"],
)
def test_monodepth2_folder_loads(tmp_path: Path, resnet18_monodepth2, loader, use_stereo, scale_type, scale_factor):
    encoder, depth = resnet18_monodepth2
    folder = _write_folder(tmp_path / "mono_1024x320", encoder, depth, height=320, width=1024, use_stereo=use_stereo)
    model, metadata = loader(folder)

    assert isinstance(model, Monodepth2) and not model.training
    assert metadata.architecture == "monodepth2"
    assert (metadata.height, metadata.width) == (320, 1024)  # read from encoder.pth
    assert metadata.scale_type == scale_type and metadata.scale_factor == pytest.approx(scale_factor)
    assert metadata.variant["num_layers"] == 18
    assert (metadata.mean, metadata.std, metadata.value_range) == (0.45, 0.225, 255.0)
    assert metadata.channel_order == "rgb"  # the authors' code reads images with PIL
    assert (metadata.min_depth, metadata.max_depth) == (0.1, 100.0)
    _assert_same_state(model.encoder, encoder)
    _assert_same_state(model.depth, depth)

    reference = Monodepth2(18).eval()
    reference.encoder.load_state_dict(encoder)
    reference.depth.load_state_dict(depth)
    image = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        for a, b in zip(model(image), reference(image), strict=True):
            assert torch.equal(a, b)


def test_monodepth2_folder_without_fc_and_without_batch_counters(tmp_path: Path, resnet18_monodepth2):
    encoder, depth = resnet18_monodepth2
    trimmed = {k: v for k, v in encoder.items() if not k.startswith("encoder.fc.") and "num_batches" not in k}
    folder = _write_folder(tmp_path / "m", trimmed, depth, height=192, width=640, use_stereo=False)
    model, metadata = load_monodepth2_folder(folder)
    assert (metadata.height, metadata.width, metadata.scale_type) == (192, 640, "relative")
    loaded = model.encoder.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in trimmed.items())


def test_monodepth2_folder_resnet50_is_recognised(tmp_path: Path):
    encoder = ResnetEncoder(50)
    decoder = DepthDecoder(encoder.num_ch_enc)
    folder = _write_folder(tmp_path / "r50", encoder.state_dict(), decoder.state_dict(), height=192, width=640)
    model, metadata = load_monodepth2_folder(folder)
    assert metadata.variant["num_layers"] == 50
    assert model.encoder.num_ch_enc == [64, 256, 512, 1024, 2048]
    _assert_same_state(model.depth, decoder)


def test_monodepth2_folder_with_a_missing_decoder_key(tmp_path: Path, resnet18_monodepth2):
    encoder, depth = resnet18_monodepth2
    depth = dict(depth)
    del depth["decoder.12.conv.bias"]
    folder = _write_folder(tmp_path / "m", encoder, depth, height=192, width=640, use_stereo=False)
    message = _error(load_any, folder)
    assert "missing" in message and "decoder.12.conv.bias" in message and "depth.pth" in message


def test_monodepth2_folder_with_a_decoder_for_another_encoder(tmp_path: Path, resnet18_monodepth2):
    encoder, _ = resnet18_monodepth2
    wrong = DepthDecoder([64, 256, 512, 1024, 2048]).state_dict()  # a ResNet-50 decoder
    folder = _write_folder(tmp_path / "m", encoder, wrong, height=192, width=640, use_stereo=False)
    message = _error(load_monodepth2_folder, folder)
    assert "wrong shape" in message and "decoder.0.conv.conv.weight (256, 2048, 3, 3) != (256, 512, 3, 3)" in message


def test_folder_whose_encoder_is_not_a_resnet(tmp_path: Path):
    folder = _write_folder(tmp_path / "m", {"weight": torch.zeros(3)}, {})
    assert "encoder.conv1.weight" in _error(load_any, folder)


# --------------------------------------------------------------------------------------------------
# MVDepthNet's published .pth.tar
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mvdepthnet_state() -> dict[str, torch.Tensor]:
    """Full-size MVDepthNet weights (random), as ``opensource_model.pth.tar`` would hold them."""
    return _randomise(MVDepthNet(), 12).state_dict()


@pytest.mark.parametrize("loader", [load_mvdepthnet_tar, load_any], ids=["load_mvdepthnet_tar", "load_any"])
def test_mvdepthnet_tar_loads(tmp_path: Path, mvdepthnet_state, loader):
    path = tmp_path / "opensource_model.pth.tar"
    torch.save({"state_dict": mvdepthnet_state, "epoch_num": 3}, path)
    model, metadata = loader(path)
    assert isinstance(model, MVDepthNet) and not model.training
    _assert_same_state(model, mvdepthnet_state)
    assert metadata.architecture == "mvdepthnet"
    assert (metadata.height, metadata.width) == (256, 320)
    assert (metadata.mean, metadata.std, metadata.value_range) == (81.0, 35.0, 1.0)
    assert metadata.min_depth == pytest.approx(0.5) and metadata.max_depth == pytest.approx(50.0)
    assert metadata.scale_type == "metric" and metadata.planes == 64
    assert metadata.channel_order == "bgr"


def test_mvdepthnet_tar_from_pytorch_0_3_without_batch_counters(tmp_path: Path, mvdepthnet_state):
    old = {k: v for k, v in mvdepthnet_state.items() if not k.endswith("num_batches_tracked")}
    assert len(old) < len(mvdepthnet_state)
    path = tmp_path / "opensource_model.pth.tar"
    torch.save({"state_dict": old, "epoch_num": 3, "iterate_num": 100}, path)
    model, _ = load_any(path)
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in old.items())


def test_mvdepthnet_tar_with_a_missing_key(tmp_path: Path, mvdepthnet_state):
    state = dict(mvdepthnet_state)
    del state["iconv3.0.weight"]
    path = tmp_path / "opensource_model.pth.tar"
    torch.save({"state_dict": state}, path)
    message = _error(load_mvdepthnet_tar, path)
    assert "missing" in message and "iconv3.0.weight" in message and str(path) in message


def test_half_width_mvdepthnet_weights_do_not_fit_the_published_network(tmp_path: Path):
    path = tmp_path / "half.pth.tar"
    torch.save({"state_dict": MVDepthNet(width=0.5).state_dict(), "epoch_num": 3}, path)
    message = _error(load_any, path)
    assert "wrong shape" in message and "conv1.0.weight (64, 67, 7, 7) != (128, 67, 7, 7)" in message


def test_tar_without_state_dict_is_refused(tmp_path: Path):
    path = tmp_path / "x.pth.tar"
    torch.save({"model": {}, "epoch_num": 3}, path)
    assert "state_dict" in _error(load_mvdepthnet_tar, path)


# --------------------------------------------------------------------------------------------------
# Non-finite weights (a diverged run, a damaged file): refused at load, whatever the format
# --------------------------------------------------------------------------------------------------


def _poisoned(state: dict[str, torch.Tensor], value: float, *keys: str) -> dict[str, torch.Tensor]:
    """A copy of ``state`` with one element of each of ``keys`` set to ``value``."""
    state = dict(state)
    for key in keys:
        state[key] = state[key].clone()
        state[key].view(-1)[state[key].numel() // 2] = value
    return state


@pytest.mark.parametrize("value", [float("nan"), float("-inf")], ids=["nan", "inf"])
@pytest.mark.parametrize("form", ["ours", "pose_network", "monodepth2_folder", "mvdepthnet_tar"])
def test_non_finite_weights_are_refused_naming_the_first_such_tensor_and_the_file(
    tmp_path: Path, form: str, value: float, resnet18_monodepth2, mvdepthnet_state
):
    from depth_ros.models.checkpoints import load_pose_network

    model, metadata = _lite_monodepth2()
    if form == "ours":
        state = model.state_dict()
        first, later = "depth.decoder.3.conv.conv.weight", "depth.decoder.12.conv.weight"
        path = _our_file(tmp_path / "model.pt", model, metadata, state_dict=_poisoned(state, value, later, first))
        load, named = load_any, path
    elif form == "pose_network":
        state = Monodepth2Pose(num_layers=18, width=0.25).state_dict()
        first, later = "encoder.encoder.conv1.weight", "decoder.net.3.weight"
        networks = {"pose": _poisoned(state, value, first, later)}
        path = save_checkpoint(tmp_path / "model.pt", model, metadata, networks=networks)
        load, named = load_pose_network, path
    elif form == "monodepth2_folder":
        encoder, depth = resnet18_monodepth2
        first, later = "decoder.7.conv.conv.weight", "decoder.12.conv.weight"
        path = _write_folder(tmp_path / "folder", encoder, _poisoned(depth, value, later, first))
        load, named = load_any, path / "depth.pth"
    else:
        first, later = "conv1.4.weight", "iconv3.0.weight"
        path = tmp_path / "opensource_model.pth.tar"
        torch.save({"state_dict": _poisoned(mvdepthnet_state, value, later, first)}, path)
        load, named = load_any, path
    message = _error(load, path)
    assert str(named) in message and f"{first} holds NaN or infinite values" in message and later not in message


def _posed_rgb_pair(height: int, width: int) -> dict[str, np.ndarray]:
    """Random RGB reference and measurement images (H, W, 3) uint8, the measurement camera 8 cm to the side
    and turned 2 degrees (reference-to-measurement transform), and a pinhole K at that size."""
    rng = np.random.default_rng(5)
    angle = np.radians(2.0)
    T = np.eye(4, dtype=np.float32)
    T[:3, :3] = [[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]]
    T[:3, 3] = [-0.08, 0.01, 0.02]
    focal = 0.9 * width
    return {
        "reference": rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
        "measurement": rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
        "T_meas_ref": T,
        "K": np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], np.float32),
    }


def _upstream_example_depth(state: dict[str, torch.Tensor], pair: dict[str, np.ndarray], bgr: bool) -> np.ndarray:
    """(H, W) depth in metres as MVDepthNet's ``example2.py`` computes it, written here from its description
    (reference/models.md 2.2-2.3) without depth_ros's inference graph: images as ``cv2.imread`` gives them
    (BGR: the RGB arrays reversed on the last axis; ``bgr=False`` feeds RGB instead), ``(x - 81) / 35``, the
    per-plane cost volume of ``mvdepthnet_reference.py`` on 64 planes 1/50 + i (1/0.5 - 1/50) / 63, the
    network's full-resolution inverse depth, ``1 / clamp(., 0.02, 2.0)``."""

    def network_input(image: np.ndarray) -> torch.Tensor:  # (H, W, 3) uint8 -> (1, 3, H, W) normalised
        colour = np.ascontiguousarray(image[..., ::-1] if bgr else image)
        return (torch.from_numpy(colour).permute(2, 0, 1)[None].float() - 81.0) / 35.0

    network = MVDepthNet()
    network.load_state_dict(state)
    reference, measurement = network_input(pair["reference"]), network_input(pair["measurement"])
    inverse_depths = 1.0 / 50.0 + torch.arange(64) * (1.0 / 0.5 - 1.0 / 50.0) / 63.0
    K, T = torch.from_numpy(pair["K"])[None], torch.from_numpy(pair["T_meas_ref"])[None, None]
    with torch.no_grad():
        volume = cost_volume_per_plane(reference, measurement[:, None], K, T, inverse_depths)
        inverse_depth = network.eval()(reference, volume)[0]
    return (1.0 / inverse_depth.clamp(0.02, 2.0))[0, 0].numpy()


def test_published_mvdepthnet_gives_the_upstream_example_depth_from_rgb_images(tmp_path: Path, mvdepthnet_state):
    """The published weights were fed BGR (``cv2.imread``) by the authors' example: the runtime, given RGB,
    must give that pipeline's depth; fed RGB, that pipeline gives another depth (so this test can fail)."""
    path = tmp_path / "opensource_model.pth.tar"
    torch.save({"state_dict": mvdepthnet_state, "epoch_num": 3}, path)
    height, width = 64, 96
    pair = _posed_rgb_pair(height, width)
    engine = open_engine(path, "pytorch", height=height, width=width)
    assert engine.metadata.channel_order == "bgr"
    depth = engine.infer(pair["reference"], pair["measurement"][None], pair["T_meas_ref"][None], pair["K"]).copy()

    upstream = _upstream_example_depth(mvdepthnet_state, pair, bgr=True)
    assert np.ptp(upstream) > 0.01 * np.mean(upstream), "degenerate output: the comparison would prove little"
    assert np.max(np.abs(depth - upstream) / upstream) <= 1e-4
    fed_rgb = _upstream_example_depth(mvdepthnet_state, pair, bgr=False)  # 6e-3: the cost volume ignores the order
    assert np.max(np.abs(fed_rgb - upstream) / upstream) > 1e-3


def test_channel_order_is_rgb_unless_written_and_nothing_else(tmp_path: Path):
    """Metadata written before the field existed reads as RGB; an our-format file keeps a BGR order (a
    converted published model); an unknown order is a clear error naming the allowed ones."""
    model, metadata = _lite_mvdepthnet()
    assert metadata.channel_order == "rgb"
    old_json = json.dumps({k: v for k, v in json.loads(metadata.to_json()).items() if k != "channel_order"})
    assert ModelMetadata.from_json(old_json) == metadata

    bgr = metadata.replace(channel_order="bgr")
    assert load_checkpoint(save_checkpoint(tmp_path / "bgr.pt", model, bgr))[1] == bgr

    with pytest.raises(ValueError, match=r"channel_order must be one of rgb, bgr .* got 'BGR'"):
        metadata.replace(channel_order="BGR")
    path = _our_file(tmp_path / "model.pt", model, metadata, metadata=metadata.to_json().replace('"rgb"', '"grb"'))
    message = _error(load_checkpoint, path)
    assert "channel_order" in message and "'grb'" in message and str(path) in message


def test_sweep_grid_is_published_unless_written_and_nothing_else(tmp_path: Path):
    """Metadata written before the field existed (our earlier MVDepthNet files, published files) reads as the
    published grid; the trainer's exact grid round-trips; an unknown grid is a clear error."""
    model, metadata = _lite_mvdepthnet()
    assert metadata.sweep_grid == "published"
    old_json = json.dumps({k: v for k, v in json.loads(metadata.to_json()).items() if k != "sweep_grid"})
    assert ModelMetadata.from_json(old_json) == metadata
    exact = metadata.replace(sweep_grid="exact")
    assert load_checkpoint(save_checkpoint(tmp_path / "exact.pt", model, exact))[1] == exact
    with pytest.raises(ValueError, match=r"sweep_grid must be one of published, exact .* got 'centre'"):
        metadata.replace(sweep_grid="centre")


# --------------------------------------------------------------------------------------------------
# load_any tells formats apart by content
# --------------------------------------------------------------------------------------------------


def test_load_any_goes_by_content_not_by_name(tmp_path: Path, mvdepthnet_state, resnet18_monodepth2):
    ours_model, ours_metadata = _lite_monodepth2()
    ours = save_checkpoint(tmp_path / "looks_like.pth.tar", ours_model, ours_metadata)
    tar = tmp_path / "looks_like_ours.pt"
    torch.save({"state_dict": mvdepthnet_state, "epoch_num": 3}, tar)
    folder = _write_folder(tmp_path / "model.pt", *resnet18_monodepth2, height=192, width=640, use_stereo=True)

    model, metadata = load_any(ours)
    assert isinstance(model, Monodepth2) and metadata == ours_metadata
    model, metadata = load_any(tar)
    assert isinstance(model, MVDepthNet) and metadata.architecture == "mvdepthnet"
    model, metadata = load_any(folder)
    assert isinstance(model, Monodepth2) and metadata.scale_type == "stereo"


def test_load_any_refuses_a_file_of_no_known_format(tmp_path: Path, resnet18_monodepth2):
    encoder, _ = resnet18_monodepth2
    path = tmp_path / "encoder.pth"  # a bare state dict: one half of a Monodepth2 folder
    torch.save(encoder, path)
    message = _error(load_any, path)
    assert str(path) in message and "Monodepth2 model folder" in message
    torch.save([1, 2, 3], path)
    assert str(path) in _error(load_any, path)


def test_load_checkpoint_refuses_other_formats(tmp_path: Path, mvdepthnet_state):
    path = tmp_path / "opensource_model.pth.tar"
    torch.save({"state_dict": mvdepthnet_state, "epoch_num": 3}, path)
    assert "not a depth_ros checkpoint" in _error(load_checkpoint, path)
