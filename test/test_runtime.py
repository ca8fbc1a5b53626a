"""The runtime: one DepthEngine interface over PyTorch, ONNX Runtime and TensorRT, and the commands around it.

Lite networks with random weights at 96x64 keep this fast. What cannot run on this machine is marked in
skip reasons: CUDA (PyTorch fp16 and CUDA graphs, ONNX Runtime's CUDA/TensorRT providers) and TensorRT
itself (only its type stubs are installed here). The TensorRT logic that needs neither (the engine
sidecar, the platform check and the rebuild-or-refuse decision) is tested as plain functions, and the
TensorRT modules are type-checked with mypy against the stubs.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import logging
import os
import subprocess
import sys
import threading
import typing
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch
from test_cli import assert_clean_error, depth_ros
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from depth_ros.cli import main
from depth_ros.errors import DepthRosError
from depth_ros.export.onnx_export import export_onnx
from depth_ros.geometry.se3 import axis_angle_to_matrix, make_transform
from depth_ros.models import Monodepth2, MVDepthNet
from depth_ros.models.checkpoints import monodepth2_metadata, mvdepthnet_metadata, save_checkpoint
from depth_ros.models.inference import inference_graph
from depth_ros.models.metadata import ModelMetadata
from depth_ros.runtime import command
from depth_ros.runtime.benchmark import Row, format_table, measure
from depth_ros.runtime.engine import (
    BackendError,
    EngineInputError,
    Runner,
    choose_backend,
    example_inputs,
    input_specs,
    open_engine,
)
from depth_ros.runtime.onnx_cache import cache_path
from depth_ros.runtime.onnxruntime_backend import CPU, CUDA, TENSORRT, OnnxRuntimeEngine, providers
from depth_ros.runtime.pytorch_backend import PyTorchEngine
from depth_ros.runtime.tensorrt_platform import (
    EngineInfo,
    EngineMismatchError,
    Platform,
    TensorRTUnavailableError,
    engine_action,
    platform_mismatches,
    read_engine_info,
    require_tensorrt,
    sha256_file,
    sidecar_path,
    timing_cache_path,
    write_engine_info,
)

ROOT = Path(__file__).resolve().parents[1]
MONO_VARIANT: dict[str, Any] = {"num_layers": 18, "width": 0.25, "decoder_width": 0.25, "with_fc": False}
MVD_VARIANT: dict[str, Any] = {"width": 0.125, "planes": 64}
HEIGHT, WIDTH = 64, 96
FRAMES = 2
TOLERANCE = 1e-4  # relative depth difference between backends

HAS_CUDA = torch.cuda.is_available()
ORT_CUDA = CUDA in ort.get_available_providers()
try:
    require_tensorrt()
    HAS_TENSORRT = HAS_CUDA
except TensorRTUnavailableError:
    HAS_TENSORRT = False
NO_CUDA = "needs a CUDA GPU; this machine has none (CPU build of PyTorch)"
NO_TENSORRT = "needs TensorRT and a CUDA GPU; here `import tensorrt` finds only tensorrt-stubs"


class Model(typing.NamedTuple):
    network: torch.nn.Module
    metadata: ModelMetadata  # at HEIGHT x WIDTH, measurement frames not fixed
    checkpoint: Path
    onnx: Path  # exported at HEIGHT x WIDTH (MVDepthNet: FRAMES measurement frames)


def _model(folder: Path, network: torch.nn.Module, metadata: ModelMetadata) -> Model:
    metadata = metadata.replace(height=HEIGHT, width=WIDTH)
    checkpoint = save_checkpoint(folder / f"{metadata.architecture}.pt", network, metadata)
    onnx = export_onnx(network, metadata, folder / f"{metadata.architecture}.onnx", measurement_frames=FRAMES)
    return Model(network, metadata, checkpoint, onnx)


@pytest.fixture(scope="module")
def mono(tmp_path_factory: pytest.TempPathFactory) -> Model:
    """Lite Monodepth2 (ResNet-18 at a quarter width), its checkpoint and ONNX file. Do not modify."""
    torch.manual_seed(0)
    metadata = monodepth2_metadata(MONO_VARIANT, HEIGHT, WIDTH, False, "test")
    return _model(tmp_path_factory.mktemp("mono"), Monodepth2(**MONO_VARIANT).eval(), metadata)


@pytest.fixture(scope="module")
def mvd(tmp_path_factory: pytest.TempPathFactory) -> Model:
    """Lite MVDepthNet (an eighth of the width, 64 planes), its checkpoint and ONNX file. Do not modify."""
    torch.manual_seed(1)
    metadata = mvdepthnet_metadata(MVD_VARIANT, HEIGHT, WIDTH, "test")
    return _model(tmp_path_factory.mktemp("mvd"), MVDepthNet(**MVD_VARIANT).eval(), metadata)


@pytest.fixture(params=["mono", "mvd"])
def model(request: pytest.FixtureRequest) -> Model:
    return request.getfixturevalue(request.param)


def camera_inputs(metadata: ModelMetadata, frames: int = FRAMES, seed: int = 0) -> dict[str, np.ndarray]:
    """Random images; for MVDepthNet, measurement cameras a few centimetres and degrees from the reference."""
    rng = np.random.default_rng(seed)
    h, w = metadata.height, metadata.width
    if metadata.architecture == "monodepth2":
        return {"image": rng.integers(0, 256, (h, w, 3), dtype=np.uint8)}
    poses = [
        make_transform(axis_angle_to_matrix(np.array([0.01, -0.03 * i, 0.005])), np.array([0.08 * i, -0.01, 0.03]))
        for i in range(1, frames + 1)
    ]
    return {
        "reference": rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        "measurements": rng.integers(0, 256, (frames, h, w, 3), dtype=np.uint8),
        "T_meas_ref": np.stack(poses),  # float64: cast by the engine
        "K": np.array([[0.9 * w, 0, w / 2 - 0.5], [0, 0.9 * w, h / 2 - 0.5], [0, 0, 1]]),
    }


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.abs(b)))


# Backends agree ----------------------------------------------------------------------------------------


def test_pytorch_and_onnxruntime_give_the_same_depth(model: Model) -> None:
    pytorch = PyTorchEngine(model.network, model.metadata)
    onnxruntime = OnnxRuntimeEngine(model.onnx, threads=2)
    inputs = camera_inputs(model.metadata)
    expected = pytorch.infer(**inputs)
    depth = onnxruntime.infer(**inputs)
    assert depth.shape == (HEIGHT, WIDTH) and depth.dtype == np.float32
    assert np.all(np.isfinite(depth)) and np.all(depth > 0)
    assert relative_difference(depth, expected) <= TOLERANCE
    assert onnxruntime.providers == [CPU]
    if model.metadata.architecture == "mvdepthnet":
        assert onnxruntime.metadata.measurement_frames == FRAMES


def test_inputs_are_taken_by_position_or_by_name(mvd: Model) -> None:
    engine = OnnxRuntimeEngine(mvd.onnx)
    inputs = camera_inputs(mvd.metadata)
    by_name = engine.infer(**inputs).copy()
    assert np.array_equal(engine.infer(*inputs.values()), by_name)
    assert np.array_equal(engine.infer(inputs["reference"], inputs["measurements"], K=inputs["K"],
                                       T_meas_ref=inputs["T_meas_ref"]), by_name)  # fmt: skip


def _unusual_layouts(inputs: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """The same values as arrays a caller may well pass: RGB views of BGR images with negative strides, and
    (MVDepthNet) K in big-endian float32 or in extended precision."""
    bgr = {name: np.ascontiguousarray(value[..., ::-1]) for name, value in inputs.items() if value.dtype == np.uint8}
    variants = {"rgb view of bgr": {**inputs, **{name: value[..., ::-1] for name, value in bgr.items()}}}
    if "K" in inputs:
        variants["big-endian K"] = {**inputs, "K": inputs["K"].astype(">f4")}
        variants["longdouble K"] = {**inputs, "K": inputs["K"].astype(np.longdouble)}
    return variants


@pytest.mark.parametrize("backend", ["pytorch", "onnxruntime"])
def test_views_and_other_byte_orders_give_the_same_depth(model: Model, backend: str) -> None:
    engine = PyTorchEngine(model.network, model.metadata) if backend == "pytorch" else OnnxRuntimeEngine(model.onnx)
    inputs = camera_inputs(model.metadata)
    expected = engine.infer(**inputs).copy()
    for layout, variant in _unusual_layouts(inputs).items():
        np.testing.assert_array_equal(engine.infer(**variant), expected, err_msg=layout)


def test_pytorch_takes_any_number_of_measurement_frames(mvd: Model) -> None:
    """A checkpoint does not fix N (``measurement_frames == 0``): buffers follow the frames given."""
    engine = PyTorchEngine(mvd.network, mvd.metadata)
    assert engine.metadata.measurement_frames == 0
    one = engine.infer(**camera_inputs(mvd.metadata, frames=1)).copy()
    three = engine.infer(**camera_inputs(mvd.metadata, frames=3)).copy()
    assert np.all(np.isfinite(one)) and np.all(np.isfinite(three))
    assert not np.array_equal(one, three)


# The output buffer -------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["pytorch", "onnxruntime"])
def test_output_buffer_is_reused_and_overwritten_by_the_next_call(model: Model, backend: str) -> None:
    engine = PyTorchEngine(model.network, model.metadata) if backend == "pytorch" else OnnxRuntimeEngine(model.onnx)
    first = engine.infer(**camera_inputs(model.metadata, seed=1))
    kept, address = first.copy(), first.ctypes.data
    second = engine.infer(**camera_inputs(model.metadata, seed=2))
    assert second is first and second.ctypes.data == address  # the same array and memory every call ...
    assert not np.array_equal(first, kept)  # ... so the first result is gone
    again = engine.infer(**camera_inputs(model.metadata, seed=1))
    assert np.array_equal(again, kept)  # and the buffer holds each call's full result


@pytest.mark.parametrize("backend", ["pytorch", "onnxruntime"])
def test_threads_sharing_an_engine_each_get_their_own_result(mono: Model, backend: str) -> None:
    engine = PyTorchEngine(mono.network, mono.metadata) if backend == "pytorch" else OnnxRuntimeEngine(mono.onnx)
    inputs = [camera_inputs(mono.metadata, seed=seed) for seed in (1, 2)]
    expected = [engine.infer(**each).copy() for each in inputs]
    wrong = [0, 0]

    def run(index: int) -> None:
        for _ in range(30):
            with engine.lock:
                depth = engine.infer(**inputs[index]).copy()
            wrong[index] += not np.array_equal(depth, expected[index])

    threads = [threading.Thread(target=run, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == [0, 0]


# Input checks ------------------------------------------------------------------------------------------


def test_wrong_image_size_says_what_was_expected_and_what_to_do(mono: Model) -> None:
    engine = OnnxRuntimeEngine(mono.onnx)
    with pytest.raises(EngineInputError) as caught:
        engine.infer(np.zeros((HEIGHT, WIDTH + 32, 3), np.uint8))
    message = str(caught.value)
    for fragment in ("'image'", f"({HEIGHT}, {WIDTH}, 3) uint8 RGB", f"({HEIGHT}, {WIDTH + 32}, 3)", "resize"):
        assert fragment in message, (fragment, message)
    assert isinstance(caught.value, DepthRosError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (lambda x: {**x, "reference": x["reference"].astype(np.float32)}, ["'reference'", "float32", "uint8"]),
        (lambda x: {**x, "measurements": x["measurements"][0]}, ["'measurements'", "(2, 64, 96, 3)", "resize"]),
        (lambda x: {**x, "T_meas_ref": x["T_meas_ref"][:1]}, ["'T_meas_ref'", "(2, 4, 4)", "one 4x4 transform"]),
        (lambda x: {**x, "K": x["K"].astype(np.int64)}, ["'K'", "int64", "float32 or float64"]),
        (lambda x: {**x, "K": x["K"].tolist()}, ["'K'", "list", "numpy array"]),
        (lambda x: {k: v for k, v in x.items() if k != "K"}, ["missing K"]),
        (lambda x: {**x, "depth": x["K"]}, ["'depth' not an input", "reference, measurements, T_meas_ref, K"]),
    ],
    ids=["float-image", "one-frame-missing-axis", "too-few-poses", "int-intrinsics", "list", "missing", "unknown"],
)
def test_wrong_mvdepthnet_inputs_are_clear_errors(mvd: Model, change, fragments: list[str]) -> None:
    engine = OnnxRuntimeEngine(mvd.onnx)
    with pytest.raises(EngineInputError) as caught:
        engine.infer(**change(camera_inputs(mvd.metadata)))
    for fragment in fragments:
        assert fragment in str(caught.value), (fragment, str(caught.value))


def test_too_many_or_repeated_inputs_are_clear_errors(mono: Model) -> None:
    engine = PyTorchEngine(mono.network, mono.metadata)
    image = camera_inputs(mono.metadata)["image"]
    with pytest.raises(EngineInputError, match="takes 1 inputs"):
        engine.infer(image, image)
    with pytest.raises(EngineInputError, match="'image' given twice"):
        engine.infer(image, image=image)


def test_example_inputs_fit_and_warmup_runs(model: Model) -> None:
    engine = OnnxRuntimeEngine(model.onnx)
    engine.warmup(2)
    inputs = example_inputs(engine.metadata, np.random.default_rng(0))
    assert set(inputs) == {spec.name for spec in engine.specs}
    assert np.all(np.isfinite(engine.infer(**inputs)))


# Opening files -----------------------------------------------------------------------------------------


def test_open_engine_picks_the_backend_by_file_type(model: Model, tmp_path: Path) -> None:
    assert isinstance(open_engine(model.checkpoint, "pytorch"), PyTorchEngine)
    assert isinstance(open_engine(model.onnx), OnnxRuntimeEngine)
    engine_file = tmp_path / "model.engine"
    engine_file.write_bytes(b"not an engine")
    if not HAS_TENSORRT:
        with pytest.raises(TensorRTUnavailableError, match="TensorRT is not installed"):
            open_engine(engine_file)
    with pytest.raises(BackendError, match="build an engine first: depth-ros build-engine"):
        open_engine(model.onnx, "tensorrt")
    with pytest.raises(BackendError, match="the pytorch backend cannot run a onnx file"):
        open_engine(model.onnx, "pytorch")
    with pytest.raises(BackendError, match="model file not found"):
        open_engine(tmp_path / "missing.onnx")


def test_auto_logs_its_choice(mono: Model, mvd: Model, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="depth_ros.runtime")
    assert isinstance(open_engine(mvd.checkpoint), PyTorchEngine)
    assert f"auto chose pytorch cpu fp32 (mvdepthnet {WIDTH}x{HEIGHT}) for {mvd.checkpoint}" in caplog.text
    assert isinstance(open_engine(mvd.onnx), OnnxRuntimeEngine)
    assert f"auto chose onnxruntime cpu fp32 (mvdepthnet {WIDTH}x{HEIGHT}) [{CPU}] for {mvd.onnx}" in caplog.text
    caplog.clear()
    open_engine(mono.checkpoint, "pytorch")
    assert "using pytorch cpu fp32" in caplog.text


def test_auto_runs_a_monodepth2_checkpoint_on_the_cpu_through_a_cached_onnx_export(
    mono: Model, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="depth_ros.runtime")
    checkpoint = save_checkpoint(tmp_path / "weights.pt", mono.network, mono.metadata)
    engine = open_engine(checkpoint)
    cached = cache_path(checkpoint, mono.metadata)
    assert isinstance(engine, OnnxRuntimeEngine) and cached.is_file()
    assert cached.parent == tmp_path / ".depth_ros_cache"
    assert "auto chose onnxruntime" in caplog.text and f"exported to {cached}" in caplog.text
    inputs = camera_inputs(mono.metadata)
    expected = PyTorchEngine(mono.network, mono.metadata).infer(**inputs)
    assert relative_difference(engine.infer(**inputs), expected) <= TOLERANCE

    exported_at = cached.stat().st_mtime_ns
    open_engine(checkpoint)
    assert cached.stat().st_mtime_ns == exported_at  # reused
    later = exported_at / 1e9 + 10
    os.utime(checkpoint, (later, later))
    open_engine(checkpoint)
    assert cached.stat().st_mtime_ns == exported_at  # the same bytes touched: still reused


def test_a_checkpoint_replaced_by_an_older_file_is_exported_again(mono: Model, tmp_path: Path) -> None:
    """``cp -p``, ``rsync -a`` and ``tar x`` keep the old modification time: the cache must look at the bytes."""
    checkpoint = save_checkpoint(tmp_path / "weights.pt", mono.network, mono.metadata)
    inputs = camera_inputs(mono.metadata)
    before = open_engine(checkpoint, "onnxruntime").infer(**inputs).copy()
    first_export = cache_path(checkpoint, mono.metadata)
    replacement = save_checkpoint(tmp_path / "other.pt", mono.network, mono.metadata.replace(scale_factor=3.0))
    an_hour_ago = first_export.stat().st_mtime - 3600
    os.utime(replacement, (an_hour_ago, an_hour_ago))
    os.replace(replacement, checkpoint)
    after = open_engine(checkpoint, "onnxruntime").infer(**inputs)
    np.testing.assert_allclose(after, 3.0 * before, rtol=1e-5)
    assert not first_export.exists() and not first_export.with_suffix(".json").exists()  # the old export is gone


def test_an_mvdepthnet_checkpoint_runs_its_own_measurement_frames_on_every_backend(mvd: Model, tmp_path: Path) -> None:
    checkpoint = save_checkpoint(tmp_path / "one_frame.pt", mvd.network, mvd.metadata.replace(measurement_frames=1))
    pytorch, onnxruntime = open_engine(checkpoint, "pytorch"), open_engine(checkpoint, "onnxruntime")
    assert pytorch.metadata.measurement_frames == onnxruntime.metadata.measurement_frames == 1
    inputs = camera_inputs(mvd.metadata, frames=1)
    assert relative_difference(onnxruntime.infer(**inputs), pytorch.infer(**inputs)) <= TOLERANCE


def test_a_bgr_mvdepthnet_checkpoint_takes_rgb_on_every_backend(mvd: Model, tmp_path: Path) -> None:
    """Weights that expect BGR (published MVDepthNet) take RGB images like any other: PyTorch and ONNX Runtime
    (through the cached export) both give the depth the same weights marked RGB give on the reversed images."""
    checkpoint = save_checkpoint(tmp_path / "bgr.pt", mvd.network, mvd.metadata.replace(channel_order="bgr"))
    pytorch, onnxruntime = open_engine(checkpoint, "pytorch"), open_engine(checkpoint, "onnxruntime")
    assert pytorch.metadata.channel_order == onnxruntime.metadata.channel_order == "bgr"
    inputs = camera_inputs(mvd.metadata)
    reversed_images = {
        **inputs,
        "reference": inputs["reference"][..., ::-1],
        "measurements": inputs["measurements"][..., ::-1],
    }
    expected = PyTorchEngine(mvd.network, mvd.metadata).infer(**reversed_images).copy()
    assert relative_difference(pytorch.infer(**inputs), expected) <= TOLERANCE
    assert relative_difference(onnxruntime.infer(**inputs), expected) <= TOLERANCE


def test_a_checkpoint_opens_at_another_size_and_an_onnx_file_only_at_its_own(mono: Model) -> None:
    engine = open_engine(mono.checkpoint, "pytorch", height=HEIGHT + 32)
    assert (engine.metadata.height, engine.metadata.width) == (HEIGHT + 32, WIDTH)
    assert engine.infer(np.zeros((HEIGHT + 32, WIDTH, 3), np.uint8)).shape == (HEIGHT + 32, WIDTH)
    with pytest.raises(BackendError, match=f"runs at {WIDTH}x{HEIGHT} only, not {WIDTH}x{HEIGHT + 32}"):
        open_engine(mono.onnx, height=HEIGHT + 32)


@pytest.mark.parametrize(
    ("kind", "architecture", "device", "expected"),
    [
        ("tensorrt", "monodepth2", "cuda", "tensorrt"),
        ("onnx", "mvdepthnet", "cpu", "onnxruntime"),
        ("onnx", "monodepth2", "cuda", "onnxruntime"),
        ("checkpoint", "monodepth2", "cpu", "onnxruntime"),
        ("checkpoint", "mvdepthnet", "cpu", "pytorch"),
        ("checkpoint", "monodepth2", "cuda", "pytorch"),
    ],
)
def test_auto_choice_per_file_and_device(kind, architecture, device, expected) -> None:
    assert choose_backend(kind, architecture, "auto", device) == expected


def test_onnxruntime_providers_follow_device_precision_and_what_is_installed(tmp_path: Path) -> None:
    everything = [TENSORRT, CUDA, CPU]
    assert providers("cpu", "fp32", everything, tmp_path) == [CPU]
    chosen = providers("cuda", "fp16", everything, tmp_path)
    assert [p if isinstance(p, str) else p[0] for p in chosen] == [TENSORRT, CUDA, CPU]
    options = chosen[0][1]
    assert options["trt_fp16_enable"] is True and options["trt_engine_cache_path"] == str(tmp_path)
    assert providers("cuda", "fp32", [CUDA, CPU], tmp_path) == [CUDA, CPU]
    with pytest.raises(BackendError, match="needs its TensorRT provider"):
        providers("cuda", "fp16", [CUDA, CPU], tmp_path)
    with pytest.raises(BackendError, match="install onnxruntime-gpu"):
        providers("cuda", "fp32", [CPU], tmp_path)
    with pytest.raises(BackendError, match="fp16 needs device cuda"):
        providers("cpu", "fp16", everything, tmp_path)


@pytest.mark.skipif(HAS_CUDA, reason="checks the error on a machine without CUDA")
def test_cuda_without_a_gpu_is_a_clear_error(mono: Model) -> None:
    with pytest.raises(BackendError, match="no CUDA device: install a CUDA build of PyTorch"):
        PyTorchEngine(mono.network, mono.metadata, "cuda")
    with pytest.raises(BackendError, match="fp16 needs device cuda"):
        PyTorchEngine(mono.network, mono.metadata, "cpu", "fp16")
    if not ORT_CUDA:
        with pytest.raises(BackendError, match="no CUDA or TensorRT provider"):
            open_engine(mono.onnx, device="cuda")


def test_an_onnx_file_without_depth_ros_metadata_is_refused(mono: Model, tmp_path: Path) -> None:
    import onnx

    model = onnx.load(mono.onnx)
    del model.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(model, bare)
    with pytest.raises(DepthRosError, match="no depth_ros metadata"):
        OnnxRuntimeEngine(bare)


@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
def test_an_onnx_file_with_non_finite_weights_is_refused_naming_the_initializer(
    mono: Model, tmp_path: Path, value: float
) -> None:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(mono.onnx)
    floats = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT and np.prod(t.dims) > 1]
    first, later = floats[len(floats) // 3], floats[2 * len(floats) // 3]
    for tensor in (later, first):
        weights = numpy_helper.to_array(tensor).copy()
        weights.flat[weights.size // 2] = value
        tensor.CopyFrom(numpy_helper.from_array(weights, tensor.name))
    broken = tmp_path / "broken.onnx"
    onnx.save(model, broken)
    for load in (OnnxRuntimeEngine, open_engine):
        with pytest.raises(DepthRosError) as raised:
            load(broken)
        message = str(raised.value)
        assert str(broken) in message and f"{first.name!r} holds NaN or infinite values" in message, message
        assert later.name not in message


class HostTensorsSeen(TorchDispatchMode):
    """Records every operator that receives a CPU tensor while the computation runs elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.operators: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        leaves = tree_leaves((args, kwargs))
        if any(isinstance(x, torch.Tensor) and x.device.type == "cpu" for x in leaves):
            self.operators.append(str(func))
        return func(*args, **kwargs)


