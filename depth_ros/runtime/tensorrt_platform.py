"""What a TensorRT engine was built for, and what to do when it meets another platform.

A serialized engine runs only with the TensorRT version and on the GPU model it was built with. Every engine
written by :func:`depth_ros.runtime.tensorrt_build.build_engine` has a sidecar ``FILE.engine.json``
(:class:`EngineInfo`): TensorRT version, GPU name, compute capability, precision, build options, the source
ONNX file (relative to the engine's folder) and its sha256, and the model's metadata. When loading,
:func:`engine_action` compares it with this machine (:class:`Platform`): a match loads; a mismatch rebuilds
from the source ONNX if it is still there with the recorded hash, and is refused otherwise.

This module imports neither TensorRT nor CUDA at import time, so the decision is testable anywhere.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from depth_ros.models.metadata import ModelMetadata
from depth_ros.runtime.engine import BackendError

SIDECAR_SUFFIX = ".json"
DEFAULT_WORKSPACE_MB = 1024  # builder workspace memory pool limit, MiB


class TensorRTUnavailableError(BackendError):
    """TensorRT (the real library, not only its type stubs) cannot be imported, or there is no CUDA GPU."""


class EngineMismatchError(BackendError):
    """An engine built for another TensorRT version or GPU, which cannot be rebuilt here."""


@dataclass(frozen=True)
class Platform:
    """A TensorRT version and a GPU: what an engine is specific to.

    Attributes:
        tensorrt_version: ``tensorrt.__version__``, e.g. ``10.3.0``.
        gpu_name: CUDA device name, e.g. ``Orin`` or ``NVIDIA GeForce RTX 4090``.
        compute_capability: ``major.minor``, e.g. ``8.7``.
    """

    tensorrt_version: str
    gpu_name: str
    compute_capability: str

    def describe(self) -> str:
        return f"TensorRT {self.tensorrt_version} on {self.gpu_name} (sm {self.compute_capability})"


@dataclass(frozen=True)
class EngineInfo:
    """The sidecar of an engine file (see the module docstring).

    Attributes:
        platform: what the engine was built with and for.
        precision: ``fp32`` or ``fp16`` (the ``--fp16`` builder flag).
        workspace_mb: builder workspace memory pool limit, MiB.
        dla_core: DLA core the engine runs on (with GPU fallback), or ``None`` for the GPU.
        onnx: the source ONNX file, relative to the engine's folder when it can be.
        onnx_sha256: hex sha256 of the source ONNX file's bytes.
        model: the model's metadata (from the ONNX file).
    """

    platform: Platform
    precision: Literal["fp32", "fp16"]
    workspace_mb: int
    dla_core: int | None
    onnx: str
    onnx_sha256: str
    model: ModelMetadata

    def to_json(self) -> str:
        values = asdict(self)
        values["model"] = json.loads(self.model.to_json())
        return json.dumps(values, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EngineInfo:
        values: dict[str, Any] = json.loads(text)
        values["platform"] = Platform(**values["platform"])
        values["model"] = ModelMetadata.from_json(json.dumps(values["model"]))
        return cls(**values)


def sidecar_path(engine: Path) -> Path:
    """``FILE.engine`` -> ``FILE.engine.json``."""
    return engine.with_name(engine.name + SIDECAR_SUFFIX)


def read_engine_info(engine: Path) -> EngineInfo:
    """The sidecar of ``engine``; raises :class:`~depth_ros.runtime.engine.BackendError` if missing or unreadable."""
    path = sidecar_path(engine)
    try:
        return EngineInfo.from_json(path.read_text())
    except FileNotFoundError:
        problem = "is missing"
    except (OSError, ValueError, TypeError, KeyError) as error:
        problem = f"is unreadable ({error})"
    raise BackendError(
        f"{engine}: its sidecar {path.name} {problem}, so the engine's model and platform are unknown: "
        "build it with depth-ros build-engine MODEL.onnx --out ENGINE"
    )


def write_engine_info(engine: Path, info: EngineInfo) -> Path:
    """Write the sidecar of ``engine`` atomically; returns its path."""
    path = sidecar_path(engine)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(info.to_json() + "\n")
    os.replace(temporary, path)
    return path


def source_onnx(engine: Path, info: EngineInfo) -> Path:
    """The source ONNX file recorded in ``info``, resolved against the engine's folder."""
    return engine.parent / info.onnx


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def timing_cache_path(engine: Path, platform: Platform) -> Path:
    """The builder timing cache beside ``engine``, one per TensorRT version and compute capability (TensorRT
    refuses caches from other versions; sharing one folder's cache between engines speeds up every build)."""
    sm = platform.compute_capability.replace(".", "")
    return engine.parent / f"tensorrt-{platform.tensorrt_version}-sm{sm}.timing-cache"


