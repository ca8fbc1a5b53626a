"""ONNX export and the TensorRT parser check, on lite networks (random weights) at small sizes.

Parity: ONNX Runtime (CPU) runs the exported file and must reproduce the PyTorch inference graph to a
relative depth difference of 1e-4. The TensorRT check must pass both real exports and reject each trap
it exists for. The command line is run as a user runs it (the installed ``depth-ros`` script).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper
from test_cli import assert_clean_error, depth_ros

from depth_ros.export.onnx_export import (
    GRID_SAMPLE_ALIGN_CORNERS,
    OnnxError,
    export_onnx,
    metadata_sidecar,
    read_onnx_metadata,
    verify_onnx,
)
from depth_ros.export.tensorrt_ops import check_tensorrt_compatibility
from depth_ros.geometry.se3 import axis_angle_to_matrix, make_transform
from depth_ros.models import Monodepth2, MVDepthNet, inference_graph
from depth_ros.models.checkpoints import monodepth2_metadata, mvdepthnet_metadata, save_checkpoint
from depth_ros.models.metadata import METADATA_KEY, ModelMetadata

MONO_VARIANT: dict[str, Any] = {"num_layers": 18, "width": 0.25, "decoder_width": 0.25, "with_fc": False}
MVD_VARIANT: dict[str, Any] = {"width": 0.125, "planes": 64}
MONO_SIZE = (64, 96)  # height, width
MVD_SIZE = (64, 64)
FRAMES = 2


def lite_monodepth2() -> tuple[Monodepth2, ModelMetadata]:
    """A ResNet-18 Monodepth2 at a quarter width; metadata at the published 640x192 (exports override it)."""
    torch.manual_seed(0)
    return Monodepth2(**MONO_VARIANT).eval(), monodepth2_metadata(MONO_VARIANT, 192, 640, False, "test")


def lite_mvdepthnet() -> tuple[MVDepthNet, ModelMetadata]:
    """MVDepthNet at an eighth width with 64 planes; metadata at the published 320x256."""
    torch.manual_seed(1)
    return MVDepthNet(**MVD_VARIANT).eval(), mvdepthnet_metadata(MVD_VARIANT, 256, 320, "test")


@pytest.fixture(scope="module")
def mono(tmp_path_factory: pytest.TempPathFactory) -> tuple[Monodepth2, ModelMetadata, Path]:
    """The lite Monodepth2, its metadata and its export at 96x64. Do not modify."""
    network, metadata = lite_monodepth2()
    out = tmp_path_factory.mktemp("mono") / "mono.onnx"
    return network, metadata, export_onnx(network, metadata, out, *MONO_SIZE)


@pytest.fixture(scope="module")
def mvd(tmp_path_factory: pytest.TempPathFactory) -> tuple[MVDepthNet, ModelMetadata, Path]:
    """The lite MVDepthNet, its metadata and its export at 64x64 with 2 measurement frames. Do not modify."""
    network, metadata = lite_mvdepthnet()
    out = tmp_path_factory.mktemp("mvd") / "mvd.onnx"
    return network, metadata, export_onnx(network, metadata, out, *MVD_SIZE, measurement_frames=FRAMES)


def run_onnx(path: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (depth,) = session.run(["depth"], inputs)
    return depth


def input_signature(path: Path) -> dict[str, tuple[str, list[int]]]:
    """Graph input name -> (ONNX Runtime type, shape)."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return {i.name: (i.type, i.shape) for i in session.get_inputs()}


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.abs(b)))


def realistic_mvdepthnet_inputs(frames: int, height: int, width: int) -> dict[str, np.ndarray]:
    """Random images, and measurement cameras a few centimetres and degrees from the reference."""
    rng = np.random.default_rng(2)
    poses = []
    for i in range(frames):
        R = axis_angle_to_matrix(np.array([0.01, -0.03 * (i + 1), 0.005]))
        poses.append(make_transform(R, np.array([0.08 * (i + 1), -0.01, 0.03])))
    focal = 0.9 * width
    return {
        "reference": rng.integers(0, 256, (1, 3, height, width), dtype=np.uint8),
        "measurements": rng.integers(0, 256, (1, frames, 3, height, width), dtype=np.uint8),
        "T_meas_ref": np.stack(poses)[None].astype(np.float32),
        "K": np.array([[[focal, 0, width / 2 - 0.5], [0, focal, height / 2 - 0.5], [0, 0, 1]]], np.float32),
    }