@pytest.mark.parametrize("channel_order", ["rgb", "bgr"])
@pytest.mark.parametrize("architecture", ["monodepth2", "mvdepthnet"])
def test_inference_graphs_take_no_host_tensors_while_running(architecture: str, channel_order: str) -> None:
    """On a GPU, a tensor made on the host inside forward() is a blocking copy on every call, and CUDA
    graph capture refuses it. Run on the meta device, any CPU tensor reaching an operator is one."""
    with torch.device("meta"):
        if architecture == "monodepth2":
            network: torch.nn.Module = Monodepth2(**MONO_VARIANT)
            metadata = monodepth2_metadata(MONO_VARIANT, HEIGHT, WIDTH, False, "test")
        else:
            network = MVDepthNet(**MVD_VARIANT)
            metadata = mvdepthnet_metadata(MVD_VARIANT, HEIGHT, WIDTH, "test").replace(measurement_frames=FRAMES)
        graph = inference_graph(network, metadata.replace(channel_order=channel_order))
        specs = input_specs(metadata)
        shapes = [(1, *(spec.shape[axis] for axis in spec.network_axes)) for spec in specs]
        dtypes = [torch.uint8 if spec.image else torch.float32 for spec in specs]
        inputs = [torch.empty(shape, dtype=dtype) for shape, dtype in zip(shapes, dtypes, strict=True)]
    with torch.inference_mode(), HostTensorsSeen() as seen:
        depth = graph(*inputs)
    assert depth.shape == (1, 1, HEIGHT, WIDTH)
    assert seen.operators == [], "host tensors enter the graph: a blocking host-to-device copy each on a GPU"


