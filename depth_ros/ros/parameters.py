"""Node parameters declared from one table: name, default, description and allowed values.

Each parameter is declared read-only with its description (``ros2 param describe`` shows it); the values
are checked once, at start, and a wrong one (or one of the wrong type) stops the node with a message naming the
parameter, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import fnmatch
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

from depth_ros.errors import DepthRosError

Value = bool | int | float | str | list[float]


class ParameterValueError(DepthRosError, ValueError):
    """A parameter value outside what the node accepts."""


@dataclass(frozen=True)
class ParameterSpec:
    """One node parameter.

    Attributes:
        name: the parameter's name (dots group related ones, as in ``camera_extrinsic.translation``).
        default: its default value; also fixes its type.
        description: what it does, with units.
        choices: the allowed strings, for string parameters with a fixed set of values.
        minimum: the smallest allowed number, for numeric parameters.
        maximum: the largest allowed number, for numeric parameters (beyond it a value is a mistake, and some
            break rclpy or the arithmetic: a timer period over int64 nanoseconds, a thread count in the millions).
        length: the required length, for array parameters.
    """

    name: str
    default: Value
    description: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    length: int | None = None

    def constraints(self) -> str:
        """The allowed values in words (shown by ``ros2 param describe``)."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.minimum is not None and self.maximum is not None:
            return f"{self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f">= {self.minimum}"
        if self.maximum is not None:
            return f"<= {self.maximum}"
        if self.length is not None:
            return f"{self.length} numbers"
        return ""

    def check(self, value: Any) -> Value:
        """``value`` if allowed: of the default's type (integers are accepted where numbers with a decimal point
        are expected: ``1`` for ``1.0``, ``[0, 0, 1]``); raises :class:`ParameterValueError`."""
        value = self._typed(value)
        numbers = value if isinstance(value, list) else [value] if isinstance(value, float) else []
        if not all(math.isfinite(number) for number in numbers):
            shown = _shown(value)
            raise ParameterValueError(f"parameter {self.name} = {shown} is not allowed: expected finite numbers")
        ok = (not self.choices or value in self.choices) and (self.minimum is None or value >= self.minimum)
        ok = ok and (self.maximum is None or value <= self.maximum)
        ok = ok and (self.length is None or len(value) == self.length)
        if not ok:
            raise ParameterValueError(
                f"parameter {self.name} = {value!r} is not allowed: expected {self.constraints()}"
            )
        return value

    def _typed(self, value: Any) -> Value:
        """``value`` as the default's type, or :class:`ParameterValueError` naming the ROS types."""
        default = self.default
        if isinstance(default, bool):
            typed = value if isinstance(value, bool) else None
        elif isinstance(default, int):
            typed = value if _is_integer(value) else None
        elif isinstance(default, float):
            typed = float(value) if _is_integer(value) or isinstance(value, float) else None
        elif isinstance(default, str):
            typed = value if isinstance(value, str) else None
        else:  # a list of numbers (rclpy gives arrays as array.array or list)
            is_numbers = not isinstance(value, (str, bytes)) and hasattr(value, "__len__")
            is_numbers = is_numbers and all(_is_integer(v) or isinstance(v, float) for v in value)
            typed = [float(v) for v in value] if is_numbers else None
        if typed is None:
            raise ParameterValueError(
                f"parameter {self.name} = {_shown(value)} has the wrong type: expected {_ros_type(default)} "
                f"like its default {_shown(default)}"
            )
        return typed


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _ros_type(value: Value) -> str:
    """The ROS parameter type of ``value``, as ``ros2 param describe`` names it."""
    if isinstance(value, bool):
        return "a boolean (true, false)"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a double (a number)"
    if isinstance(value, str):
        return "a string"
    return "a double array (numbers in brackets)"


def _shown(value: Any) -> str:
    """``value`` as written in YAML or on the command line (``true``, ``[0.0, 1.0]``, ``'abc'``)."""
    if value is None:  # rclpy's NOT_SET: what an empty list ([]) gives, as rcl cannot tell its type
        return "[] (empty, of no type)"
    if isinstance(value, bool):
        return str(value).lower()
    if not isinstance(value, (str, int, float)) and hasattr(value, "__len__"):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return repr(value)


def declare_parameters(node: Node, specs: tuple[ParameterSpec, ...]) -> dict[str, Value]:
    """Declare ``specs`` on ``node`` (read-only, described) and return their checked values by name."""
    values: dict[str, Value] = {}
    for spec in specs:
        # dynamic_typing: rclpy would refuse 1 for a double with a traceback; check() takes it, and words the rest
        descriptor = ParameterDescriptor(
            description=spec.description,
            additional_constraints=spec.constraints(),
            read_only=True,
            dynamic_typing=True,
        )
        values[spec.name] = spec.check(node.declare_parameter(spec.name, spec.default, descriptor).value)
    return values


