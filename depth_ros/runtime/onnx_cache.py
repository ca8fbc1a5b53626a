"""ONNX files exported on demand from checkpoints, cached beside the weights.

``open_engine(checkpoint, backend="auto", device="cpu")`` runs Monodepth2 through ONNX Runtime; the ONNX
file is exported once into ``.depth_ros_cache/`` in the checkpoint's folder (for a Monodepth2 model folder:
beside the folder), named ``<weights name>-<W>x<H>.onnx``, and exported again when any weights file is
newer than it. Exports are written into a temporary folder and moved into place, so an interrupted export
never leaves a half-written file to be reused.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from torch import nn

from depth_ros.models.metadata import ModelMetadata
from depth_ros.runtime.engine import BackendError

logger = logging.getLogger(__name__)
CACHE_FOLDER = ".depth_ros_cache"


def cache_path(weights: Path, metadata: ModelMetadata) -> Path:
    """Where the ONNX export of ``weights`` at ``metadata``'s network size is cached."""
    weights = Path(weights).resolve()
    return weights.parent / CACHE_FOLDER / f"{weights.name}-{metadata.width}x{metadata.height}.onnx"


def cached_onnx(weights: Path, network: nn.Module, metadata: ModelMetadata, required: bool) -> Path | None:
    """The cached ONNX export of ``network`` (loaded from ``weights``), exported now if missing or stale.

    Returns ``None`` (after logging why) when ``depth_ros.export`` is not installed or the cache cannot be
    written; with ``required`` it raises :class:`~depth_ros.runtime.engine.BackendError` instead.
    """
    try:
        from depth_ros.export.onnx_export import export_onnx
    except ImportError as error:
        _give_up(required, f"depth_ros.export is not available ({error})", "export the model to ONNX first")
        return None
    out = cache_path(weights, metadata)
    if out.is_file() and out.stat().st_mtime >= _newest_change(Path(weights)):
        return out
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".export-") as folder:
            logger.info("exporting %s to %s", weights, out)
            export_onnx(network, metadata, Path(folder) / out.name, height=metadata.height, width=metadata.width)
            for exported in Path(folder).iterdir():
                os.replace(exported, out.parent / exported.name)
    except OSError as error:
        _give_up(required, f"cannot write the ONNX cache {out.parent} ({error})", "export it somewhere writable")
        return None
    return out


def _newest_change(weights: Path) -> float:
    """Latest modification time of a weights file, or of any file in a model folder."""
    files = [p for p in weights.iterdir() if p.is_file()] if weights.is_dir() else [weights]
    return max((p.stat().st_mtime for p in files), default=0.0)


def _give_up(required: bool, reason: str, advice: str) -> None:
    """Raise :class:`BackendError` if the export was ``required``, else log that PyTorch runs instead."""
    if required:
        raise BackendError(f"ONNX Runtime needs an ONNX file and {reason}: {advice}, or use the pytorch backend")
    logger.info("running PyTorch instead of ONNX Runtime: %s", reason)