# CUDA (skipped here) -----------------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_CUDA, reason=NO_CUDA)
@pytest.mark.parametrize(("precision", "cuda_graph", "tolerance"), [("fp32", False, 1e-3), ("fp16", True, 2e-2)])
def test_pytorch_on_cuda_matches_the_cpu(model: Model, precision: str, cuda_graph: bool, tolerance: float) -> None:
    inputs = camera_inputs(model.metadata)
    expected = PyTorchEngine(model.network, model.metadata).infer(**inputs).copy()
    network = copy.deepcopy(model.network)  # the engine moves it to the GPU
    engine = PyTorchEngine(network, model.metadata, "cuda", precision, cuda_graph=cuda_graph)
    first = engine.infer(**inputs)
    assert relative_difference(first, expected) <= tolerance
    assert engine.infer(**inputs) is first


@pytest.mark.skipif(not HAS_CUDA, reason=NO_CUDA)
def test_a_checkpoint_on_cuda_replays_a_cuda_graph_for_each_number_of_frames(mvd: Model) -> None:
    engine = open_engine(mvd.checkpoint, device="cuda")
    assert isinstance(engine, PyTorchEngine) and engine.cuda_graph
    assert not typing.cast(PyTorchEngine, open_engine(mvd.checkpoint, device="cuda", cuda_graph=False)).cuda_graph
    on_cpu = PyTorchEngine(mvd.network, mvd.metadata)
    for frames in (2, 1, 2):  # a graph and input buffers per number of measurement frames, each reused
        inputs = camera_inputs(mvd.metadata, frames, seed=frames)
        assert relative_difference(engine.infer(**inputs), on_cpu.infer(**inputs)) <= 1e-3


