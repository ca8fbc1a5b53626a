"""The launch description behind ``mono.launch.py`` and ``multiview.launch.py`` (written once, for both).

Launch arguments: ``namespace`` (of the node and its outputs), the input topics (``image``, ``camera_info``,
``odom``; defaults: the sample bag's), ``params_file`` (default: the shipped ``config/<node>.yaml``),
``model``, ``backend``, ``scale_mode`` (mono) and ``rviz`` (``true`` opens rviz2 with
``config/depth_ros.rviz``). ``model``, ``backend`` and ``scale_mode`` override the parameter file only when
given, so a user's parameter file is never silently overridden by a launch default.
"""

from __future__ import annotations

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription

EXECUTABLES = {"mono": "mono_depth_node", "multiview": "multiview_depth_node"}
TOPICS = {"image": "/camera/image_raw", "camera_info": "/camera/camera_info", "odom": "/odom"}
OVERRIDES = {"mono": ("model", "backend", "scale_mode"), "multiview": ("model", "backend")}


def depth_launch_description(kind: str) -> LaunchDescription:
    """The launch description of the ``mono`` or ``multiview`` depth node."""
    share = FindPackageShare("depth_ros")
    arguments = [
        DeclareLaunchArgument("namespace", default_value=kind, description="namespace of the node and its outputs"),
        *(
            DeclareLaunchArgument(name, default_value=topic, description=f"input topic '{name}'")
            for name, topic in TOPICS.items()
        ),
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([share, "config", f"{kind}.yaml"]),
            description="parameter YAML",
        ),
        *(
            DeclareLaunchArgument(name, default_value="", description=f"{name} (empty: the parameter file's)")
            for name in OVERRIDES[kind]
        ),
        DeclareLaunchArgument("rviz", default_value="false", description="open rviz2 with config/depth_ros.rviz"),
    ]
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        name="rviz2",
        arguments=["-d", PathJoinSubstitution([share, "config", "depth_ros.rviz"])],
        condition=IfCondition(LaunchConfiguration("rviz")),
        output="screen",
    )
    return LaunchDescription([*arguments, OpaqueFunction(function=_depth_node, args=[kind]), rviz])


def _depth_node(context, kind: str) -> list[Node]:
    """The node, with the launch arguments the user gave layered over the parameter file."""
    overrides = {name: LaunchConfiguration(name).perform(context) for name in OVERRIDES[kind]}
    overrides = {name: value for name, value in overrides.items() if value}
    return [
        Node(
            package="depth_ros",
            executable=EXECUTABLES[kind],
            name=EXECUTABLES[kind],
            namespace=LaunchConfiguration("namespace"),
            parameters=[LaunchConfiguration("params_file"), *([overrides] if overrides else [])],
            remappings=[(name, LaunchConfiguration(name)) for name in TOPICS],
            output="screen",
        )
    ]