def unique_model() -> onnx.ModelProto:
    """A one-node graph with Unique (which TensorRT's parser does not import) at opset 17."""
    graph = helper.make_graph(
        [helper.make_node("Unique", ["x"], ["y"], name="unique")],
        "unique",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def pytorch_depth(network: torch.nn.Module, path: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The PyTorch inference graph of ``network``, with the exported file's metadata, on ``inputs``."""
    with torch.no_grad():
        return inference_graph(network, read_onnx_metadata(path))(*map(torch.from_numpy, inputs.values())).numpy()


def grid_sample_nodes(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    return [n for n in model.graph.node if n.op_type == "GridSample"]


def set_attribute(node: onnx.NodeProto, name: str, value: str | int) -> None:
    (attribute,) = [a for a in node.attribute if a.name == name]
    node.attribute.remove(attribute)
    node.attribute.append(helper.make_attribute(name, value))


# Parity ------------------------------------------------------------------------------------------------


def test_monodepth2_onnx_matches_pytorch(mono) -> None:
    network, _, path = mono
    assert input_signature(path) == {"image": ("tensor(uint8)", [1, 3, *MONO_SIZE])}
    inputs = {"image": np.random.default_rng(0).integers(0, 256, (1, 3, *MONO_SIZE), dtype=np.uint8)}
    expected = pytorch_depth(network, path, inputs)
    depth = run_onnx(path, inputs)
    assert depth.shape == (1, 1, *MONO_SIZE) and depth.dtype == np.float32
    assert np.ptp(expected) > 0.01 * np.mean(expected), "degenerate output: the comparison would prove little"
    assert relative_difference(depth, expected) <= 1e-4


def test_mvdepthnet_onnx_matches_pytorch_with_two_posed_frames(mvd) -> None:
    network, _, path = mvd
    assert input_signature(path) == {
        "reference": ("tensor(uint8)", [1, 3, *MVD_SIZE]),
        "measurements": ("tensor(uint8)", [1, FRAMES, 3, *MVD_SIZE]),
        "T_meas_ref": ("tensor(float)", [1, FRAMES, 4, 4]),
        "K": ("tensor(float)", [1, 3, 3]),
    }
    inputs = realistic_mvdepthnet_inputs(FRAMES, *MVD_SIZE)
    expected = pytorch_depth(network, path, inputs)
    depth = run_onnx(path, inputs)
    assert depth.shape == (1, 1, *MVD_SIZE) and depth.dtype == np.float32
    assert np.ptp(expected) > 0.01 * np.mean(expected), "degenerate output: the comparison would prove little"
    assert relative_difference(depth, expected) <= 1e-4


@pytest.mark.parametrize("which", ["mono", "mvd"])
def test_bgr_weights_are_exported_with_the_channel_reversal_inside(which: str, request, tmp_path: Path) -> None:
    """Weights marked ``channel_order="bgr"`` (published MVDepthNet) keep taking RGB: their graph on RGB images
    is the RGB-marked graph of the same weights on the reversed images; the order travels in the metadata."""
    network, metadata, rgb_path = request.getfixturevalue(which)
    exported = read_onnx_metadata(rgb_path)
    assert exported.channel_order == "rgb"
    path = export_onnx(network, metadata.replace(channel_order="bgr"), tmp_path / "bgr.onnx",
                       exported.height, exported.width, measurement_frames=FRAMES)  # fmt: skip
    assert read_onnx_metadata(path) == exported.replace(channel_order="bgr")
    assert ModelMetadata.from_json(metadata_sidecar(path).read_text()).channel_order == "bgr"
    if which == "mono":
        inputs = {"image": np.random.default_rng(0).integers(0, 256, (1, 3, *MONO_SIZE), dtype=np.uint8)}
    else:
        inputs = realistic_mvdepthnet_inputs(FRAMES, *MVD_SIZE)
    reversed_images = {k: np.ascontiguousarray(v[..., ::-1, :, :]) if v.dtype == np.uint8 else v
                       for k, v in inputs.items()}  # fmt: skip
    depth = run_onnx(path, inputs)
    assert relative_difference(depth, pytorch_depth(network, path, inputs)) <= 1e-4
    assert relative_difference(depth, run_onnx(rgb_path, reversed_images)) <= 1e-4
    assert relative_difference(depth, run_onnx(rgb_path, inputs)) > 1e-3


def test_the_exact_sweep_grid_travels_into_the_onnx_graph(mvd, tmp_path: Path) -> None:
    """An MVDepthNet trained with the exact sampling grid is exported with it: ONNX Runtime equals its PyTorch
    graph, and differs from the same weights with the published grid."""
    network, metadata, published_path = mvd
    path = export_onnx(network, metadata.replace(sweep_grid="exact"), tmp_path / "exact.onnx",
                       *MVD_SIZE, measurement_frames=FRAMES)  # fmt: skip
    assert (
        read_onnx_metadata(path).sweep_grid == "exact" and read_onnx_metadata(published_path).sweep_grid == "published"
    )
    inputs = realistic_mvdepthnet_inputs(FRAMES, *MVD_SIZE)
    depth = run_onnx(path, inputs)
    assert relative_difference(depth, pytorch_depth(network, path, inputs)) <= 1e-4
    assert relative_difference(depth, run_onnx(published_path, inputs)) > 1e-3


# Metadata and files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["mono", "mvd"])
def test_metadata_is_embedded_and_beside_the_file_with_the_export_size(which: str, request) -> None:
    _, metadata, path = request.getfixturevalue(which)
    (height, width), frames = (MONO_SIZE, 0) if which == "mono" else (MVD_SIZE, FRAMES)
    expected = metadata.replace(height=height, width=width, measurement_frames=frames)
    assert read_onnx_metadata(path) == expected
    assert metadata_sidecar(path) == path.with_suffix(".json")
    assert ModelMetadata.from_json(metadata_sidecar(path).read_text()) == expected
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, path.with_suffix(".json").name])


@pytest.mark.parametrize("which", ["mono", "mvd"])
def test_inputs_and_output_have_static_shapes(which: str, request) -> None:
    _, _, path = request.getfixturevalue(which)
    graph = onnx.load(path).graph
    shapes = {v.name: [d.dim_value if d.HasField("dim_value") else d.dim_param for d in v.type.tensor_type.shape.dim]
              for v in [*graph.input, *graph.output]}  # fmt: skip
    height, width = MONO_SIZE if which == "mono" else MVD_SIZE
    assert shapes["depth"] == [1, 1, height, width]
    assert all(isinstance(size, int) and size > 0 for shape in shapes.values() for size in shape), shapes
    onnx.checker.check_model(onnx.shape_inference.infer_shapes(onnx.load(path), strict_mode=True))


@pytest.mark.parametrize("which", ["mono", "mvd"])
def test_exports_pass_onnx_checker_and_the_tensorrt_check(which: str, request) -> None:
    _, _, path = request.getfixturevalue(which)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    report = verify_onnx(path)
    assert report.ok, report.problems
    assert report.opset == 17
    assert "passed" in report.verdict()
    if which == "mono":
        assert "Pad" in report.op_types and "GridSample" not in report.op_types
        pads = [n for n in model.graph.node if n.op_type == "Pad"]
        assert {helper.get_attribute_value(a) for n in pads for a in n.attribute if a.name == "mode"} == {b"reflect"}
    else:
        (node,) = grid_sample_nodes(model)  # all planes and frames in one GridSample
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        assert attributes == {"mode": b"bilinear", "align_corners": 1, "padding_mode": b"zeros"}
        assert "ScatterND" not in report.op_types


def test_export_is_quiet_and_leaves_the_network_in_its_mode(tmp_path: Path) -> None:
    network, metadata = lite_mvdepthnet()  # its trace warns most: frozen grid sizes and constants
    network.train()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        export_onnx(network, metadata, tmp_path / "m.onnx", 64, 64)
    assert network.training


def test_export_replaces_an_existing_file(mvd, tmp_path: Path) -> None:
    network, metadata, _ = mvd
    out = tmp_path / "m.onnx"
    out.write_bytes(b"old")
    export_onnx(network, metadata, out, 32, 32)
    assert read_onnx_metadata(out).width == 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.onnx"]  # no temporary files left


# Refused exports ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "size", "frames", "name", "fragments"),
    [
        (lite_mvdepthnet, (100, 96), 2, "m.onnx", ["multiples of 32", "height 100", "height 96"]),
        (lite_mvdepthnet, (64, 0), 2, "m.onnx", ["multiples of 32", "at least 32", "try width 32"]),
        (lite_monodepth2, (32, 64), 2, "m.onnx", ["monodepth2", "at least 64", "try width 64 x height 64"]),
        (lite_mvdepthnet, (64, 64), 0, "m.onnx", ["at least 1 measurement frame", "got 0"]),
        (lite_mvdepthnet, (64, 64), 2, "m.json", [".onnx"]),
    ],
)
def test_bad_export_arguments_raise_and_write_nothing(tmp_path: Path, make, size, frames, name, fragments) -> None:
    network, metadata = make()
    height, width = size
    with pytest.raises(OnnxError) as error:
        export_onnx(network, metadata, tmp_path / name, height, width, frames)
    for fragment in fragments:
        assert fragment in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_network_that_does_not_match_the_metadata_is_refused(tmp_path: Path) -> None:
    network, _ = lite_monodepth2()
    _, metadata = lite_mvdepthnet()
    with pytest.raises(OnnxError, match="metadata says 'mvdepthnet' but the network is a Monodepth2"):
        export_onnx(network, metadata, tmp_path / "m.onnx")