@pytest.mark.skipif(not ORT_CUDA, reason="needs onnxruntime-gpu and a CUDA GPU; here only the CPU provider exists")
def test_onnxruntime_on_cuda_matches_the_cpu(model: Model) -> None:
    inputs = camera_inputs(model.metadata)
    expected = OnnxRuntimeEngine(model.onnx).infer(**inputs).copy()
    assert relative_difference(OnnxRuntimeEngine(model.onnx, "cuda").infer(**inputs), expected) <= 1e-3


@pytest.mark.skipif(not HAS_TENSORRT, reason=NO_TENSORRT)
def test_tensorrt_engine_matches_onnxruntime_and_is_rebuilt_for_another_platform(model: Model, tmp_path: Path) -> None:
    from depth_ros.runtime.tensorrt_build import build_engine

    engine_file = build_engine(model.onnx, tmp_path / "model.engine")
    inputs = camera_inputs(model.metadata)
    expected = OnnxRuntimeEngine(model.onnx).infer(**inputs).copy()
    assert relative_difference(open_engine(engine_file).infer(**inputs), expected) <= 1e-3
    info = read_engine_info(engine_file)
    elsewhere = Platform("9.9.9", info.platform.gpu_name, info.platform.compute_capability)
    write_engine_info(engine_file, dataclasses.replace(info, platform=elsewhere))
    open_engine(engine_file)
    assert read_engine_info(engine_file).platform == info.platform


