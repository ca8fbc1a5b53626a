"""Depth networks (Monodepth2, MVDepthNet), their metadata, checkpoints and inference graphs.

Names are imported lazily (PEP 562), so ``depth_ros.models.metadata`` can be used without loading torch.
"""

from importlib import import_module

_EXPORTS = {
    "CheckpointError": "checkpoints",
    "load_any": "checkpoints",
    "load_checkpoint": "checkpoints",
    "save_checkpoint": "checkpoints",
    "inference_graph": "inference",
    "ModelMetadata": "metadata",
    "Monodepth2": "monodepth2",
    "Monodepth2Pose": "monodepth2",
    "MVDepthNet": "mvdepthnet",
    "cost_volume": "mvdepthnet",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'depth_ros.models' has no attribute {name!r}")
    return getattr(import_module(f"depth_ros.models.{_EXPORTS[name]}"), name)
