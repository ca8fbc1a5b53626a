"""The floor of a depth node's per-frame work in rclpy: the same messages in and out, no inference.

    python benchmarks/minimal_relay.py CAMERA_NAMESPACE OUTPUT_NAMESPACE WIDTH HEIGHT [ODOMETRY_TOPIC]

Takes each ``CAMERA_NAMESPACE/image_raw`` (rgb8) with the newest ``CAMERA_NAMESPACE/camera_info``, resizes it to
WIDTH x HEIGHT as the nodes do, and publishes a constant 32FC1 depth image, its camera_info and an organised
point cloud on ``OUTPUT_NAMESPACE/depth/{image,camera_info,points}``, written over the messages published
before (as the nodes do). With ODOMETRY_TOPIC it also subscribes to odometry (and does nothing with it), as the
multiview node must. Run by ``benchmarks/node_overhead.py`` in a process of its own; stops on SIGTERM/Ctrl-C.
"""

from __future__ import annotations

import sys

import cv2
import numpy as np
import rclpy
from nav_msgs.msg import Odometry
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from depth_ros.pipeline.frame import to_network_size
from depth_ros.ros.messages import (
    camera_from_info,
    camera_info_message,
    depth_image_message,
    point_cloud_from_depth,
    rgb_from_image,
)
from depth_ros.ros.qos import qos_profile


class Relay(Node):
    def __init__(self, camera: str, output: str, width: int, height: int, odometry: str | None):
        super().__init__("bench_relay")
        self.size, self.camera = (width, height), None
        self.depth = np.full((height, width), 5.0, np.float32)
        self.published: list = [None, None, None]
        reliable = qos_profile("reliable", 10)
        self.outputs = [
            self.create_publisher(kind, f"{output}/depth/{name}", reliable)
            for kind, name in ((Image, "image"), (CameraInfo, "camera_info"), (PointCloud2, "points"))
        ]
        self.create_subscription(CameraInfo, f"{camera}/camera_info", self.on_camera_info, reliable)
        self.create_subscription(Image, f"{camera}/image_raw", self.on_image, reliable)
        if odometry:
            self.create_subscription(Odometry, odometry, lambda msg: None, reliable)

    def on_camera_info(self, msg: CameraInfo) -> None:
        self.camera = camera_from_info(msg)

    def on_image(self, msg: Image) -> None:
        if self.camera is None:
            return
        _, camera = to_network_size(rgb_from_image(msg), self.camera, *self.size)
        last = self.published
        last[0] = depth_image_message(self.depth, msg.header, reuse=last[0])
        last[1] = camera_info_message(camera, msg.header, reuse=last[1])
        last[2] = point_cloud_from_depth(self.depth, camera, msg.header, reuse=last[2])
        for publisher, message in zip(self.outputs, last, strict=True):
            publisher.publish(message)


def main() -> None:
    camera, output, width, height, *odometry = sys.argv[1:]
    cv2.setNumThreads(1)  # as the nodes (depth_ros.ros.spin)
    rclpy.init()
    relay = Relay(camera, output, int(width), int(height), odometry[0] if odometry else None)
    executor = SingleThreadedExecutor()
    executor.add_node(relay)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        relay.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
