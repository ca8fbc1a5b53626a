"""Export a depth network's inference graph to ONNX, with its metadata embedded and beside it.

The graph is :func:`depth_ros.models.inference.inference_graph` (uint8 images in, depth in metres out),
traced by the legacy TorchScript exporter at opset 17 with a static input size:

* Monodepth2: ``image`` (1, 3, H, W) uint8 RGB -> ``depth`` (1, 1, H, W) float32.
* MVDepthNet: ``reference`` (1, 3, H, W) uint8 RGB, ``measurements`` (1, N, 3, H, W) uint8 RGB,
  ``T_meas_ref`` (1, N, 4, 4) float32 (reference-to-measurement camera transforms, metres), ``K`` (1, 3, 3)
  float32 (intrinsics at network resolution, pixels) -> ``depth`` (1, 1, H, W) float32 metres.

The :class:`~depth_ros.models.metadata.ModelMetadata`, updated with the export size and N, is stored as
JSON in the model's ``metadata_props`` under :data:`~depth_ros.models.metadata.METADATA_KEY` and in
``FILE.json`` beside ``FILE.onnx``. Before anything is written the model must pass ``onnx.checker``
(full check) and :func:`~depth_ros.export.tensorrt_ops.check_tensorrt_compatibility`; both files are
written atomically (a temporary file renamed over the target). An ONNX file is opened only if its weights
(floating-point initializers) hold no NaN or infinity.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn
from torch.jit import TracerWarning

from depth_ros.errors import DepthRosError
from depth_ros.export.tensorrt_ops import NEWEST_OPSET, TensorRTReport, check_tensorrt_compatibility
from depth_ros.models.inference import MONODEPTH2_INPUTS, MVDEPTHNET_INPUTS, OUTPUTS, inference_graph
from depth_ros.models.metadata import METADATA_KEY, SMALLEST_INPUT, ModelMetadata, check_input_size
from depth_ros.models.monodepth2 import Monodepth2
from depth_ros.models.mvdepthnet import MVDepthNet

OPSET = NEWEST_OPSET
DEFAULT_MEASUREMENT_FRAMES = 2
# align_corners of the GridSample nodes each architecture's graph must contain (MVDepthNet's cost volume
# samples with align_corners=True, see depth_ros.models.mvdepthnet); None: no expectation.
GRID_SAMPLE_ALIGN_CORNERS = {"monodepth2": None, "mvdepthnet": 1}
_NETWORK_TYPES = {"monodepth2": Monodepth2, "mvdepthnet": MVDepthNet}


class OnnxError(DepthRosError):
    """An ONNX export that cannot be made, or an ONNX file that cannot be used."""


def metadata_sidecar(onnx_path: Path) -> Path:
    """``FILE.json`` beside ``FILE.onnx``: the metadata, readable without ONNX."""
    return Path(onnx_path).with_suffix(".json")


def export_onnx(
    network: nn.Module,
    metadata: ModelMetadata,
    out: Path,
    height: int | None = None,
    width: int | None = None,
    measurement_frames: int = DEFAULT_MEASUREMENT_FRAMES,
) -> Path:
    """Write ``network``'s inference graph to ``out`` (``.onnx``) and its metadata to ``out``'s ``.json``.

    Args:
        network: a loaded :class:`Monodepth2` or :class:`MVDepthNet` of ``metadata.architecture``; its
            train/eval mode is restored afterwards.
        metadata: the network's metadata (e.g. from :func:`depth_ros.models.checkpoints.load_any`).
        out: the ONNX file to write (replaced if it exists).
        height, width: input size in pixels, multiples of 32, at least 64 for Monodepth2 (default: the
            metadata's).
        measurement_frames: measurement images N the MVDepthNet graph takes (ignored for Monodepth2).

    Returns:
        ``out``.

    Raises:
        OnnxError: a bad size, frame count or file name, or a graph that fails ``onnx.checker`` or the
            TensorRT check (nothing is written then).
    """
    out = Path(out)
    if out.suffix != ".onnx":
        raise OnnxError(f"the export file must end in .onnx (its metadata goes to FILE.json beside it), got {out}")
    exported = _export_metadata(metadata, height, width, measurement_frames)
    expected_type = _NETWORK_TYPES.get(exported.architecture)
    if expected_type is None or not isinstance(network, expected_type):
        raise OnnxError(
            f"metadata says {exported.architecture!r} but the network is a {type(network).__name__}: expected "
            "a Monodepth2 with monodepth2 metadata or an MVDepthNet with mvdepthnet metadata "
            "(load both with depth_ros.models.checkpoints.load_any)"
        )
    model = _trace(network, exported)
    onnx.helper.set_model_props(model, {METADATA_KEY: exported.to_json()})
    report = _check(model, exported, str(out))
    if not report.ok:
        raise OnnxError(f"{out} not written: {report.verdict()}")
    _write_atomically(out, model.SerializeToString())
    _write_atomically(metadata_sidecar(out), (exported.to_json() + "\n").encode())
    return out


def read_onnx_metadata(path: Path) -> ModelMetadata:
    """The :class:`ModelMetadata` embedded in an ONNX file written by :func:`export_onnx`."""
    return _embedded_metadata(_load(path), Path(path))


def verify_onnx(path: Path) -> TensorRTReport:
    """Run ``onnx.checker`` (raising :class:`OnnxError` on failure) and the TensorRT check on an exported file.

    The GridSample expectation comes from the architecture in the file's metadata.
    """
    path = Path(path)
    model = _load(path)
    return _check(model, _embedded_metadata(model, path), str(path))


def _export_metadata(
    metadata: ModelMetadata, height: int | None, width: int | None, measurement_frames: int
) -> ModelMetadata:
    """``metadata`` with the export size and measurement frame count, after checking them."""
    height = metadata.height if height is None else height
    width = metadata.width if width is None else width
    check_export_size(metadata.architecture, height, width)
    if metadata.architecture != "mvdepthnet":
        return metadata.replace(height=height, width=width, measurement_frames=0)
    if measurement_frames < 1:
        raise OnnxError(f"an MVDepthNet graph needs at least 1 measurement frame, got {measurement_frames}")
    return metadata.replace(height=height, width=width, measurement_frames=measurement_frames)


def check_export_size(architecture: str, height: int, width: int) -> None:
    """Raise :class:`OnnxError` naming the nearest valid size when ``height x width`` pixels cannot be a
    network input of ``architecture`` (multiples of 32, at least :data:`SMALLEST_INPUT`)."""
    try:
        check_input_size(architecture, height, width)
    except ValueError as error:
        smallest = SMALLEST_INPUT[architecture]
        raise OnnxError(
            f"{error}: try width {_multiple_of_32(width, smallest)} x height {_multiple_of_32(height, smallest)}"
        ) from error


def _multiple_of_32(size: int, smallest: int) -> int:
    return max(smallest, round(size / 32) * 32)


def _trace(network: nn.Module, metadata: ModelMetadata) -> onnx.ModelProto:
    """The inference graph of ``network`` traced to ONNX (through a temporary file), ``network``'s mode kept."""
    was_training = network.training
    graph = inference_graph(network, metadata)
    inputs = _example_inputs(metadata, next(network.parameters()).device)
    names = MONODEPTH2_INPUTS if metadata.architecture == "monodepth2" else MVDEPTHNET_INPUTS
    try:
        with tempfile.TemporaryDirectory(prefix="depth_ros_export_") as folder, warnings.catch_warnings():
            # The legacy exporter is chosen on purpose (it traces a static graph at the opset asked for,
            # without onnxscript): its deprecation notice is noise. The two tracer warnings silenced say
            # that constants (geometry's pixel grids) and image sizes (sampling_grid's W/2, H/2) are frozen
            # into the graph, which a static-size export intends; other tracer warnings (e.g. a tensor read
            # as a Python bool: data-dependent control flow) stay visible. The constant-folding notice is
            # about the reflection pads' index arithmetic, which TensorRT's importers evaluate (8.x and
            # 10.x accept a computed pads input). Errors still raise.
            warnings.filterwarnings("ignore", "You are using the legacy TorchScript-based", DeprecationWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx\.")
            warnings.filterwarnings("ignore", "torch.as_tensor results are registered as constants", TracerWarning)
            warnings.filterwarnings("ignore", "Converting a tensor to a Python float", TracerWarning)
            warnings.filterwarnings("ignore", "Constant folding - Only steps=1 can be constant folded", UserWarning)
            traced = Path(folder) / "graph.onnx"
            torch.onnx.export(
                graph,
                inputs,
                traced,
                input_names=list(names),
                output_names=list(OUTPUTS),
                opset_version=OPSET,
                dynamo=False,
                do_constant_folding=True,
            )
            model = onnx.load(traced)
        with torch.no_grad():
            outputs = graph(*inputs)
        _set_static_output_shapes(model, (outputs,) if isinstance(outputs, torch.Tensor) else tuple(outputs))
        return model
    finally:
        network.train(was_training)


def _set_static_output_shapes(model: onnx.ModelProto, outputs: tuple[torch.Tensor, ...]) -> None:
    """Write the traced outputs' shapes into the graph's outputs: the tracer leaves symbolic dimensions
    (``Muldepth_dim_0``) where its shape inference loses track (Monodepth2's reflection pads), though the
    graph is static-size; TensorRT and ONNX Runtime users read the output size from here."""
    for declared, value in zip(model.graph.output, outputs, strict=True):
        dims = declared.type.tensor_type.shape.dim
        del dims[:]
        for size in value.shape:
            dims.add().dim_value = int(size)


def _example_inputs(metadata: ModelMetadata, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Inputs of the export size for tracing (their values do not matter, their shapes and dtypes do)."""
    height, width = metadata.height, metadata.width
    image = torch.zeros(1, 3, height, width, dtype=torch.uint8, device=device)
    if metadata.architecture == "monodepth2":
        return (image,)
    frames = metadata.measurement_frames
    measurements = torch.zeros(1, frames, 3, height, width, dtype=torch.uint8, device=device)
    T_meas_ref = torch.eye(4, device=device).expand(1, frames, 4, 4).clone()
    T_meas_ref[..., 0, 3] = 0.1
    K = torch.tensor([[[width, 0.0, width / 2], [0.0, width, height / 2], [0.0, 0.0, 1.0]]], device=device)
    return image, measurements, T_meas_ref, K


def _check(model: onnx.ModelProto, metadata: ModelMetadata, source: str) -> TensorRTReport:
    """``onnx.checker`` (raises :class:`OnnxError`), then the TensorRT report."""
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        raise OnnxError(f"{source} is not a valid ONNX model: {error}") from error
    return check_tensorrt_compatibility(model, GRID_SAMPLE_ALIGN_CORNERS.get(metadata.architecture))


def _load(path: Path) -> onnx.ModelProto:
    """The ONNX model in ``path``; a missing, empty, unparsable or graph-less file, or one whose weights hold NaN
    or infinity, raises :class:`OnnxError`."""
    path = Path(path)
    if not path.is_file():
        raise OnnxError(f"ONNX file not found: {path}")
    if path.suffix.lower() == ".json":
        raise OnnxError(f"{path} is the metadata beside an ONNX file, not the model: pass {path.with_suffix('.onnx')}")
    if path.stat().st_size == 0:
        raise OnnxError(f"{path} is empty (0 bytes): the export or copy was cut short; export it again")
    try:
        model = onnx.load(path)
    except Exception as error:  # protobuf DecodeError, missing external data, ...
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise OnnxError(f"cannot read {path} as ONNX: {reason}. The file may be truncated or not ONNX") from error
    if not model.graph.node:
        raise OnnxError(f"{path} holds no ONNX graph: the file may be truncated or not ONNX; export it again")
    broken = _first_non_finite_initializer(model)
    if broken is not None:
        raise OnnxError(
            f"{path}: initializer {broken!r} holds NaN or infinite values: these weights are broken (exported from "
            "a training run that diverged, or a damaged file); export it again from a good checkpoint"
        )
    return model


def _first_non_finite_initializer(model: onnx.ModelProto) -> str | None:
    """The name of the first floating-point initializer of ``model`` holding NaN or infinity, or None."""
    for tensor in model.graph.initializer:
        values = numpy_helper.to_array(tensor)
        if np.issubdtype(values.dtype, np.floating) and not np.isfinite(values).all():
            return tensor.name
    return None


def _embedded_metadata(model: onnx.ModelProto, path: Path) -> ModelMetadata:
    text = next((p.value for p in model.metadata_props if p.key == METADATA_KEY), None)
    if text is None:
        raise OnnxError(
            f"{path} has no depth_ros metadata (metadata_props key {METADATA_KEY!r}): export it with depth-ros export"
        )
    try:
        return ModelMetadata.from_json(text)
    except (TypeError, ValueError) as error:
        raise OnnxError(f"{path} has unreadable depth_ros metadata: {error}: export it again") from error


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``.

    The file is created with mode 0o666 less the umask, as ``open`` would (``mkstemp`` would make it 0o600,
    unreadable to a ROS node running as another user).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
