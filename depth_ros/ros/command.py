"""``depth-ros run mono|multiview [--params FILE] [--ros-args ...]``: a depth node in this process.

The same node and the same parameter file as ``ros2 launch depth_ros mono.launch.py``, for machines without
the ``launch`` package (or without a colcon install): ``--params`` defaults to the shipped
``config/mono.yaml`` / ``config/multiview.yaml``, and everything after ``--ros-args`` goes to rclpy
(remaps ``-r image:=/my/camera``, parameters ``-p backend:=onnxruntime``, ``--log-level``).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import Any

NODES = {"mono": "config/mono.yaml", "multiview": "config/multiview.yaml"}


def _run(args: argparse.Namespace) -> int:
    from depth_ros.errors import DepthRosError
    from depth_ros.resources import package_file

    params = args.params or package_file(NODES[args.node])
    if not Path(params).is_file():
        raise DepthRosError(f"parameter file not found: {params}")
    ros_args = list(args.ros_args)
    if ros_args and ros_args[0] == "--ros-args":
        ros_args = ros_args[1:]
    _check_overrides_keep_the_file_types(Path(params), ros_args)
    argv = ["depth-ros", "--ros-args", "--params-file", str(params), *ros_args]
    from depth_ros.ros.spin import run_node

    if args.node == "mono":
        from depth_ros.ros.mono_node import MonoDepthNode

        return run_node(MonoDepthNode, argv)
    from depth_ros.ros.multiview_node import MultiViewDepthNode

    return run_node(MultiViewDepthNode, argv)


# rcl keeps one slot per type for a parameter and an override fills its own slot without emptying the file's;
# rclpy then reads the first filled slot in this order. So an override of a later type than the file's value
# is dropped without a word (measured: -p points_rgb:=1 over points_rgb: false kept false; 1 over 0.5 took 1).
_RCL_TYPE_ORDER = ("boolean", "integer", "double", "string", "list")
_WRITTEN = {"boolean": "true or false", "integer": "an integer", "double": "a number", "string": "a string"}
_WRITTEN["list"] = "a list: [1.0, 2.0]"


def _value_kind(value: Any) -> str | None:
    """A YAML value's type as rcl stores it (one of :data:`_RCL_TYPE_ORDER`), None for a mapping or null."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    kinds = {float: "double", str: "string", list: "list"}
    return kinds.get(type(value))


def _shown(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _file_parameters(params: Path) -> dict[str, Any]:
    """``{name: value}`` of every node's ``ros__parameters`` in ``params`` (nested keys joined with dots)."""
    import yaml

    try:
        document = yaml.safe_load(params.read_text())
    except (OSError, yaml.YAMLError):
        return {}  # rcl reports an unreadable file itself

    def flatten(mapping: dict, prefix: str = "") -> dict[str, Any]:
        flat: dict[str, Any] = {}
        for key, value in mapping.items():
            flat.update(flatten(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
        return flat

    found: dict[str, Any] = {}
    for section in (document or {}).values() if isinstance(document, dict) else ():
        if isinstance(section, dict) and isinstance(section.get("ros__parameters"), dict):
            found.update(flatten(section["ros__parameters"]))
    return found


def _check_overrides_keep_the_file_types(params: Path, ros_args: list[str]) -> None:
    """Refuse a ``-p name:=value`` that rcl would drop in favour of the value ``params`` gives ``name`` (see
    :data:`_RCL_TYPE_ORDER`: ``-p points_rgb:=1`` over the shipped ``points_rgb: false``). Overrides that rcl
    takes are checked by the node like any value."""
    import yaml

    from depth_ros.errors import DepthRosError

    in_file = _file_parameters(params)
    for flag, rule in itertools.pairwise(ros_args):
        if flag not in ("-p", "--param") or ":=" not in rule:
            continue
        name, text = rule.split(":=", 1)
        name = name.rsplit(":", 1)[-1]  # node_name:parameter
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            continue  # rcl reports it
        if name not in in_file:
            continue
        given, in_params = _value_kind(value), _value_kind(in_file[name])
        if given and in_params and _RCL_TYPE_ORDER.index(given) > _RCL_TYPE_ORDER.index(in_params):
            raise DepthRosError(
                f"-p {rule}: {params} sets {name} to {_shown(in_file[name])}, and rcl would keep that and ignore "
                f"this {given} without a word: give {_WRITTEN[in_params]}"
            )


def register_run(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a depth node (mono: Monodepth2, multiview: MVDepthNet) without ros2 launch",
        description="Run mono_depth_node or multiview_depth_node in this process with a parameter file.",
        epilog="example: depth-ros run multiview --ros-args -r image:=/camera/image_raw -r odom:=/odom",
    )
    parser.add_argument("node", choices=sorted(NODES))
    parser.add_argument("--params", type=Path, help="parameter YAML (default: the shipped config/<node>.yaml)")
    parser.set_defaults(handler=_run, ros_args=[])
