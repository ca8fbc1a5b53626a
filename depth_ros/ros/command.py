"""``depth-ros run mono|multiview [--params FILE] [--ros-args ...]``: a depth node in this process.

The same node and the same parameter file as ``ros2 launch depth_ros mono.launch.py``, for machines without
the ``launch`` package (or without a colcon install): ``--params`` defaults to the shipped
``config/mono.yaml`` / ``config/multiview.yaml``, and everything after ``--ros-args`` goes to rclpy
(remaps ``-r image:=/my/camera``, parameters ``-p backend:=onnxruntime``, ``--log-level``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

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
    argv = ["depth-ros", "--ros-args", "--params-file", str(params), *ros_args]
    from depth_ros.ros.spin import run_node

    if args.node == "mono":
        from depth_ros.ros.mono_node import MonoDepthNode

        return run_node(MonoDepthNode, argv)
    from depth_ros.ros.multiview_node import MultiViewDepthNode

    return run_node(MultiViewDepthNode, argv)


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
