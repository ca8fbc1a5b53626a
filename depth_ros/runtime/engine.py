"""One interface to every backend: numpy at network resolution in, depth in metres out.

A :class:`DepthEngine` runs the inference graph of :mod:`depth_ros.models.inference` (preprocessing and
postprocessing included), whatever runs it. Inputs are numpy arrays at the network resolution
``H x W`` of :attr:`DepthEngine.metadata`, in the camera's layout (channels last):

* Monodepth2: ``image`` (H, W, 3) uint8 RGB.
* MVDepthNet: ``reference`` (H, W, 3) uint8 RGB, ``measurements`` (N, H, W, 3) uint8 RGB,
  ``T_meas_ref`` (N, 4, 4) reference-to-measurement camera transforms (metres), ``K`` (3, 3) intrinsics
  at network resolution (pixels); float32 or float64. ``N`` is ``metadata.measurement_frames`` when the
  file fixes it (ONNX, TensorRT), any N >= 1 for the PyTorch backend (``measurement_frames == 0``).

The output is (H, W) float32 depth in metres, written into one buffer allocated when the engine is
made: :meth:`DepthEngine.infer` returns the same array every call, so **the next call overwrites it**;
copy it (``depth.copy()``) to keep it. An engine runs one call at a time; threads sharing one hold
:attr:`DepthEngine.lock` until they have copied the result.

:func:`open_engine` picks the backend from the file: a checkpoint (our ``.pt``, a Monodepth2 folder,
MVDepthNet's ``.pth.tar``), an ``.onnx`` file, or a TensorRT ``.engine``.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from depth_ros.errors import DepthRosError
from depth_ros.models.metadata import ModelMetadata

logger = logging.getLogger(__name__)

Runner = Literal["pytorch", "onnxruntime", "tensorrt"]
Backend = Literal["auto", Runner]
FileKind = Literal["checkpoint", "onnx", "tensorrt"]
Device = Literal["cpu", "cuda"]
Precision = Literal["fp32", "fp16"]
ENGINE_SUFFIXES = (".engine", ".plan")


class BackendError(DepthRosError):
    """A backend that is not available here, or a model file it cannot run."""


class EngineInputError(DepthRosError, ValueError):
    """An input array of the wrong name, shape or dtype."""


@dataclass(frozen=True)
class InputSpec:
    """One input as :meth:`DepthEngine.infer` takes it.

    Attributes:
        name: the input's name (also the inference graph's and the ONNX file's input name).
        shape: expected shape; ``"N"`` stands for the number of measurement frames (the same in every input).
        image: uint8 RGB (dtype must be uint8) rather than float values (any float dtype, cast to float32).
        network_axes: axis order that takes this array to the graph's layout (a batch axis is added in front).
        hint: what to do when the shape is wrong.
    """

    name: str
    shape: tuple[int | str, ...]
    image: bool
    network_axes: tuple[int, ...]
    hint: str

    def describe(self) -> str:
        dims = ", ".join(map(str, self.shape))
        return f"({dims}) {'uint8 RGB' if self.image else 'float'}"


def input_specs(metadata: ModelMetadata) -> tuple[InputSpec, ...]:
    """The inputs of ``metadata``'s architecture at its network size ``metadata.height x metadata.width``."""
    h, w = metadata.height, metadata.width
    resize = f"resize images to the network size {w}x{h} (and scale K with them)"
    if metadata.architecture == "monodepth2":
        return (InputSpec("image", (h, w, 3), True, (2, 0, 1), resize),)
    frames = metadata.measurement_frames or "N"
    return (
        InputSpec("reference", (h, w, 3), True, (2, 0, 1), resize),
        InputSpec("measurements", (frames, h, w, 3), True, (0, 3, 1, 2), resize),
        InputSpec("T_meas_ref", (frames, 4, 4), False, (0, 1, 2), "give one 4x4 transform per measurement image"),
        InputSpec("K", (3, 3), False, (0, 1), "give the 3x3 intrinsics at network resolution"),
    )


def network_view(spec: InputSpec, array: np.ndarray) -> np.ndarray:
    """A checked input in the graph's layout, as a view: images (1, 3, H, W), measurements (1, N, 3, H, W), ..."""
    return array.transpose(spec.network_axes)[None]


