"""Static check that TensorRT's ONNX parser, from 8.5 up to 10.x, can import an ONNX graph as intended.

Nothing here needs TensorRT: the rules are read from the parser's documentation and importer source
(onnx/onnx-tensorrt ``docs/operators.md`` of the 8.4 and 8.5 releases, ``builtin_op_importers.cpp`` of 8.x
and ``onnxOpImporters.cpp`` of 10.x). 8.5 is the floor because it is the first release with a native
GridSample layer (Jetson Xavier, JetPack 5.1: 8.5.2; Orin, JetPack 6: 10.3).

The rules, each reported as one problem line:

1. Opset (default domain): **9 to 17**, and **16 to 17** when the graph has GridSample. 17 is the newest
   opset TensorRT 8.5's parser documents ("TensorRT 8.5 supports operators up to Opset 17"; 10.0 reads
   up to 20); GridSample first exists in opset 16; and at opset >= 20 GridSample's mode is spelt
   ``linear``, which the parser does not recognise and silently imports as *nearest* (NVIDIA/TensorRT#4646).
2. Every node is in the default ONNX domain and its op type is on :data:`SUPPORTED_OPS`, an explicit
   allow-list of ops the parser documents without restrictions our graphs could break, each with the
   oldest TensorRT release documenting it; none may be newer than :data:`OLDEST_TENSORRT`.
3. GridSample: ``mode`` ``bilinear``, a ``padding_mode`` TensorRT maps, and ``align_corners`` equal to
   what the caller expects (MVDepthNet's cost volume: 1).
4. Pad: ``mode`` constant, reflect or edge (``wrap`` needs TensorRT 10.0).
5. Resize: ``mode`` nearest or linear, and a coordinate transformation and nearest rounding the parser maps.
6. Slice, Squeeze, Unsqueeze: ``axes`` from an initializer or a Constant node (both documentation tables).
7. uint8 (TensorRT's UINT8 is a network I/O type, convertible only to and from float32/float16): every
   uint8 graph input is read only by Cast to float or float16, and no Cast inside the graph makes uint8.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import onnx
from onnx import TensorProto, helper

OLDEST_TENSORRT = (8, 5)
NEWEST_OPSET = 17
OLDEST_OPSET = 9
GRID_SAMPLE_OLDEST_OPSET = 16

# Op type -> oldest TensorRT release whose ONNX parser documents it, as far as read: (8, 4) means "listed in
# the 8.4 table" (the oldest consulted; most of these are far older). Reciprocal is "N" in the 8.4 table
# although that release's importer defines it, so it is given 8.5's documented support.
SUPPORTED_OPS: dict[str, tuple[int, int]] = {
    # Used by the Monodepth2 and MVDepthNet inference graphs (legacy exporter, opset 17).
    "Abs": (8, 4),
    "Add": (8, 4),
    "Cast": (8, 4),
    "Clip": (8, 4),
    "Concat": (8, 4),
    "Constant": (8, 4),
    "ConstantOfShape": (8, 4),
    "Conv": (8, 4),
    "Div": (8, 4),
    "Elu": (8, 4),
    "Equal": (8, 4),
    "Expand": (8, 4),
    "Gather": (8, 4),
    "GridSample": (8, 5),
    "Identity": (8, 4),
    "MatMul": (8, 4),
    "MaxPool": (8, 4),
    "Mul": (8, 4),
    "Neg": (8, 4),
    "Pad": (8, 4),
    "Reciprocal": (8, 5),
    "ReduceMean": (8, 4),
    "ReduceSum": (8, 4),
    "Relu": (8, 4),
    "Reshape": (8, 4),
    "Resize": (8, 4),
    "Sigmoid": (8, 4),
    "Slice": (8, 4),
    "Sub": (8, 4),
    "Transpose": (8, 4),
    "Unsqueeze": (8, 4),
    "Where": (8, 4),
    # Plain CNN ops other exporters or variants emit (BatchNorm unfolded, shape arithmetic, a classifier).
    "AveragePool": (8, 4),
    "BatchNormalization": (8, 4),
    "Exp": (8, 4),
    "Flatten": (8, 4),
    "Gemm": (8, 4),
    "GlobalAveragePool": (8, 4),
    "LeakyRelu": (8, 4),
    "Max": (8, 4),
    "Min": (8, 4),
    "Pow": (8, 4),
    "Shape": (8, 4),
    "Softmax": (8, 4),
    "Split": (8, 4),
    "Sqrt": (8, 4),
    "Squeeze": (8, 4),
    "Tanh": (8, 4),
}
GRID_SAMPLE_PADDING_MODES = ("zeros", "border", "reflection")
PAD_MODES = ("constant", "reflect", "edge")
RESIZE_MODES = ("nearest", "linear")
RESIZE_COORDINATE_MODES = ("half_pixel", "pytorch_half_pixel", "tf_half_pixel_for_nn", "asymmetric", "align_corners")
RESIZE_NEAREST_MODES = ("floor", "ceil", "round_prefer_floor", "round_prefer_ceil")
_CONSTANT_AXES_INPUT = {"Slice": 3, "Squeeze": 1, "Unsqueeze": 1}  # op -> index of its ``axes`` input
_FLOAT_TYPES = (TensorProto.FLOAT, TensorProto.FLOAT16)


@dataclass(frozen=True)
class TensorRTReport:
    """The verdict on one graph.

    Attributes:
        opset: opset of the default ONNX domain.
        op_types: distinct op types of the graph's nodes, sorted.
        problems: one line per broken rule (empty: the graph passes).
    """

    opset: int
    op_types: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def verdict(self) -> str:
        """One line: passed (with opset and op types) or failed (with every problem)."""
        parsers = f"TensorRT {OLDEST_TENSORRT[0]}.{OLDEST_TENSORRT[1]} to 10.x ONNX parser check"
        if self.ok:
            return f"{parsers} passed: opset {self.opset}, {len(self.op_types)} op types ({', '.join(self.op_types)})"
        return f"{parsers} failed: " + "; ".join(self.problems)


def check_tensorrt_compatibility(
    model: onnx.ModelProto, expect_grid_sample_align_corners: int | None = None
) -> TensorRTReport:
    """Check ``model`` against the rules of the module docstring.

    Args:
        model: the ONNX model (weights may be external; only the graph structure is read).
        expect_grid_sample_align_corners: the ``align_corners`` (0 or 1) every GridSample must have;
            ``None`` accepts either.
    """
    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    op_types = tuple(sorted({node.op_type for node in graph.node}))
    constants = {t.name for t in graph.initializer}
    constants |= {output for node in graph.node if node.op_type == "Constant" for output in node.output}
    problems = _opset_problems(opset, "GridSample" in op_types)
    for node in graph.node:
        problems += _node_problems(node, constants, expect_grid_sample_align_corners)
    problems += _uint8_problems(graph)
    return TensorRTReport(opset, op_types, tuple(problems))


def _opset_problems(opset: int, has_grid_sample: bool) -> list[str]:
    oldest = GRID_SAMPLE_OLDEST_OPSET if has_grid_sample else OLDEST_OPSET
    if oldest <= opset <= NEWEST_OPSET:
        return []
    problem = f"opset {opset} is outside {oldest}..{NEWEST_OPSET}"
    if has_grid_sample and opset >= 20:
        problem += " (GridSample at opset >= 20 is imported by TensorRT as nearest, silently)"
    elif has_grid_sample and opset < GRID_SAMPLE_OLDEST_OPSET:
        problem += " (GridSample needs opset >= 16)"
    return [problem + f": export with opset_version={NEWEST_OPSET}"]


def _node_problems(node: onnx.NodeProto, constants: set[str], expect_align_corners: int | None) -> list[str]:
    name = f"{node.op_type} node {node.name or node.output[0]!r}"
    if node.domain not in ("", "ai.onnx"):
        return [f"{name} is in domain {node.domain!r}: TensorRT's parser reads only standard ONNX ops"]
    since = SUPPORTED_OPS.get(node.op_type)
    if since is None:
        return [
            f"{name}: {node.op_type} is not among the ops checked for TensorRT {_version(OLDEST_TENSORRT)} to 10.x "
            "(SUPPORTED_OPS): avoid it in the model code, or confirm the parsers import it and add it to the list"
        ]
    if since > OLDEST_TENSORRT:
        return [f"{name} needs TensorRT {_version(since)}, newer than the oldest supported {_version(OLDEST_TENSORRT)}"]
    attributes = {a.name: _attribute_value(a) for a in node.attribute}
    problems = []
    if node.op_type == "GridSample":
        problems += _expect(name, "mode", attributes.get("mode", "bilinear"), ("bilinear",))
        problems += _expect(name, "padding_mode", attributes.get("padding_mode", "zeros"), GRID_SAMPLE_PADDING_MODES)
        align_corners = attributes.get("align_corners", 0)
        if expect_align_corners is not None and align_corners != expect_align_corners:
            problems.append(f"{name} has align_corners={align_corners}, expected {expect_align_corners}")
    elif node.op_type == "Pad":
        problems += _expect(name, "mode", attributes.get("mode", "constant"), PAD_MODES)
    elif node.op_type == "Resize":
        problems += _expect(name, "mode", attributes.get("mode", "nearest"), RESIZE_MODES)
        coordinate_mode = attributes.get("coordinate_transformation_mode", "half_pixel")
        problems += _expect(name, "coordinate_transformation_mode", coordinate_mode, RESIZE_COORDINATE_MODES)
        nearest_mode = attributes.get("nearest_mode", "round_prefer_floor")
        problems += _expect(name, "nearest_mode", nearest_mode, RESIZE_NEAREST_MODES)
    axes = _CONSTANT_AXES_INPUT.get(node.op_type)
    if axes is not None and len(node.input) > axes and node.input[axes] and node.input[axes] not in constants:
        problems.append(f"{name} takes its axes from a computed tensor: TensorRT needs a constant")
    return problems


def _uint8_problems(graph: onnx.GraphProto) -> list[str]:
    problems = []
    outputs = {o.name for o in graph.output}
    for value in graph.input:
        if value.type.tensor_type.elem_type != TensorProto.UINT8:
            continue
        for node in graph.node:
            if value.name in node.input and not (node.op_type == "Cast" and _cast_to(node) in _FLOAT_TYPES):
                problems.append(
                    f"uint8 input {value.name!r} is read by {node.op_type} node {node.name!r}: TensorRT converts "
                    "uint8 only with a Cast to float or float16"
                )
    for node in graph.node:
        if node.op_type == "Cast" and _cast_to(node) == TensorProto.UINT8 and node.output[0] not in outputs:
            problems.append(f"Cast node {node.name!r} makes a uint8 tensor inside the graph: TensorRT cannot use it")
    return problems


def _expect(name: str, attribute: str, value: Any, allowed: tuple[str, ...]) -> list[str]:
    if value in allowed:
        return []
    return [f"{name} has {attribute}={value!r}; TensorRT imports it as intended only for {', '.join(allowed)}"]


def _cast_to(node: onnx.NodeProto) -> int:
    return next(a.i for a in node.attribute if a.name == "to")


def _attribute_value(attribute: onnx.AttributeProto) -> Any:
    value = helper.get_attribute_value(attribute)
    return value.decode() if isinstance(value, bytes) else value


def _version(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"
