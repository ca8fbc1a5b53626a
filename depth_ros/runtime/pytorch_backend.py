"""PyTorch backend: the inference graph in eager mode on the CPU or CUDA (fp16 by autocast, CUDA graphs optional).

Input tensors are allocated once on the device, in the graph's layout, and refilled every call (again only
when the number of MVDepthNet measurement frames changes). With ``cuda_graph`` the whole graph is captured
once after a warm-up on a side stream and replayed: the inputs and the output then stay at fixed addresses.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from depth_ros.models.inference import inference_graph
from depth_ros.models.metadata import ModelMetadata
from depth_ros.runtime.engine import BackendError, DepthEngine, Device, Precision, network_view

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
        self._inputs: dict[str, torch.Tensor] = {}
        self._output = torch.from_numpy(self._depth)
        self._captured: tuple[torch.cuda.CUDAGraph, torch.Tensor] | None = None  # the graph and its output

    def describe(self) -> str:
        return super().describe() + (" with CUDA graph" if self.cuda_graph else "")

    @torch.inference_mode()
    def _run(self, inputs: dict[str, np.ndarray]) -> None:
        for spec in self.specs:
            source = torch.from_numpy(network_view(spec, inputs[spec.name]))
            target = self._inputs.get(spec.name)
            if target is None or target.shape != source.shape:
                dtype = torch.uint8 if spec.image else torch.float32
                self._inputs[spec.name] = target = torch.empty(source.shape, dtype=dtype, device=self.device)
                self._captured = None  # new addresses: a captured graph would read the old buffers
            target.copy_(source)
        if self.cuda_graph:
            if self._captured is None:
                self._captured = self._capture()
            graph, depth = self._captured
            graph.replay()
        else:
            depth = self._forward()
        self._output.copy_(depth[0, 0])

    def _forward(self) -> torch.Tensor:
        """(1, 1, H, W) depth from the input buffers."""
        # No autocast weight cache: each weight is cast once per pass anyway, and PyTorch's CUDA graph docs ask
        # for cache_enabled=False when autocast runs inside a capture.
        fp16 = (
            torch.autocast("cuda", dtype=torch.float16, cache_enabled=False)
            if self.precision == "fp16"
            else contextlib.nullcontext()
        )
        with fp16:
            return self._graph(*(self._inputs[spec.name] for spec in self.specs))

    def _capture(self) -> tuple[torch.cuda.CUDAGraph, torch.Tensor]:
        """Warm up on a side stream, then capture :meth:`_forward` into a CUDA graph; returns it and its output."""
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(CAPTURE_WARMUP):
                self._forward()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            depth = self._forward()
        return graph, depth