# TensorRT without TensorRT -----------------------------------------------------------------------------

BUILT = Platform("10.3.0", "Orin", "8.7")


def engine_with_sidecar(folder: Path, onnx_bytes: bytes | None, platform: Platform = BUILT) -> tuple[Path, EngineInfo]:
    """A fake engine file, its sidecar, and (unless ``onnx_bytes`` is None) its source ONNX file in ``folder``."""
    onnx = folder / "model.onnx"
    onnx.write_bytes(b"the onnx file as built")
    info = EngineInfo(
        platform=platform,
        precision="fp16",
        workspace_mb=512,
        dla_core=0,
        onnx="model.onnx",
        onnx_sha256=sha256_file(onnx),
        model=monodepth2_metadata(MONO_VARIANT, HEIGHT, WIDTH, True, "test"),
    )
    if onnx_bytes is None:
        onnx.unlink()
    else:
        onnx.write_bytes(onnx_bytes)
    engine = folder / "model.engine"
    engine.write_bytes(b"plan")
    write_engine_info(engine, info)
    return engine, info


def test_engine_sidecar_round_trips_beside_the_engine(tmp_path: Path) -> None:
    engine, info = engine_with_sidecar(tmp_path, b"the onnx file as built")
    assert sidecar_path(engine) == tmp_path / "model.engine.json"
    assert read_engine_info(engine) == info
    text = sidecar_path(engine).read_text()
    for key in ("tensorrt_version", "gpu_name", "compute_capability", "precision", "onnx_sha256", "scale_type"):
        assert key in text
    assert '"channel_order": "rgb"' in text  # the model's metadata whole: an engine of BGR weights says so