def test_reading_metadata_of_a_file_without_it_or_not_onnx_is_a_clear_error(tmp_path: Path) -> None:
    bare = tmp_path / "bare.onnx"
    onnx.save(unique_model(), bare)
    with pytest.raises(OnnxError, match="no depth_ros metadata"):
        read_onnx_metadata(bare)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not onnx at all\xff" * 10)
    with pytest.raises(OnnxError, match="cannot read"):
        read_onnx_metadata(junk)
    with pytest.raises(OnnxError, match="not found"):
        read_onnx_metadata(tmp_path / "missing.onnx")


def _with_metadata_value(source: Path, out: Path, **changes: Any) -> Path:
    """A copy of the ONNX file ``source`` whose embedded metadata JSON has ``changes``."""
    model = onnx.load(source)
    (prop,) = [p for p in model.metadata_props if p.key == METADATA_KEY]
    prop.value = json.dumps({**json.loads(prop.value), **changes})
    onnx.save(model, out)
    return out


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda path, folder: metadata_sidecar(path), "is the metadata beside an ONNX file, not the model: pass "),
        (lambda path, folder: folder / "empty.onnx", "is empty (0 bytes)"),
        (lambda path, folder: _with_metadata_value(path, folder / "m.onnx", height="96"), "wrong types (height='96')"),
    ],
    ids=["sidecar", "empty", "height-as-text"],
)
def test_sidecar_empty_file_and_mistyped_metadata_are_one_line_errors(mono, tmp_path: Path, make, fragment) -> None:
    (tmp_path / "empty.onnx").touch()
    with pytest.raises(OnnxError) as caught:
        read_onnx_metadata(make(mono[2], tmp_path))
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


