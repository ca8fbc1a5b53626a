"""MVDepthNet metric depth from a camera and odometry: multiview_depth_node (+ rviz2 with rviz:=true).

ros2 launch depth_ros multiview.launch.py                  # the sample bag's topics; outputs in /multiview/depth/...
ros2 launch depth_ros multiview.launch.py image:=/cam/image_raw camera_info:=/cam/camera_info odom:=/odom rviz:=true

Arguments: see depth_ros/ros/launch_description.py; parameters: config/multiview.yaml.
"""

from depth_ros.ros.launch_description import depth_launch_description


def generate_launch_description():
    return depth_launch_description("multiview")
