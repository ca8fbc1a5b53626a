"""Monodepth2 depth from a camera: mono_depth_node (+ rviz2 with rviz:=true).

ros2 launch depth_ros mono.launch.py                       # the sample bag's topics; outputs in /mono/depth/...
ros2 launch depth_ros mono.launch.py image:=/cam/image_raw camera_info:=/cam/camera_info rviz:=true
ros2 launch depth_ros mono.launch.py scale_mode:=odometry backend:=tensorrt model:=/path/monodepth2.engine

Arguments: see depth_ros/ros/launch_description.py; parameters: config/mono.yaml.
"""

from depth_ros.ros.launch_description import depth_launch_description


def generate_launch_description():
    return depth_launch_description("mono")
