"""How depth_ros lays out a robot recording in a ROS 2 bag: topic names, frame names, metadata keys.

The writer uses these names; the reader uses them as defaults and takes others for any bag.
"""

from __future__ import annotations

from dataclasses import dataclass

from rosbags.typesys import Stores, get_typestore

# Message definitions written into the bags (and used to read bags that carry none).
TYPESTORE = get_typestore(Stores.ROS2_JAZZY)
BAG_VERSION = 9  # rosbag2 metadata version of Jazzy and later

# Key of the bag metadata's custom_data entry that repeats the camera extrinsic, for tools without tf.
EXTRINSIC_KEY = "depth_ros.T_base_cam"
GENERATOR_KEY = "depth_ros.generator"


@dataclass(frozen=True)
class BagTopics:
    """Topic names of a recording; ``None`` marks a topic the bag does not have.

    Attributes:
        image: ``sensor_msgs/Image`` (rgb8, bgr8, rgba8, bgra8, mono8).
        camera_info: ``sensor_msgs/CameraInfo`` of ``image``.
        depth: ground-truth ``sensor_msgs/Image`` (32FC1 metres or 16UC1 millimetres) aligned with ``image``.
        depth_camera_info: the ``camera_info`` beside ``depth`` (what rviz's DepthCloud looks for).
        odometry: ``nav_msgs/Odometry`` of the robot's base in its odometry frame.
        tf_static: ``tf2_msgs/TFMessage`` with the static transforms (base -> camera optical frame).
        tf: ``tf2_msgs/TFMessage`` with the dynamic transforms (odom -> base), for rviz.
        lidar: ``sensor_msgs/PointCloud2`` of a LiDAR (ground truth for evaluation); not written by default.
    """

    image: str = "/camera/image_raw"
    camera_info: str = "/camera/camera_info"
    depth: str | None = "/camera/depth/ground_truth"
    depth_camera_info: str | None = "/camera/depth/camera_info"
    odometry: str | None = "/odom"
    tf_static: str | None = "/tf_static"
    tf: str | None = "/tf"
    lidar: str | None = None


@dataclass(frozen=True)
class FrameNames:
    """tf frame names (REP 105 and REP 103)."""

    odom: str = "odom"
    base: str = "base_link"
    camera: str = "camera_optical_frame"