def native_network_view(spec: InputSpec, array: np.ndarray) -> np.ndarray:
    """:func:`network_view` of a checked input in the graph's dtype (uint8 images, float32 values), native byte
    order and non-negative strides, what ``torch.from_numpy`` takes (it refuses a ``[..., ::-1]`` view, ``>f4`` or
    ``np.longdouble``); only inputs that are not so already are copied."""
    dtype = np.dtype(np.uint8 if spec.image else np.float32)
    if array.dtype != dtype or min(array.strides, default=0) < 0:
        array = np.ascontiguousarray(array, dtype=dtype)
    return network_view(spec, array)


def example_inputs(metadata: ModelMetadata, rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """Inputs that :meth:`DepthEngine.infer` accepts: random images from ``rng`` (zeros without), a camera with
    focal length W and the principal point at the centre, and measurement cameras 0.1 m to the right of the
    reference one (N = ``metadata.measurement_frames`` or 1)."""
    frames = metadata.measurement_frames or 1
    inputs: dict[str, np.ndarray] = {}
    for spec in input_specs(metadata):
        shape = tuple(frames if isinstance(dim, str) else dim for dim in spec.shape)
        if spec.image:
            inputs[spec.name] = np.zeros(shape, np.uint8) if rng is None else rng.integers(0, 256, shape, np.uint8)
    if metadata.architecture == "mvdepthnet":
        w, h = metadata.width, metadata.height
        inputs["K"] = np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1]], np.float32)
        T = np.repeat(np.eye(4, dtype=np.float32)[None], frames, axis=0)
        T[:, 0, 3] = -0.1  # the measurement camera sits 0.1 m to the right: reference points move left in it
        inputs["T_meas_ref"] = T
    return inputs