# The TensorRT check rejects the traps ------------------------------------------------------------------


def test_grid_sample_exported_at_opset_20_is_rejected(tmp_path: Path) -> None:
    class Sampler(torch.nn.Module):
        def forward(self, image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
            return F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=True)

    path = tmp_path / "sampler.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(
            Sampler(), (torch.zeros(1, 3, 8, 8), torch.zeros(1, 8, 8, 2)), path, opset_version=20, dynamo=False
        )
    model = onnx.load(path)
    report = check_tensorrt_compatibility(model, expect_grid_sample_align_corners=1)
    assert not report.ok
    assert any("opset 20" in p and "nearest" in p for p in report.problems), report.problems
    assert any("mode='linear'" in p for p in report.problems), report.problems  # opset 20's name for bilinear
    assert "failed" in report.verdict()


@pytest.mark.parametrize(
    ("attribute", "value", "fragments"),
    [("mode", "nearest", ["mode='nearest'", "bilinear"]), ("align_corners", 0, ["align_corners=0, expected 1"])],
)
def test_grid_sample_with_nearest_mode_or_wrong_align_corners_is_rejected(
    mvd, tmp_path: Path, attribute: str, value: str | int, fragments: list[str]
) -> None:
    network, _, path = mvd
    model = onnx.load(path)
    set_attribute(grid_sample_nodes(model)[0], attribute, value)
    (problem,) = check_tensorrt_compatibility(model, GRID_SAMPLE_ALIGN_CORNERS["mvdepthnet"]).problems
    assert "GridSample" in problem
    for fragment in fragments:
        assert fragment in problem
    # Either change is a real error, well beyond the parity tolerance: the parity test would see it too.
    changed = tmp_path / "changed.onnx"
    onnx.save(model, changed)
    inputs = realistic_mvdepthnet_inputs(FRAMES, *MVD_SIZE)
    assert relative_difference(run_onnx(changed, inputs), pytorch_depth(network, path, inputs)) > 1e-3


def test_grid_sample_align_corners_is_free_without_an_expectation(mvd) -> None:
    model = onnx.load(mvd[2])
    set_attribute(grid_sample_nodes(model)[0], "align_corners", 0)
    assert check_tensorrt_compatibility(model).ok


def test_pad_mode_wrap_is_rejected(mono) -> None:
    model = onnx.load(mono[2])
    set_attribute(next(n for n in model.graph.node if n.op_type == "Pad"), "mode", "wrap")
    (problem,) = check_tensorrt_compatibility(model).problems
    assert "Pad" in problem and "mode='wrap'" in problem