def test_an_engine_without_its_sidecar_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.engine").write_bytes(b"plan")
    with pytest.raises(BackendError, match=r"sidecar model\.engine\.json is missing.*depth-ros build-engine"):
        read_engine_info(tmp_path / "model.engine")
    sidecar_path(tmp_path / "model.engine").write_text("{not json")
    with pytest.raises(BackendError, match="is unreadable"):
        read_engine_info(tmp_path / "model.engine")


def test_platform_mismatches_name_each_difference() -> None:
    assert platform_mismatches(BUILT, BUILT) == []
    newer = platform_mismatches(BUILT, Platform("10.7.0", "Orin", "8.7"))
    assert newer == ["TensorRT 10.3.0 (engine) != 10.7.0 (here)"]
    desktop = platform_mismatches(BUILT, Platform("10.3.0", "NVIDIA GeForce RTX 4090", "8.9"))
    assert desktop == ["GPU Orin sm 8.7 (engine) != NVIDIA GeForce RTX 4090 sm 8.9 (here)"]
    assert len(platform_mismatches(BUILT, Platform("10.7.0", "Orin", "8.6"))) == 2


def test_an_engine_for_this_platform_is_loaded(tmp_path: Path) -> None:
    engine, info = engine_with_sidecar(tmp_path, None)  # the ONNX does not matter then
    assert engine_action(engine, info, BUILT) == "load"


