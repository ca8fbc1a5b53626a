"""ONNX files exported on demand from checkpoints, cached beside the weights.

``open_engine(checkpoint, backend="auto", device="cpu")`` runs Monodepth2 through ONNX Runtime; the ONNX
file is exported once into ``.depth_ros_cache/`` in the checkpoint's folder (for a Monodepth2 model folder:
beside the folder), named ``<weights name>-<W>x<H>[-n<N>]-<key>.onnx``. The key is a sha256 of the weights'
bytes, of the metadata the export carries (size, measurement frames N, depth range, ...) and of the depth_ros
version, so a changed model gets a new export however its files were copied (``cp -p`` and ``rsync -a`` keep an
older modification time), and the exports of earlier weights of that name and size are removed. Exports are
written into a temporary folder and moved into place, so an interrupted export never leaves a half-written
file to be reused.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

from torch import nn

from depth_ros import __version__
from depth_ros.models.metadata import ModelMetadata
from depth_ros.runtime.engine import BackendError
from depth_ros.runtime.tensorrt_platform import sha256_file

logger = logging.getLogger(__name__)
CACHE_FOLDER = ".depth_ros_cache"
KEY_DIGITS = 16  # hex digits of the sha256 in a cached file's name


def cache_path(weights: Path, metadata: ModelMetadata) -> Path:
    """Where the ONNX export of ``weights`` with ``metadata`` (as the export writes it: the network size and, for
    MVDepthNet, the measurement frames N) is cached; the name ends in the export's key (see the module doc)."""
    weights = Path(weights).resolve()
    return weights.parent / CACHE_FOLDER / f"{_export_name(weights, metadata)}-{_export_key(weights, metadata)}.onnx"


def cached_onnx(weights: Path, network: nn.Module, metadata: ModelMetadata, required: bool) -> Path | None:
    """The cached ONNX export of ``network`` (loaded from ``weights``), exported now if missing.

    An MVDepthNet is exported with ``metadata.measurement_frames`` measurement frames (the export's default
    when the checkpoint does not fix them), as the PyTorch backend runs it.

    Returns ``None`` (after logging why) when ``depth_ros.export`` is not installed or the cache cannot be
    written; with ``required`` it raises :class:`~depth_ros.runtime.engine.BackendError` instead.
    """
    try:
        from depth_ros.export.onnx_export import DEFAULT_MEASUREMENT_FRAMES, export_onnx
    except ImportError as error:
        _give_up(required, f"depth_ros.export is not available ({error})", "export the model to ONNX first")
        return None
    if metadata.architecture == "mvdepthnet":
        metadata = metadata.replace(measurement_frames=metadata.measurement_frames or DEFAULT_MEASUREMENT_FRAMES)
    out = cache_path(weights, metadata)
    if out.is_file():
        return out
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".export-") as folder:
            logger.info("exporting %s to %s", weights, out)
            export_onnx(
                network,
                metadata,
                Path(folder) / out.name,
                height=metadata.height,
                width=metadata.width,
                measurement_frames=metadata.measurement_frames,
            )
            for exported in Path(folder).iterdir():
                os.replace(exported, out.parent / exported.name)
        _remove_earlier_exports(out)
    except OSError as error:
        _give_up(required, f"cannot write the ONNX cache {out.parent} ({error})", "export it somewhere writable")
        return None
    return out


def _export_name(weights: Path, metadata: ModelMetadata) -> str:
    """``<weights name>-<W>x<H>``, with ``-n<N>`` for a fixed number of measurement frames."""
    frames = f"-n{metadata.measurement_frames}" if metadata.measurement_frames else ""
    return f"{weights.name}-{metadata.width}x{metadata.height}{frames}"


def _export_key(weights: Path, metadata: ModelMetadata) -> str:
    """Hex sha256 (first :data:`KEY_DIGITS`) of everything the export depends on: the bytes of the weights file
    (or of each file in a model folder, with its name), the metadata and the depth_ros version."""
    files = sorted(p for p in weights.iterdir() if p.is_file()) if weights.is_dir() else [weights]
    digest = hashlib.sha256(f"depth_ros {__version__}\n{metadata.to_json()}\n".encode())
    for file in files:
        digest.update(f"{file.name} {sha256_file(file)}\n".encode())
    return digest.hexdigest()[:KEY_DIGITS]


def _remove_earlier_exports(out: Path) -> None:
    """Delete the cached exports (ONNX and metadata) of the same name as ``out`` but another key."""
    name = out.stem.rsplit("-", 1)[0]
    for cached in out.parent.iterdir():
        if cached.suffix in (".onnx", ".json") and cached.stem.rsplit("-", 1)[0] == name and cached.stem != out.stem:
            cached.unlink(missing_ok=True)


def _give_up(required: bool, reason: str, advice: str) -> None:
    """Raise :class:`BackendError` if the export was ``required``, else log that PyTorch runs instead."""
    if required:
        raise BackendError(f"ONNX Runtime needs an ONNX file and {reason}: {advice}, or use the pytorch backend")
    logger.info("running PyTorch instead of ONNX Runtime: %s", reason)