def overrides_not_taken(args: Sequence[str], node_name: str, values: dict[str, Value]) -> list[str]:
    """The ``-p name:=value`` rules in ``args`` for this node whose value the node did not get.

    rcl keeps one slot per type for a parameter: an override fills its own slot without emptying the one a
    params file filled, and the first filled slot in the order bool, integer, double, string, array wins. So
    ``-p points_rgb:=1`` over a file's ``points_rgb: false`` leaves false, without a word. This compares each
    rule's text with the value the node declared (numbers by value, booleans by YAML's words) and returns a
    sentence for each that does not match.

    Args:
        args: the process's ROS arguments (``--ros-args -p name:=value ...``).
        node_name: the node's name (rules ``other_node:name:=value`` are for other nodes).
        values: the node's parameter values by name.
    """
    dropped = []
    for rule, name, text in _parameter_rules(args, node_name):
        if name not in values or _written_as(text, values[name]):
            continue
        dropped.append(
            f"-p {rule} did not take: {name} is {_shown(values[name])}, most likely from the params file (rcl keeps "
            f"a file's value over an override of another type): write it as {_ros_type(values[name])}"
        )
    return dropped


def _parameter_rules(args: Sequence[str], node_name: str) -> Iterator[tuple[str, str, str]]:
    """``(rule, name, value text)`` of each ``-p name:=value`` (or ``-p node:name:=value``) in ``args`` for the
    node called ``node_name``."""
    for flag, rule in itertools.pairwise(args):
        if flag in ("-p", "--param") and ":=" in rule:
            target, text = rule.split(":=", 1)
            node, _, name = target.rpartition(":")
            if not node or node == node_name:
                yield rule, name, text


def _written_as(text: str, value: Any) -> bool:
    """Whether ``text`` (a ``-p`` value as typed) stands for ``value``."""
    text = text.strip()
    if isinstance(value, bool):
        words = {"true", "yes", "on"} if value else {"false", "no", "off"}
        return text.lower() in words
    if isinstance(value, (int, float)):
        try:
            number = float(text)
        except ValueError:
            return False
        return number == value or (math.isnan(number) and math.isnan(value))
    if isinstance(value, str):
        return text in (value, f"'{value}'", f'"{value}"')
    items = [item for item in text.strip("[]").split(",") if item.strip()]
    return len(items) == len(value) and all(_written_as(item, v) for item, v in zip(items, value, strict=True))


def parameters_not_declared(args: Sequence[str], node_name: str, declared: set[str]) -> list[str]:
    """A sentence for each parameter that ``args`` set for this node and the node does not have: a ``-p
    name:=value`` rule or a key of a ``--params-file`` section that applies to it (its name, ``/**``, a pattern).
    rcl drops such values without a word, so a misspelt ``point_decimation`` would otherwise leave the default.

    Args:
        args: the process's ROS arguments.
        node_name: the node's name.
        declared: every parameter name the node has.
    """
    sentences = []
    for where, name in _parameters_set(args, node_name):
        if name in declared:
            continue
        close = difflib.get_close_matches(name, sorted(declared), n=1)
        hint = f": did you mean {close[0]}?" if close else ""
        sentences.append(f"{where} sets {name}, which {node_name} does not have (ignored){hint}")
    return sentences


def _parameters_set(args: Sequence[str], node_name: str) -> Iterator[tuple[str, str]]:
    """``(where, name)`` of each parameter that ``-p`` rules and ``--params-file`` files in ``args`` set for the
    node called ``node_name``."""
    yield from ((f"-p {rule}", name) for rule, name, _ in _parameter_rules(args, node_name))
    for flag, value in itertools.pairwise(args):
        if flag == "--params-file":
            try:
                sections = yaml.safe_load(Path(value).read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError):  # rcl has refused it already, with its own message
                continue
            for pattern, section in sections.items() if isinstance(sections, dict) else ():
                node_part = str(pattern).rsplit("/", 1)[-1]
                applies = str(pattern).strip("/") == "**" or fnmatch.fnmatchcase(node_name, node_part)
                parameters = section.get("ros__parameters") if isinstance(section, dict) else None
                if applies and isinstance(parameters, dict):
                    yield from ((f"{value} ({pattern})", name) for name in _flattened(parameters))


def _flattened(parameters: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted names of a params file's nested mapping (``keyframes: {min_baseline: ...}`` ->
    ``keyframes.min_baseline``)."""
    for key, value in parameters.items():
        if isinstance(value, dict):
            yield from _flattened(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"