def test_an_engine_for_another_platform_is_rebuilt_from_its_unchanged_onnx(tmp_path: Path) -> None:
    engine, info = engine_with_sidecar(tmp_path, b"the onnx file as built")
    assert engine_action(engine, info, Platform("10.7.0", "Orin", "8.7")) == "rebuild"


@pytest.mark.parametrize(("onnx_bytes", "why"), [(None, "is gone"), (b"another model", "sha256 differs")])
def test_an_engine_for_another_platform_without_its_onnx_is_refused(
    tmp_path: Path, onnx_bytes: bytes | None, why: str
) -> None:
    engine, info = engine_with_sidecar(tmp_path, onnx_bytes)
    with pytest.raises(EngineMismatchError) as caught:
        engine_action(engine, info, Platform("10.3.0", "NVIDIA GeForce RTX 4090", "8.9"))
    message = str(caught.value)
    for fragment in ("built for another platform", "GPU Orin sm 8.7", why, "depth-ros build-engine"):
        assert fragment in message, (fragment, message)


def test_timing_cache_is_per_tensorrt_version_and_compute_capability(tmp_path: Path) -> None:
    assert timing_cache_path(tmp_path / "a.engine", BUILT) == tmp_path / "tensorrt-10.3.0-sm87.timing-cache"
    assert timing_cache_path(tmp_path / "b.engine", BUILT) == timing_cache_path(tmp_path / "a.engine", BUILT)