def test_unsupported_op_is_rejected() -> None:
    model = unique_model()
    onnx.checker.check_model(model)
    (problem,) = check_tensorrt_compatibility(model).problems
    assert "Unique" in problem and "SUPPORTED_OPS" in problem


def test_uint8_input_read_by_anything_but_a_cast_to_float_is_rejected() -> None:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["image"], ["y"], name="relu")],
        "uint8",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 3, 4, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    (problem,) = check_tensorrt_compatibility(model).problems
    assert "uint8 input 'image'" in problem and "Relu" in problem


# Command line ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Lite networks saved in depth_ros's checkpoint format, by architecture. Do not modify."""
    folder = tmp_path_factory.mktemp("checkpoints")
    return {
        "monodepth2": save_checkpoint(folder / "mono.pt", *lite_monodepth2()),
        "mvdepthnet": save_checkpoint(folder / "mvd.pt", *lite_mvdepthnet()),
    }


def test_cli_exports_monodepth2(checkpoints, tmp_path: Path) -> None:
    out = tmp_path / "models" / "mono.onnx"
    result = depth_ros("export", "monodepth2", "--weights", checkpoints["monodepth2"], "--out", out,
                       "--height", "64", "--width", "96")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr
    assert f"wrote {out} (monodepth2, 96x64)" in result.stdout
    assert f"wrote {out.with_suffix('.json')}" in result.stdout
    assert "check passed: opset 17" in result.stdout
    assert read_onnx_metadata(out).source == "test"
    depth = run_onnx(out, {"image": np.zeros((1, 3, 64, 96), np.uint8)})
    assert depth.shape == (1, 1, 64, 96)


def test_cli_exports_mvdepthnet_with_three_measurement_frames(checkpoints, tmp_path: Path) -> None:
    out = tmp_path / "mvd.onnx"
    result = depth_ros("export", "mvdepthnet", "--weights", checkpoints["mvdepthnet"], "--out", out,
                       "--height", "64", "--width", "64", "--measurement-frames", "3")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "(mvdepthnet, 64x64, 3 measurement frames)" in result.stdout
    assert "GridSample" in result.stdout and "passed" in result.stdout
    assert input_signature(out)["measurements"] == ("tensor(uint8)", [1, 3, 3, 64, 64])


def test_cli_exports_a_published_layout_monodepth2_folder(tmp_path: Path) -> None:
    """``encoder.pth`` (with height, width, use_stereo) + ``depth.pth``, as Monodepth2 publishes them."""
    torch.manual_seed(3)
    network = Monodepth2(18)  # the folder loader reads full-width networks only
    folder = tmp_path / "mono_stereo_640x192"
    folder.mkdir()
    encoder = {**network.encoder.state_dict(), "height": 192, "width": 640, "use_stereo": True}
    torch.save(encoder, folder / "encoder.pth")
    torch.save(network.depth.state_dict(), folder / "depth.pth")
    out = tmp_path / "mono.onnx"
    result = depth_ros("export", "monodepth2", "--weights", folder, "--out", out, "--height", "64", "--width", "64")
    assert result.returncode == 0, result.stderr
    metadata = read_onnx_metadata(out)
    assert (metadata.height, metadata.width, metadata.scale_type, metadata.scale_factor) == (64, 64, "stereo", 5.4)
    assert metadata.source == str(folder)


def test_cli_missing_weights_is_a_clean_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pt"
    result = depth_ros("export", "monodepth2", "--weights", missing, "--out", tmp_path / "m.onnx")
    assert_clean_error(result, "not found", str(missing))
    assert list(tmp_path.iterdir()) == []


def test_cli_architecture_mismatch_is_a_clean_error(checkpoints, tmp_path: Path) -> None:
    result = depth_ros("export", "mvdepthnet", "--weights", checkpoints["monodepth2"], "--out", tmp_path / "m.onnx")
    assert_clean_error(result, "holds a monodepth2 model", "mvdepthnet was asked for", "depth-ros export monodepth2")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (["--height", "100", "--width", "96"], ["multiples of 32", "height 100", "try width 96 x height 96"]),
        (["--measurement-frames", "3"], ["--measurement-frames applies to mvdepthnet only"]),
    ],
)
def test_cli_bad_options_are_clean_errors(checkpoints, tmp_path: Path, arguments, fragments) -> None:
    result = depth_ros("export", "monodepth2", "--weights", checkpoints["monodepth2"], "--out", tmp_path / "m.onnx",
                       *arguments)  # fmt: skip
    assert_clean_error(result, *fragments)
    assert list(tmp_path.iterdir()) == []
