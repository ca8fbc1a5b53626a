"""PyTorch backend: the inference graph in eager mode on the CPU or CUDA (fp16 by autocast, CUDA graphs optional).

Input tensors are allocated on the device once per set of input shapes (MVDepthNet's number of measurement
frames may change from call to call), in the graph's layout, and refilled every call. With ``cuda_graph`` the
graph is captured once per set of shapes, after a warm-up on a side stream, and replayed: its inputs and
output stay at fixed addresses.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from depth_ros.models.inference import inference_graph
from depth_ros.models.metadata import ModelMetadata
from depth_ros.runtime.engine import BackendError, DepthEngine, Device, Precision, native_network_view

CAPTURE_WARMUP = 3  # eager runs on a side stream before a CUDA graph is captured (as PyTorch's docs do)


class PyTorchEngine(DepthEngine):
    """A loaded network run by PyTorch (see the module docstring).

    Args:
        network: a Monodepth2 or MVDepthNet network (used, not copied: it is moved to ``device``).
        metadata: its metadata; ``height``/``width`` set the network size. An MVDepthNet with
            ``measurement_frames == 0`` takes any number of measurement frames.
        device: ``cpu`` or ``cuda``.
        precision: ``fp32``, or ``fp16`` (CUDA only: autocast to float16 where PyTorch deems it safe).
        cuda_graph: capture and replay a CUDA graph (CUDA only).
    """

    backend = "pytorch"

    def __init__(
        self,
        network: nn.Module,
        metadata: ModelMetadata,
        device: Device = "cpu",
        precision: Precision = "fp32",
        cuda_graph: bool = False,
    ):
        if device == "cuda" and not torch.cuda.is_available():
            raise BackendError(
                f"device cuda asked for, but this PyTorch {torch.__version__} has no CUDA device: "
                "install a CUDA build of PyTorch, or use device cpu"
            )
        if device == "cpu" and (precision == "fp16" or cuda_graph):
            feature = "fp16" if precision == "fp16" else "CUDA graphs"
            raise BackendError(f"{feature} needs device cuda with the PyTorch backend; on the CPU use fp32")
        super().__init__(metadata, device, precision)
        self.cuda_graph = cuda_graph
        self._graph = inference_graph(network, metadata).to(device)
        self._output = torch.from_numpy(self._depth)
        # Per set of input shapes: the device input buffers, by name, and a captured graph with its output.
        self._buffers: dict[tuple[tuple[int, ...], ...], dict[str, torch.Tensor]] = {}
        self._captured: dict[tuple[tuple[int, ...], ...], tuple[torch.cuda.CUDAGraph, torch.Tensor]] = {}

    def describe(self) -> str:
        return super().describe() + (" with CUDA graph" if self.cuda_graph else "")

    @torch.inference_mode()
    def _run(self, inputs: dict[str, np.ndarray]) -> None:
        sources = [torch.from_numpy(native_network_view(spec, inputs[spec.name])) for spec in self.specs]
        shapes = tuple(tuple(source.shape) for source in sources)
        buffers = self._buffers.get(shapes)
        if buffers is None:
            buffers = self._buffers[shapes] = {
                spec.name: torch.empty(shape, dtype=torch.uint8 if spec.image else torch.float32, device=self.device)
                for spec, shape in zip(self.specs, shapes, strict=True)
            }
        for spec, source in zip(self.specs, sources, strict=True):
            buffers[spec.name].copy_(source)
        if self.cuda_graph:
            if shapes not in self._captured:
                self._captured[shapes] = self._capture(buffers)
            graph, depth = self._captured[shapes]
            graph.replay()
        else:
            depth = self._forward(buffers)
        self._output.copy_(depth[0, 0])

    def _forward(self, buffers: dict[str, torch.Tensor]) -> torch.Tensor:
        """(1, 1, H, W) depth from one set of input buffers."""
        # No autocast weight cache: each weight is cast once per pass anyway, and PyTorch's CUDA graph docs ask
        # for cache_enabled=False when autocast runs inside a capture.
        fp16 = (
            torch.autocast("cuda", dtype=torch.float16, cache_enabled=False)
            if self.precision == "fp16"
            else contextlib.nullcontext()
        )
        with fp16:
            return self._graph(*(buffers[spec.name] for spec in self.specs))

    def _capture(self, buffers: dict[str, torch.Tensor]) -> tuple[torch.cuda.CUDAGraph, torch.Tensor]:
        """Warm up on a side stream, then capture :meth:`_forward` on ``buffers`` into a CUDA graph; returns it
        and its output."""
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(CAPTURE_WARMUP):
                self._forward(buffers)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):  # other threads may use CUDA meanwhile
            depth = self._forward(buffers)
        return graph, depth
