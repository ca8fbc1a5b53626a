"""Play the sample bag (``depth-ros make-sample`` / ``make demo``) in a loop and show it in rviz2.

ros2 launch depth_ros sample_playback.launch.py bag:=demo_output/sample_bag rviz:=true
"""

from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription


def generate_launch_description() -> LaunchDescription:
    bag = LaunchConfiguration("bag")
    rate = LaunchConfiguration("rate")
    rviz_config = PathJoinSubstitution([FindPackageShare("depth_ros"), "config", "sample_playback.rviz"])
    return LaunchDescription(
        [
            DeclareLaunchArgument("bag", default_value="demo_output/sample_bag", description="bag folder to play"),
            DeclareLaunchArgument("rate", default_value="1.0", description="playback speed factor"),
            DeclareLaunchArgument("rviz", default_value="true", description="open rviz2 with the sample view"),
            ExecuteProcess(cmd=["ros2", "bag", "play", bag, "--loop", "--rate", rate], output="screen"),
            Node(
                package="rviz2",
                executable="rviz2",
                name="rviz2",
                arguments=["-d", rviz_config],
                condition=IfCondition(LaunchConfiguration("rviz")),
                output="screen",
            ),
        ]
    )
