"""Depth networks (Monodepth2, MVDepthNet), their metadata, checkpoints and inference graphs."""

from depth_ros.models.checkpoints import CheckpointError, load_any, load_checkpoint, save_checkpoint
from depth_ros.models.inference import inference_graph
from depth_ros.models.metadata import ModelMetadata
from depth_ros.models.monodepth2 import Monodepth2, Monodepth2Pose
from depth_ros.models.mvdepthnet import MVDepthNet, cost_volume

__all__ = [
    "CheckpointError",
    "MVDepthNet",
    "ModelMetadata",
    "Monodepth2",
    "Monodepth2Pose",
    "cost_volume",
    "inference_graph",
    "load_any",
    "load_checkpoint",
    "save_checkpoint",
]
