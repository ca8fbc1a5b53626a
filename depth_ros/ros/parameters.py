"""Node parameters declared from one table: name, default, description and allowed values.

Each parameter is declared read-only with its description (``ros2 param describe`` shows it); the values
are checked once, at start, and a wrong one (or one of the wrong type) stops the node with a message naming the
parameter, the value and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
        length: the required length, for array parameters.
    """

    name: str
    default: Value
    description: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    length: int | None = None

    def constraints(self) -> str:
        """The allowed values in words (shown by ``ros2 param describe``)."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.minimum is not None:
            return f">= {self.minimum}"
        if self.length is not None:
            return f"{self.length} numbers"
        return ""

    def check(self, value: Any) -> Value:
        """``value`` if allowed: of the default's type (integers are accepted where numbers with a decimal point
        are expected: ``1`` for ``1.0``, ``[0, 0, 1]``); raises :class:`ParameterValueError`."""
        value = self._typed(value)
        ok = (not self.choices or value in self.choices) and (self.minimum is None or value >= self.minimum)
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
