"""TensorRT 10.x backend: a serialized engine run with ``execute_async_v3`` on its own CUDA stream.

Loading reads the sidecar (:mod:`depth_ros.runtime.tensorrt_platform`): an engine built for another
TensorRT version or GPU is rebuilt from its source ONNX (same options, sha256 checked) or refused. Then
the engine is deserialized once, every I/O tensor gets a torch CUDA buffer of its static shape (allocated
once; the caching allocator aligns them to at least 256 bytes, as TensorRT requires), and its address is
set once with ``set_tensor_address``. Each call copies the inputs into those buffers, enqueues the engine
on a non-default stream (the default stream costs extra synchronisation), copies depth back into the
output buffer and waits for the stream.

Import this module only where TensorRT is installed (check with
:func:`~depth_ros.runtime.tensorrt_platform.require_tensorrt` first); it is typed against ``tensorrt-stubs``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import tensorrt as trt
import torch

from depth_ros.runtime.engine import BackendError, DepthEngine, Precision, native_network_view
from depth_ros.runtime.tensorrt_build import rebuild_engine
from depth_ros.runtime.tensorrt_platform import (
    EngineInfo,
    current_platform,
    engine_action,
    read_engine_info,
    require_tensorrt,
    source_onnx,
)

logger = logging.getLogger(__name__)


class TensorRTEngine(DepthEngine):
    """A TensorRT engine file built by ``depth-ros build-engine`` (see the module docstring).

    Args:
        path: the ``.engine`` file (its sidecar ``.engine.json`` beside it).
        precision: ``None`` to run as built, else it must be the precision the engine was built for.
    """

    backend = "tensorrt"

    def __init__(self, path: Path, precision: Precision | None = None):
        require_tensorrt()
        path = Path(path)
        info = _current_engine(path)
        if precision is not None and precision != info.precision:
            raise BackendError(
                f"{path} was built for {info.precision}, not {precision}: build it again "
                f"(depth-ros build-engine {'--fp16 ' if precision == 'fp16' else ''}MODEL.onnx --out {path})"
            )
        super().__init__(info.model, "cuda", info.precision)
        self._trt_logger = trt.Logger(trt.Logger.Severity.WARNING)
        self._runtime = trt.Runtime(self._trt_logger)
        self._engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        if self._engine is None:
            raise BackendError(f"TensorRT {trt.__version__} cannot deserialize {path} (see its log above)")
        self._context = self._engine.create_execution_context()
        self._stream = torch.cuda.Stream()
        self._tensors = self._allocate(path)
        self._output = torch.from_numpy(self._depth)

    def _allocate(self, path: Path) -> dict[str, torch.Tensor]:
        """One CUDA buffer per I/O tensor, its shape set and address bound in the execution context."""
        dtypes = {
            trt.DataType.FLOAT: torch.float32,
            trt.DataType.HALF: torch.float16,
            trt.DataType.UINT8: torch.uint8,
            trt.DataType.INT32: torch.int32,
            trt.DataType.INT64: torch.int64,
        }
        tensors = {}
        for index in range(self._engine.num_io_tensors):
            name = self._engine.get_tensor_name(index)
            dims = self._engine.get_tensor_shape(name)
            shape = tuple(dims[axis] for axis in range(len(dims)))
            dtype = dtypes.get(self._engine.get_tensor_dtype(name))
            if dtype is None or min(shape) < 1:
                raise BackendError(
                    f"{path}: tensor {name!r} is {self._engine.get_tensor_dtype(name)} {shape}; depth_ros engines have "
                    "static shapes and float/uint8 tensors: export and build the engine again with depth_ros"
                )
            if self._engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
                self._context.set_input_shape(name, shape)
            tensors[name] = torch.empty(shape, dtype=dtype, device="cuda")
            self._context.set_tensor_address(name, tensors[name].data_ptr())
        expected = {spec.name for spec in self.specs} | {"depth"}
        if set(tensors) != expected:
            raise BackendError(f"{path} has tensors {sorted(tensors)}, expected {sorted(expected)} for its metadata")
        return tensors

    def _run(self, inputs: dict[str, np.ndarray]) -> None:
        with torch.cuda.stream(self._stream):
            for spec in self.specs:
                self._tensors[spec.name].copy_(torch.from_numpy(native_network_view(spec, inputs[spec.name])))
            if not self._context.execute_async_v3(self._stream.cuda_stream):
                raise BackendError("TensorRT execute_async_v3 failed (see its log above)")
            self._output.copy_(self._tensors["depth"][0, 0])
        self._stream.synchronize()


def _current_engine(path: Path) -> EngineInfo:
    """The sidecar of ``path`` after rebuilding the engine if it was built for another platform."""
    if not path.is_file():
        raise BackendError(f"engine file not found: {path}")
    info = read_engine_info(path)
    if engine_action(path, info, current_platform(trt.__version__)) == "rebuild":
        onnx = source_onnx(path, info)
        logger.warning("%s was built for %s; rebuilding it from %s", path, info.platform.describe(), onnx)
        rebuild_engine(path, onnx, info)
        info = read_engine_info(path)
    return info
