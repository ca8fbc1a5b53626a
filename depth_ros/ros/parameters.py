"""Node parameters declared from one table: name, default, description and allowed values.

Each parameter is declared read-only with its description (``ros2 param describe`` shows it); the values
are checked once, at start, and a wrong one stops the node with a message naming the parameter, the value
and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
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
        """``value`` if allowed (ints are accepted for float parameters); raises :class:`ParameterValueError`."""
        if isinstance(self.default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(self.default, list):
            value = [float(v) for v in value]
        ok = (not self.choices or value in self.choices) and (self.minimum is None or value >= self.minimum)
        ok = ok and (self.length is None or len(value) == self.length)
        if not ok:
            raise ParameterValueError(
                f"parameter {self.name} = {value!r} is not allowed: expected {self.constraints()}"
            )
        return value


def declare_parameters(node: Node, specs: tuple[ParameterSpec, ...]) -> dict[str, Value]:
    """Declare ``specs`` on ``node`` (read-only, described) and return their checked values by name."""
    values: dict[str, Value] = {}
    for spec in specs:
        descriptor = ParameterDescriptor(
            description=spec.description, additional_constraints=spec.constraints(), read_only=True
        )
        try:
            declared = node.declare_parameter(spec.name, spec.default, descriptor)
        except (InvalidParameterTypeException, InvalidParameterValueException) as error:
            raise ParameterValueError(
                f"parameter {spec.name} has a value of the wrong type: expected {type(spec.default).__name__} "
                f"like its default {spec.default!r} ({error})"
            ) from error
        values[spec.name] = spec.check(declared.value)
    return values
