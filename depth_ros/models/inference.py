"""Inference graphs: uint8 RGB at network resolution in, depth in metres out.

These modules fold preprocessing and postprocessing into the network, so that the ONNX export, the
TensorRT engine built from it and the PyTorch backend all run the same computation. Images always come in
as RGB; for weights whose metadata says ``channel_order="bgr"`` (published MVDepthNet) the graph reverses
the channels first (:class:`NetworkChannels`, a ``Gather`` in ONNX), before normalisation and cost volume.

* :class:`Monodepth2DepthGraph`: ``image`` (B, 3, H, W) uint8 RGB -> ``depth`` (B, 1, H, W) float32,
  ``disp_to_depth(disp_0, min_depth, max_depth) * scale_factor`` (relative for monocular models, metric
  for stereo-trained ones: see the metadata's ``scale_type``). Only the full-resolution head runs.
* :class:`MVDepthNetDepthGraph`: ``reference`` (B, 3, H, W) uint8 RGB, ``measurements`` (B, N, 3, H, W)
  uint8 RGB, ``T_meas_ref`` (B, N, 4, 4) float32, ``K`` (B, 3, 3) float32 at network resolution ->
  ``depth`` (B, 1, H, W) float32 metres, ``1 / clamp(inverse_depth, 0.02, 2.0)``.
"""

from __future__ import annotations

import torch
from torch import nn

from depth_ros.models.metadata import ModelMetadata
from depth_ros.models.monodepth2 import Monodepth2, disp_to_depth
from depth_ros.models.mvdepthnet import (
    MAX_INVERSE_DEPTH,
    MIN_INVERSE_DEPTH,
    MVDepthNet,
    cost_volume,
    inverse_depth_planes,
    normalize_image,
)

MONODEPTH2_INPUTS = ("image",)
MVDEPTHNET_INPUTS = ("reference", "measurements", "T_meas_ref", "K")
OUTPUTS = ("depth",)


class NetworkChannels(nn.Module):
    """Float RGB images (..., 3, H, W) -> the channel order of ``channel_order`` (``rgb``: unchanged, ``bgr``:
    reversed). The index lives in a buffer, so that it moves with the graph and running it copies nothing from
    the host."""

    def __init__(self, channel_order: str):
        super().__init__()
        self.reverse = channel_order == "bgr"
        self.register_buffer("bgr", torch.tensor([2, 1, 0]), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.index_select(images.dim() - 3, self.bgr) if self.reverse else images


class Monodepth2DepthGraph(nn.Module):
    """uint8 RGB -> depth in metres (see the module docstring)."""

    def __init__(self, network: Monodepth2, metadata: ModelMetadata):
        super().__init__()
        self.network = network
        self.channels = NetworkChannels(metadata.channel_order)
        self.min_depth = metadata.min_depth
        self.max_depth = metadata.max_depth
        self.scale_factor = metadata.scale_factor
        self.value_range = metadata.value_range

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        colour = self.channels(image.float()) / self.value_range  # the encoder normalises [0, 1] inside
        (disp,) = self.network(colour, scales=(0,))
        _, depth = disp_to_depth(disp, self.min_depth, self.max_depth)
        return depth * self.scale_factor


class MVDepthNetDepthGraph(nn.Module):
    """uint8 RGB reference and measurement images, poses and intrinsics -> depth in metres; the cost volume and
    the network see the images in the metadata's ``channel_order``; the cost volume samples with its ``sweep_grid``."""

    def __init__(self, network: MVDepthNet, metadata: ModelMetadata):
        super().__init__()
        self.network = network
        self.channels = NetworkChannels(metadata.channel_order)
        self.sweep_grid = metadata.sweep_grid
        self.register_buffer("inverse_depths", inverse_depth_planes(network.planes), persistent=False)

    def forward(
        self, reference: torch.Tensor, measurements: torch.Tensor, T_meas_ref: torch.Tensor, K: torch.Tensor
    ) -> torch.Tensor:
        ref = normalize_image(self.channels(reference.float()))
        meas = normalize_image(self.channels(measurements.float()))
        volume = cost_volume(ref, meas, K, T_meas_ref, self.inverse_depths, grid=self.sweep_grid)
        inverse_depth = self.network(ref, volume)[0]
        return 1.0 / inverse_depth.clamp(MIN_INVERSE_DEPTH, MAX_INVERSE_DEPTH)


def inference_graph(network: nn.Module, metadata: ModelMetadata) -> nn.Module:
    """The inference graph of a loaded network; puts ``network`` in eval mode (BatchNorm statistics frozen)."""
    if metadata.architecture == "monodepth2":
        return Monodepth2DepthGraph(network, metadata).eval()
    if metadata.architecture == "mvdepthnet":
        return MVDepthNetDepthGraph(network, metadata).eval()
    raise ValueError(f"unknown architecture {metadata.architecture!r}: expected monodepth2 or mvdepthnet")