def platform_mismatches(built: Platform, here: Platform) -> list[str]:
    """What differs between the platform an engine was built for and this one (empty: it can be loaded)."""
    found = []
    if built.tensorrt_version != here.tensorrt_version:
        found.append(f"TensorRT {built.tensorrt_version} (engine) != {here.tensorrt_version} (here)")
    if (built.gpu_name, built.compute_capability) != (here.gpu_name, here.compute_capability):
        found.append(
            f"GPU {built.gpu_name} sm {built.compute_capability} (engine) != "
            f"{here.gpu_name} sm {here.compute_capability} (here)"
        )
    return found


def engine_action(engine: Path, info: EngineInfo, here: Platform) -> Literal["load", "rebuild"]:
    """``load`` an engine built for this platform; ``rebuild`` one built elsewhere from its source ONNX.

    Args:
        engine: the engine file (its source ONNX is resolved against its folder).
        info: its sidecar.
        here: this machine's platform.

    Raises:
        EngineMismatchError: built elsewhere, and the source ONNX is gone or has changed since the build.
    """
    mismatches = platform_mismatches(info.platform, here)
    if not mismatches:
        return "load"
    onnx = source_onnx(engine, info)
    if not onnx.is_file():
        why = "is gone"
    elif sha256_file(onnx) != info.onnx_sha256:
        why = "has changed since the engine was built (its sha256 differs)"
    else:
        return "rebuild"
    raise EngineMismatchError(
        f"{engine} was built for another platform ({'; '.join(mismatches)}) and cannot be rebuilt here: its source "
        f"ONNX {onnx} {why}. Build the engine on this machine: depth-ros build-engine MODEL.onnx --out {engine}"
    )


def require_tensorrt() -> ModuleType:
    """The ``tensorrt`` module, if the real library is installed (not only the ``tensorrt-stubs`` type stubs,
    which make ``import tensorrt`` succeed as an empty namespace package)."""
    try:
        trt = importlib.import_module("tensorrt")
    except ImportError as error:
        reason = str(error)
    else:
        if hasattr(trt, "Builder") and hasattr(trt, "__version__"):
            return trt
        reason = "`import tensorrt` finds only a namespace package (type stubs, no library)"
    raise TensorRTUnavailableError(
        f"TensorRT is not installed: {reason}. Install TensorRT 10.x for this CUDA (pip install tensorrt, or "
        "JetPack's on a Jetson), or use the onnxruntime or pytorch backend"
    )


def current_platform(tensorrt_version: str) -> Platform:
    """This machine's platform: ``tensorrt_version`` and CUDA device 0 as PyTorch sees it."""
    import torch

    if not torch.cuda.is_available():
        raise TensorRTUnavailableError(
            f"TensorRT needs a CUDA GPU, and this PyTorch {torch.__version__} sees none: install a CUDA build of "
            "PyTorch (the runtime keeps TensorRT's buffers in torch CUDA tensors)"
        )
    major, minor = torch.cuda.get_device_capability(0)
    return Platform(tensorrt_version, torch.cuda.get_device_name(0), f"{major}.{minor}")