class DepthEngine(ABC):
    """A depth network ready to run: :meth:`infer` numpy inputs (see the module docstring) into depth in metres.

    Attributes:
        metadata: the model's metadata (network size, depth range, scale type, measurement frames).
        backend: ``pytorch``, ``onnxruntime`` or ``tensorrt``.
        device: ``cpu`` or ``cuda``.
        precision: ``fp32`` or ``fp16``.
        lock: held by :meth:`infer` for the whole call: one engine serves one call at a time (its input and
            output buffers are shared). Threads sharing an engine hold it until they have copied the result:
            ``with engine.lock: depth = engine.infer(...).copy()`` (a reentrant lock).
    """

    backend: str = ""

    def __init__(self, metadata: ModelMetadata, device: Device, precision: Precision):
        self.metadata = metadata
        self.device = device
        self.precision = precision
        self.specs = input_specs(metadata)
        self._depth = np.zeros((metadata.height, metadata.width), np.float32)
        self.lock = threading.RLock()

    def describe(self) -> str:
        """One line for logs: backend, device, precision, model and size."""
        size = f"{self.metadata.width}x{self.metadata.height}"
        return f"{self.backend} {self.device} {self.precision} ({self.metadata.architecture} {size})"

    def infer(self, *args: np.ndarray, **kwargs: np.ndarray) -> np.ndarray:
        """Depth in metres, (H, W) float32, from inputs given in the order of :attr:`specs` or by name.

        The returned array is the engine's output buffer: the next call overwrites it. Calls from several
        threads run one after another (see :attr:`lock`).
        """
        with self.lock:
            self._run(self.check_inputs(args, kwargs))
            return self._depth

    def warmup(self, iterations: int = 3) -> None:
        """Run ``iterations`` inferences on :func:`example_inputs` (first-run allocations, autotuning, graphs)."""
        inputs = example_inputs(self.metadata)
        for _ in range(iterations):
            self.infer(**inputs)

    def check_inputs(self, args: tuple[np.ndarray, ...], kwargs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Inputs by name, checked against :attr:`specs`; raises :class:`EngineInputError` naming what is wrong."""
        model, names = self.metadata.architecture, [spec.name for spec in self.specs]
        if len(args) > len(names):
            raise EngineInputError(f"{model} takes {len(names)} inputs ({', '.join(names)}), got {len(args)}")
        inputs = dict(zip(names[: len(args)], args, strict=True))
        for name, value in kwargs.items():
            if name not in names or name in inputs:
                problem = "given twice" if name in inputs else "not an input"
                raise EngineInputError(f"{model} input {name!r} {problem}: expected {', '.join(names)}")
            inputs[name] = value
        missing = [name for name in names if name not in inputs]
        if missing:
            raise EngineInputError(f"{model} needs {', '.join(names)}; missing {', '.join(missing)}")
        dims: dict[str, int] = {}
        for spec in self.specs:
            self._check(spec, inputs[spec.name], dims)
        return inputs

    @abstractmethod
    def _run(self, inputs: dict[str, np.ndarray]) -> None:
        """Run the network on checked inputs and write depth into ``self._depth``."""

    def _check(self, spec: InputSpec, array: np.ndarray, dims: dict[str, int]) -> None:
        got = f"{getattr(array, 'shape', None)} {getattr(array, 'dtype', type(array).__name__)}"
        expected = f"{self.metadata.architecture} input {spec.name!r}: expected {spec.describe()}"
        if not isinstance(array, np.ndarray):
            raise EngineInputError(f"{expected}, got {type(array).__name__}: pass a numpy array")
        shape_ok = array.ndim == len(spec.shape)
        for want, have in zip(spec.shape, array.shape, strict=False):  # a wrong ndim is already not ok
            if isinstance(want, str):
                want = dims.setdefault(want, have)
                shape_ok = shape_ok and have >= 1
            shape_ok = shape_ok and want == have
        if not shape_ok:
            known = ", ".join(f"{k}={v}" for k, v in dims.items())
            raise EngineInputError(f"{expected}{f' ({known})' if known else ''}, got {got}: {spec.hint}")
        if spec.image and array.dtype != np.uint8:
            raise EngineInputError(f"{expected}, got {got}: pass RGB values 0..255 as uint8")
        if not spec.image and not np.issubdtype(array.dtype, np.floating):
            raise EngineInputError(f"{expected}, got {got}: pass float32 or float64")


def file_kind(path: Path) -> FileKind:
    """What a model file is, by its name: ``.onnx``, ``.engine``/``.plan`` (TensorRT), anything else a checkpoint."""
    if not Path(path).exists():
        raise BackendError(f"model file not found: {path}")
    suffix = Path(path).suffix.lower()
    if suffix == ".onnx":
        return "onnx"
    return "tensorrt" if suffix in ENGINE_SUFFIXES else "checkpoint"


_RUNNERS: dict[FileKind, tuple[Runner, ...]] = {
    "tensorrt": ("tensorrt",),
    "onnx": ("onnxruntime",),
    "checkpoint": ("pytorch", "onnxruntime"),
}
_ADVICE: dict[Runner, str] = {
    "tensorrt": "build an engine first: depth-ros build-engine MODEL.onnx --out MODEL.engine",
    "pytorch": "open the checkpoint the file was exported from",
    "onnxruntime": "open the ONNX file the engine was built from",
}


def choose_backend(kind: FileKind, architecture: str, backend: Backend, device: Device) -> Runner:
    """The backend that runs a file of ``kind``; ``auto``: the fastest one this file allows.

    * ``.engine``: TensorRT. ``.onnx``: ONNX Runtime (with its TensorRT or CUDA provider when ``device`` is
      ``cuda``); engines are not built implicitly (``depth-ros build-engine`` does that, once, explicitly).
    * checkpoint: PyTorch on CUDA; on the CPU, Monodepth2 through ONNX Runtime (exported once into a cache
      beside the weights: 1.5x faster than PyTorch eager with 2 threads in ``benchmarks/backends.py``) and
      MVDepthNet with PyTorch (ONNX Runtime is no faster on it).
    """
    runners = _RUNNERS[kind]
    if backend == "auto":
        if kind == "checkpoint":
            return "onnxruntime" if device == "cpu" and architecture == "monodepth2" else "pytorch"
        return runners[0]
    if backend not in runners:
        raise BackendError(
            f"the {backend} backend cannot run a {kind} file ({', '.join(runners)} can): {_ADVICE[backend]}"
        )
    return backend


def open_engine(
    path: Path | str,
    backend: Backend = "auto",
    device: Device = "cpu",
    precision: Precision | None = None,
    *,
    height: int | None = None,
    width: int | None = None,
    threads: int | None = None,
    cuda_graph: bool | None = None,
) -> DepthEngine:
    """A ready :class:`DepthEngine` for a model file; ``backend="auto"`` picks one (see :func:`choose_backend`)
    and logs the choice.

    Args:
        path: a checkpoint (our ``.pt``, a Monodepth2 folder, MVDepthNet's ``.pth.tar``), an ``.onnx`` file
            exported by depth_ros, or a TensorRT ``.engine`` built by ``depth-ros build-engine``.
        device: ``cpu`` or ``cuda`` (TensorRT engines always run on CUDA).
        precision: ``fp32`` (default) or ``fp16`` (CUDA only); a TensorRT engine runs at the precision it was
            built for, and asking for another one is an error.
        height, width: network input size (multiples of 32) for a checkpoint (default: its native size); an
            ONNX file or engine has a fixed size, which these must match if given.
        threads: ONNX Runtime intra-op threads (default: ONNX Runtime's choice); PyTorch uses
            ``torch.set_num_threads``.
        cuda_graph: PyTorch on CUDA: replay the network as one CUDA graph (default: on there; on an H200 it
            made the networks 1.3-5.3x faster than eager launches, README); ``False``: eager.

    If ``auto`` would export a checkpoint to ONNX but ``depth_ros.export`` is missing or the cache folder cannot
    be written, PyTorch runs it instead (logged).
    """
    path = Path(path)
    kind = file_kind(path)
    if kind == "checkpoint":
        from depth_ros.models.checkpoints import load_any

        network, metadata = load_any(path)
        if height is not None or width is not None:
            metadata = metadata.replace(height=height or metadata.height, width=width or metadata.width)
        chosen = choose_backend(kind, metadata.architecture, backend, device)
        if chosen == "onnxruntime":
            from depth_ros.runtime.onnx_cache import cached_onnx

            onnx_path = cached_onnx(path, network, metadata, required=backend == "onnxruntime")
            if onnx_path is not None:
                engine = _open_file(onnx_path, "onnxruntime", device, precision, threads, bool(cuda_graph))
                return _log_choice(engine, path, backend, f"exported to {onnx_path}")
            chosen = "pytorch"
        from depth_ros.runtime.pytorch_backend import PyTorchEngine

        graph = device == "cuda" if cuda_graph is None else cuda_graph
        engine = PyTorchEngine(network, metadata, device, precision or "fp32", cuda_graph=graph)
        return _log_choice(engine, path, backend, "")
    chosen = choose_backend(kind, "", backend, device)
    engine = _open_file(path, chosen, device, precision, threads, bool(cuda_graph))
    fixed = (engine.metadata.width, engine.metadata.height)
    asked = (width or fixed[0], height or fixed[1])
    if asked != fixed:
        raise BackendError(
            f"{path} runs at {fixed[0]}x{fixed[1]} only, not {asked[0]}x{asked[1]}: export (and build) it again "
            "at that size, or leave the size out"
        )
    return _log_choice(engine, path, backend, "")


def _open_file(
    path: Path, backend: Runner, device: Device, precision: Precision | None, threads: int | None, cuda_graph: bool
) -> DepthEngine:
    """An engine for an ONNX file (ONNX Runtime) or a TensorRT engine file."""
    if cuda_graph:
        raise BackendError(f"cuda_graph applies to the PyTorch backend only, not {backend}")
    if backend == "tensorrt":
        from depth_ros.runtime.tensorrt_platform import require_tensorrt

        require_tensorrt()
        from depth_ros.runtime.tensorrt_backend import TensorRTEngine

        return TensorRTEngine(path, precision)
    from depth_ros.runtime.onnxruntime_backend import OnnxRuntimeEngine

    return OnnxRuntimeEngine(path, device, precision or "fp32", threads)


def _log_choice(engine: DepthEngine, path: Path, requested: str, note: str) -> DepthEngine:
    how = "auto chose" if requested == "auto" else "using"
    logger.info("%s %s for %s%s", how, engine.describe(), path, f" ({note})" if note else "")
    return engine