@pytest.mark.skipif(HAS_TENSORRT, reason="checks the error on a machine without TensorRT")
def test_tensorrt_stubs_alone_are_not_tensorrt(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("tensorrt") is not None:  # the stubs (requirements/typecheck.txt) are installed
        with pytest.raises(TensorRTUnavailableError, match="TensorRT is not installed: `import tensorrt` finds only"):
            require_tensorrt()
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # as if nothing named tensorrt were installed
    with pytest.raises(TensorRTUnavailableError, match=r"TensorRT is not installed: .*tensorrt"):
        require_tensorrt()


def test_tensorrt_modules_pass_mypy_against_the_stubs(tmp_path: Path) -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (requirements/test.txt)")
    if importlib.util.find_spec("tensorrt_bindings") is None:
        pytest.skip("tensorrt-stubs is not installed (requirements/typecheck.txt)")
    stubs = tmp_path / "stubs"
    repair = subprocess.run([sys.executable, "tools/repair_tensorrt_stubs.py", stubs], cwd=ROOT, capture_output=True)
    assert repair.returncode == 0, repair.stderr
    modules = ["depth_ros/runtime/tensorrt_build.py", "depth_ros/runtime/tensorrt_backend.py"]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "MYPYPATH": str(stubs)},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


# Commands ----------------------------------------------------------------------------------------------


@pytest.mark.skipif(HAS_TENSORRT, reason="checks the error on a machine without TensorRT")
def test_build_engine_without_tensorrt_is_a_clean_error(mono: Model, tmp_path: Path) -> None:
    result = depth_ros("build-engine", mono.onnx, "--out", tmp_path / "mono.engine", "--fp16")
    assert_clean_error(result, "TensorRT is not installed")
    assert not (tmp_path / "mono.engine").exists()


def test_build_engine_of_a_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    assert_clean_error(depth_ros("build-engine", tmp_path / "missing.onnx"), "ONNX file not found")


def test_bench_runs_end_to_end(mono: Model) -> None:
    result = depth_ros("bench", "--model", "monodepth2", "--weights", mono.checkpoint, "--iterations", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"monodepth2 {WIDTH}x{HEIGHT}; 2 timed calls")
    assert "pytorch cpu fp32 eager (baseline)" in lines[2] and "1.00x" in lines[2]
    assert "onnxruntime cpu fp32" in lines[3] and lines[3].rstrip().endswith(tuple("0123456789"))


def test_bench_of_the_wrong_model_is_a_clean_error(mono: Model) -> None:
    result = depth_ros("bench", "--model", "mvdepthnet", "--weights", mono.checkpoint, "--iterations", "2")
    assert_clean_error(result, "holds a monodepth2 model, not mvdepthnet")


@pytest.mark.parametrize(
    ("model", "options", "message"),
    [
        ("mono", ["--height", "100"], "got width 96 x height 100: try width 96 x height 96"),
        ("mono", ["--threads", "-1"], "--threads must be at least 1, got -1"),
        ("mvd", ["--frames", "0"], "--frames must be at least 1, got 0"),
    ],
    ids=["height-100", "threads--1", "frames-0"],
)
def test_bench_options_out_of_range_are_one_error_line(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str], model: str, options: list[str], message: str
) -> None:
    checkpoint = request.getfixturevalue(model).checkpoint
    architecture = "monodepth2" if model == "mono" else "mvdepthnet"
    status = main(["bench", "--model", architecture, "--weights", str(checkpoint), "--iterations", "1", *options])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert status == 2 and len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


def test_bench_with_an_exported_model_as_weights_says_where_it_goes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"not read: the suffix says it all")
    status = main(["bench", "--model", "monodepth2", "--weights", str(onnx)])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert status == 2 and len(lines) == 1 and "an ONNX file goes in --onnx" in lines[0], lines


def test_command_choices_match_the_types() -> None:
    assert typing.get_args(Runner) == command.BACKENDS


def test_latency_table_ratios_are_baseline_over_row() -> None:
    slow, fast = measure([lambda: sum(range(20000)), lambda: None], iterations=5, warmup=1)
    table = format_table([Row("fast", fast, 0.0)], Row("slow", slow))
    assert slow.median_ms > fast.median_ms and slow.iterations == 5
    assert f"{slow.median_ms / fast.median_ms:7.2f}x" in table.splitlines()[2]
