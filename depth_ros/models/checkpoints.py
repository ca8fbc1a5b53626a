"""Load and save depth networks: published Monodepth2 folders, MVDepthNet's ``.pth.tar``, our own format.

Every file is read with ``torch.load(weights_only=True)`` (checkpoints are pickles; this refuses
anything but tensors and plain containers, so a file cannot run code). Loading is strict: a missing,
unexpected or wrongly shaped parameter raises :class:`CheckpointError` naming them, never a silent
partial load. The only tolerated difference is a missing BatchNorm ``num_batches_tracked`` counter
(files saved by PyTorch < 0.4.1, e.g. MVDepthNet's). Weights holding NaN or infinity (a diverged training run,
a damaged file) are refused too, naming the first such tensor: they would give NaN depth on every frame.

Our format is one file: ``{"format": "depth_ros", "format_version": 1, "metadata": <JSON of
ModelMetadata>, "state_dict": {...}}``, written atomically. Files written by the trainer add
``"networks": {"pose": {...}}`` (Monodepth2's pose network, read by :func:`load_pose_network`).
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from depth_ros.errors import DepthRosError
from depth_ros.models.metadata import ModelMetadata
from depth_ros.models.monodepth2 import MAX_DEPTH, MIN_DEPTH, STEREO_SCALE_FACTOR, Monodepth2, Monodepth2Pose
from depth_ros.models.mvdepthnet import (
    IMAGE_MEAN,
    IMAGE_STD,
    MAX_INVERSE_DEPTH,
    MIN_INVERSE_DEPTH,
    PLANES,
    MVDepthNet,
)

FORMAT = "depth_ros"
FORMAT_VERSION = 1
_MONODEPTH2_EXTRA_KEYS = ("height", "width", "use_stereo")


class CheckpointError(DepthRosError):
    """A weights file that is missing, unreadable, or does not fit the network."""


def read_weights(path: Path) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU, with errors that say what went wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path}")
    try:
        with warnings.catch_warnings():  # a plain pickle's protocol warning: the load refuses it next, in one line
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # corrupt zip, truncated pickle, disallowed global, ...
        raise _unreadable(path, error) from error


def _unreadable(path: Path, error: Exception) -> CheckpointError:
    """One line for what ``torch.load(weights_only=True)`` refused (its own messages span several lines)."""
    refused_global = re.search(r"GLOBAL ([\w.]+)", str(error))
    if refused_global:
        return CheckpointError(
            f"{path} is not a plain checkpoint: it holds Python objects ({refused_global[1]}) that loading would "
            "have to run; refused"
        )
    if path.stat().st_size == 0:
        detail = "the file is empty"
    elif isinstance(error, pickle.UnpicklingError):  # weights_only met an opcode no torch.save writes
        detail = "not a PyTorch file"
    else:
        detail = (str(error).strip().splitlines() or [type(error).__name__])[0].rstrip(".")
    return CheckpointError(f"cannot read weights {path}: {detail}. The file may be truncated or corrupt")


def load_state_strict(module: nn.Module, state: dict[str, Any], source: str) -> None:
    """Load ``state`` into ``module`` only if every key and shape matches (``num_batches_tracked`` may be absent)
    and every floating-point tensor is finite; ``source`` (the file) starts the :class:`CheckpointError`."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{source}: expected a state dict, got {type(state).__name__}")
    expected = module.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    not_tensor = [k for k in expected if k in state and not isinstance(state[k], torch.Tensor)]
    wrong_shape = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and k not in not_tensor and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or not_tensor or wrong_shape:
        parts = []
        problems = (
            ("missing", missing),
            ("unexpected", unexpected),
            ("not a tensor", not_tensor),
            ("wrong shape", wrong_shape),
        )
        for label, items in problems:
            if items:
                shown = ", ".join(items[:6]) + (f", ... ({len(items)} in all)" if len(items) > 6 else "")
                parts.append(f"{label}: {shown}")
        raise CheckpointError(f"{source} does not fit {type(module).__name__}: " + "; ".join(parts))
    broken = next((k for k in expected if k in state and not _finite(state[k])), None)
    if broken is not None:
        raise CheckpointError(
            f"{source}: {broken} holds NaN or infinite values: these weights are broken (a training run that "
            "diverged, or a damaged file); use another checkpoint"
        )
    merged = dict(expected)
    merged.update(state)
    module.load_state_dict(merged, strict=True)


