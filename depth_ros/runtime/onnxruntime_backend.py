"""ONNX Runtime backend: an ONNX file exported by depth_ros, its metadata read from the file's ``metadata_props``.

Execution providers: ``CPUExecutionProvider`` on the CPU; on CUDA, ``TensorrtExecutionProvider`` (engine
and timing caches in ``<model>.ort_trt_cache/`` beside the file, fp16 when asked) and
``CUDAExecutionProvider``, whichever ``onnxruntime.get_available_providers()`` lists, with the CPU as the
fallback for nodes they do not take. Inputs and output are bound once (IO binding) to preallocated host
buffers: every call copies the inputs into them and ONNX Runtime writes depth straight into the output
buffer (no allocation per call; on CUDA it does the host-device copies itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from depth_ros.runtime.engine import BackendError, DepthEngine, Device, Precision, example_inputs, network_view

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
_ORT_TYPES = {"tensor(uint8)": np.uint8, "tensor(float)": np.float32}


def providers(
    device: Device, precision: Precision, available: list[str], cache: Path
) -> list[str | tuple[str, dict[str, Any]]]:
    """ONNX Runtime providers, best first, for ``device`` and ``precision`` given the ``available`` ones.

    Raises :class:`~depth_ros.runtime.engine.BackendError` when none fits: CUDA without the CUDA or TensorRT
    provider, or fp16 without the TensorRT provider (ONNX Runtime runs an fp32 file in fp32 otherwise).
    """
    if device == "cpu":
        if precision == "fp16":
            raise BackendError("fp16 needs device cuda; ONNX Runtime on the CPU runs fp32")
        return [CPU]
    chosen: list[str | tuple[str, dict[str, Any]]] = []
    if TENSORRT in available:
        options = {
            "trt_fp16_enable": precision == "fp16",
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache),
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(cache),
        }
        chosen.append((TENSORRT, options))
    elif precision == "fp16":
        raise BackendError(
            f"fp16 with ONNX Runtime needs its TensorRT provider, and this onnxruntime has {', '.join(available)}: "
            "use fp32, the tensorrt backend (depth-ros build-engine --fp16) or the pytorch backend"
        )
    if CUDA in available:
        chosen.append(CUDA)
    if not chosen:
        raise BackendError(
            f"device cuda asked for, but this onnxruntime has no CUDA or TensorRT provider ({', '.join(available)}): "
            "install onnxruntime-gpu, or use device cpu"
        )
    return [*chosen, CPU]


class OnnxRuntimeEngine(DepthEngine):
    """An ONNX file run by ONNX Runtime (see the module docstring).

    Args:
        path: ONNX file exported by depth_ros (its metadata in ``metadata_props[METADATA_KEY]``).
        device: ``cpu`` or ``cuda``.
        precision: ``fp32``, or ``fp16`` (TensorRT provider only).
        threads: intra-op threads (default: ONNX Runtime's, one per physical core).

    Attributes:
        providers: the providers the session runs with, best first.
    """

    backend = "onnxruntime"

    def __init__(self, path: Path, device: Device = "cpu", precision: Precision = "fp32", threads: int | None = None):
        import onnxruntime as ort

        from depth_ros.export.onnx_export import read_onnx_metadata

        path = Path(path)
        metadata = read_onnx_metadata(path)
        if metadata.architecture == "mvdepthnet" and not metadata.measurement_frames:
            raise BackendError(f"{path}: its metadata does not fix the measurement frames; export it with depth_ros")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # Idle worker threads sleep instead of spinning after each run: spinning keeps every core busy
        # between frames, slowing the rest of a node (conversions, resizing, publishing) on small CPUs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        cache = path.parent / f"{path.stem}.ort_trt_cache"
        chosen = providers(device, precision, ort.get_available_providers(), cache)
        if any(isinstance(provider, tuple) and provider[0] == TENSORRT for provider in chosen):
            cache.mkdir(exist_ok=True)
        try:
            session = ort.InferenceSession(str(path), options, providers=chosen)
        except Exception as error:  # onnxruntime raises its own exception types for unreadable/invalid files
            raise BackendError(f"ONNX Runtime cannot load {path}: {error}") from error
        super().__init__(metadata, device, precision)
        self.providers = session.get_providers()
        self._session = session
        self._binding, self._buffers = self._bind()

    def describe(self) -> str:
        return f"{super().describe()} [{', '.join(self.providers)}]"

    def _bind(self) -> tuple[Any, dict[str, np.ndarray]]:
        """Host buffers in the graph's layout, bound once as the session's inputs and output: (binding, buffers)."""
        import onnxruntime as ort

        example = example_inputs(self.metadata)
        declared = {node.name: node for node in self._session.get_inputs()}
        buffers = {}
        binding = self._session.io_binding()
        for spec in self.specs:
            shape = network_view(spec, example[spec.name]).shape
            dtype = np.uint8 if spec.image else np.float32
            node = declared.get(spec.name)
            if node is None or _ORT_TYPES.get(node.type) != dtype or not _fits(node.shape, shape):
                found = "none" if node is None else f"{node.shape} {node.type}"
                raise BackendError(
                    f"ONNX input {spec.name!r} should be {list(shape)} {np.dtype(dtype)} for this "
                    f"{self.metadata.architecture} metadata, the file has {found}: export the file again with depth_ros"
                )
            buffers[spec.name] = np.zeros(shape, dtype)
            binding.bind_ortvalue_input(spec.name, ort.OrtValue.ortvalue_from_numpy(buffers[spec.name]))
        (output,) = self._session.get_outputs()
        depth = self._depth.reshape(1, 1, *self._depth.shape)  # a view: ONNX Runtime writes into self._depth
        if output.type != "tensor(float)" or not _fits(output.shape, depth.shape):
            raise BackendError(f"ONNX output should be {list(depth.shape)} float32 depth, the file has {output.shape}")
        binding.bind_ortvalue_output(output.name, ort.OrtValue.ortvalue_from_numpy(depth))
        return binding, buffers

    def _run(self, inputs: dict[str, np.ndarray]) -> None:
        for spec in self.specs:
            np.copyto(self._buffers[spec.name], network_view(spec, inputs[spec.name]), casting="same_kind")
        self._session.run_with_iobinding(self._binding)


def _fits(declared: list[Any], shape: tuple[int, ...]) -> bool:
    """Whether an ONNX shape (ints, or names for free dimensions) admits ``shape``."""
    if len(declared) != len(shape):
        return False
    return all(not isinstance(d, int) or d == s for d, s in zip(declared, shape, strict=True))