def _finite(tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` holds no NaN or infinity (integer tensors always)."""
    return not tensor.is_floating_point() or bool(torch.isfinite(tensor).all())


def build_model(metadata: ModelMetadata) -> nn.Module:
    """An untrained network of the architecture and variant ``metadata`` describes."""
    networks = {"monodepth2": Monodepth2, "mvdepthnet": MVDepthNet}
    if metadata.architecture not in networks:
        raise CheckpointError(f"unknown architecture {metadata.architecture!r}: expected monodepth2 or mvdepthnet")
    try:
        return networks[metadata.architecture](**metadata.variant)
    except (TypeError, ValueError) as error:
        raise CheckpointError(
            f"cannot build {metadata.architecture} from variant {metadata.variant!r}: {error}"
        ) from error


def monodepth2_metadata(
    variant: dict[str, Any], height: int, width: int, use_stereo: bool, source: str
) -> ModelMetadata:
    """Metadata of a Monodepth2 model (stereo-trained models are metric after x5.4 on KITTI-like rigs)."""
    return ModelMetadata(
        architecture="monodepth2",
        variant=variant,
        height=height,
        width=width,
        mean=0.45,
        std=0.225,
        value_range=255.0,
        min_depth=MIN_DEPTH,
        max_depth=MAX_DEPTH,
        scale_type="stereo" if use_stereo else "relative",
        scale_factor=STEREO_SCALE_FACTOR if use_stereo else 1.0,
        source=source,
    )


def mvdepthnet_metadata(variant: dict[str, Any], height: int, width: int, source: str) -> ModelMetadata:
    """Metadata of an MVDepthNet model (metric depth from posed frames, 0.5 m to 50 m) trained on RGB images
    (ours; :func:`load_mvdepthnet_tar` marks the published weights BGR)."""
    return ModelMetadata(
        architecture="mvdepthnet",
        variant=variant,
        height=height,
        width=width,
        mean=IMAGE_MEAN,
        std=IMAGE_STD,
        value_range=1.0,
        min_depth=1.0 / MAX_INVERSE_DEPTH,
        max_depth=1.0 / MIN_INVERSE_DEPTH,
        scale_type="metric",
        planes=variant.get("planes", PLANES),
        source=source,
    )


def load_monodepth2_folder(folder: Path) -> tuple[Monodepth2, ModelMetadata]:
    """A published Monodepth2 model folder (``encoder.pth`` + ``depth.pth``; ResNet-18/34/50 inferred; RGB, as
    the authors' code reads images with PIL).

    ``encoder.pth`` also holds ``height``, ``width`` (the native input size) and ``use_stereo``.
    """
    folder = Path(folder)
    encoder_state = read_weights(folder / "encoder.pth")
    depth_state = read_weights(folder / "depth.pth")
    if not isinstance(encoder_state, dict) or "encoder.conv1.weight" not in encoder_state:
        raise CheckpointError(f"{folder / 'encoder.pth'} is not a Monodepth2 encoder (no encoder.conv1.weight)")
    height = int(encoder_state.get("height", 192))
    width = int(encoder_state.get("width", 640))
    use_stereo = bool(encoder_state.get("use_stereo", False))
    num_layers = _resnet_depth(encoder_state)
    variant = {
        "num_layers": num_layers,
        "width": 1.0,
        "decoder_width": 1.0,
        "with_fc": "encoder.fc.weight" in encoder_state,
    }
    model = Monodepth2(**variant)
    weights = {k: v for k, v in encoder_state.items() if k not in _MONODEPTH2_EXTRA_KEYS}
    load_state_strict(model.encoder, weights, str(folder / "encoder.pth"))
    load_state_strict(model.depth, depth_state, str(folder / "depth.pth"))
    return model.eval(), monodepth2_metadata(variant, height, width, use_stereo, str(folder))


def _resnet_depth(encoder_state: dict[str, Any]) -> int:
    """18, 34 or 50 from the block layout of a ResNet state dict."""
    blocks_in_layer3 = {int(k.split(".")[2]) for k in encoder_state if k.startswith("encoder.layer3.")}
    if "encoder.layer1.0.conv3.weight" in encoder_state:
        return 50
    return 34 if len(blocks_in_layer3) == 6 else 18


def load_mvdepthnet_tar(path: Path, data: Any = None) -> tuple[MVDepthNet, ModelMetadata]:
    """MVDepthNet's published ``opensource_model.pth.tar`` (a dict with ``state_dict``); native size 320x256.

    Its weights expect BGR images (``channel_order="bgr"``): the authors' example feeds ``cv2.imread`` images to
    them, and only BGR input reproduces that pipeline's depth. ``data``: the file's content if already read.
    """
    data = read_weights(path) if data is None else data
    state = data.get("state_dict") if isinstance(data, dict) else None
    if state is None:
        raise CheckpointError(f"{path} is not an MVDepthNet checkpoint: expected a dict with 'state_dict'")
    model = MVDepthNet()
    load_state_strict(model, state, str(path))
    metadata = mvdepthnet_metadata({"width": 1.0, "planes": PLANES}, 256, 320, str(path))
    return model.eval(), metadata.replace(channel_order="bgr")


def save_checkpoint(path: Path, model: nn.Module | None, metadata: ModelMetadata, **extra: Any) -> Path:
    """Write our format atomically (a temporary file renamed over ``path``); ``extra`` adds entries
    (tensors, numbers, strings: e.g. optimiser state and step for training). ``model`` None writes no depth
    network (a file holding only ``networks``, e.g. a shipped pose network)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "metadata": metadata.to_json(), **extra}
    if model is not None:
        payload["state_dict"] = model.state_dict()
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        torch.save(payload, temporary)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp creates 0600; a node running as another user must read it
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def load_checkpoint(path: Path, data: Any = None) -> tuple[nn.Module, ModelMetadata]:
    """A network saved by :func:`save_checkpoint`, in eval mode, with its metadata (``data``: content if read)."""
    data = read_weights(path) if data is None else data
    metadata = _checkpoint_metadata(path, data)
    model = build_model(metadata)
    load_state_strict(model, data.get("state_dict"), str(path))
    return model.eval(), metadata


class NotOurCheckpointError(CheckpointError):
    """A weights file that is not a depth_ros checkpoint (an ONNX file, an engine, another format)."""


def load_pose_network(path: Path) -> Monodepth2Pose | None:
    """The Monodepth2 pose network that the trainer stores beside the depth network in our checkpoint, in eval
    mode on the CPU; None when the file holds none (e.g. an MVDepthNet model).

    The trainer saves it as ``networks["pose"]`` (a state dict) without constructor arguments: its encoder
    has the depth network's ``num_layers`` and ``width`` (the metadata's variant); ``with_fc`` and the number
    of predicted frames are read from the weights. Loading is strict.

    Raises:
        NotOurCheckpointError: ``path`` exists but is not one of our checkpoints.
        CheckpointError: no such file, or a pose entry that does not fit.
    """
    try:
        data = read_weights(path)
        metadata = _checkpoint_metadata(path, data)
    except CheckpointError as error:
        if not Path(path).is_file():
            raise
        raise NotOurCheckpointError(
            f"{error}; the pose network travels only in depth_ros checkpoints (the trainer's model.pt), not in "
            "ONNX or TensorRT files: point to the checkpoint the model was exported from"
        ) from error
    networks = data.get("networks", {})
    if not isinstance(networks, dict):
        raise CheckpointError(f"{path}: expected 'networks' to map names to state dicts, got {type(networks).__name__}")
    state = networks.get("pose")
    if state is None:
        return None
    if metadata.architecture != "monodepth2" or not isinstance(state, dict):
        raise CheckpointError(f"{path}: its 'pose' entry is not a Monodepth2 pose network state dict")
    encoder = {k: metadata.variant[k] for k in ("num_layers", "width") if k in metadata.variant}
    head = state.get("decoder.net.3.weight")
    frames = head.shape[0] // 6 if isinstance(head, torch.Tensor) else 1  # 6 pose values per frame
    network = Monodepth2Pose(**encoder, with_fc="encoder.encoder.fc.weight" in state, frames=max(frames, 1))
    load_state_strict(network, state, f"{path} (pose network)")
    return network.eval()


def named_pose_network(path: Path) -> Monodepth2Pose:
    """The pose network in the checkpoint a user named (the node's ``pose_model``, ``eval --pose-model``).

    Raises:
        CheckpointError: see :func:`load_pose_network`, or the checkpoint holds no pose network.
    """
    network = load_pose_network(path)
    if network is None:
        raise CheckpointError(
            f"{path} holds no pose network: name the trainer's model.pt of a Monodepth2 run, or a <model>_pose.pt"
        )
    return network


def pose_network_for(model_path: Path) -> Monodepth2Pose | None:
    """The pose network that goes with the depth model at ``model_path``: the one inside the model's own
    checkpoint (the trainer's ``model.pt``, trained with it), else ``<stem>_pose.pt`` beside it (how the shipped
    weights come: ``monodepth2_lite.pt`` and ``monodepth2_lite_pose.pt``; for an ONNX file or TensorRT engine,
    the checkpoint it was exported from, renamed); None when neither has one."""
    model_path = Path(model_path)
    try:
        inside = load_pose_network(model_path)
    except NotOurCheckpointError:  # ONNX, an engine: it cannot hold one (a broken pose entry is raised)
        inside = None
    beside = model_path.with_name(f"{model_path.stem}_pose.pt")
    return inside if inside is not None or not beside.is_file() else load_pose_network(beside)


def _checkpoint_metadata(path: Path, data: Any) -> ModelMetadata:
    """The metadata of our checkpoint's content ``data``, after checking its format and version."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a depth_ros checkpoint (no 'format': 'depth_ros' entry)")
    if data.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format version {data.get('format_version')}, this depth_ros reads {FORMAT_VERSION}"
        )
    try:
        return ModelMetadata.from_json(data["metadata"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path} has unreadable metadata: {error}") from error


def load_any(path: Path) -> tuple[nn.Module, ModelMetadata]:
    """Our checkpoint file, a Monodepth2 model folder, or an MVDepthNet ``.pth.tar``, told apart by content."""
    path = Path(path)
    if path.is_dir():
        return load_monodepth2_folder(path)
    data = read_weights(path)
    if isinstance(data, dict) and data.get("format") == FORMAT:
        return load_checkpoint(path, data)
    if isinstance(data, dict) and "state_dict" in data:
        return load_mvdepthnet_tar(path, data)
    raise CheckpointError(f"{path}: not a depth_ros checkpoint, a Monodepth2 model folder, or an MVDepthNet .pth.tar")
