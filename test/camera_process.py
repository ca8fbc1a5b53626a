"""A camera in a process of its own, for tests that need DDS between processes (within one process, Fast DDS
hands messages over directly, without the transports that lose large best-effort samples).

    python camera_process.py IMAGE_TOPIC CAMERA_INFO_TOPIC WIDTH HEIGHT COUNT RATE_HZ [QOS]

Publishes ``COUNT`` rgb8 frames of ``WIDTH x HEIGHT`` (a synthetic street, resized) and a camera_info with each,
both with ``QOS`` (``reliable``, the default, or ``sensor_data``: best effort, as many camera drivers), at
``RATE_HZ``, once both topics have a subscriber; prints ``sent COUNT`` and exits (status 1 when no subscriber
came within 30 s). ROS_DOMAIN_ID, discovery and the Fast DDS profile come from the environment.
"""

from __future__ import annotations

import sys
import time

import cv2
import rclpy
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence
from depth_ros.geometry import PinholeCamera
from depth_ros.ros.messages import camera_info_message, rgb_image_message
from depth_ros.ros.qos import qos_profile


def main() -> int:
    image_topic, info_topic, width, height, count, rate = sys.argv[1:7]
    reliability = sys.argv[7] if len(sys.argv) > 7 else "reliable"
    width, height, count, period = int(width), int(height), int(count), 1.0 / float(rate)
    frame = SyntheticSequence(SyntheticConfig(frames=1, width=256, height=192, seed=1002)).frame(0)
    rgb, camera = cv2.resize(frame.rgb, (width, height)), PinholeCamera.from_fov(width, height, 80.0)
    rclpy.init()
    node = rclpy.create_node("test_camera_process")
    images = node.create_publisher(Image, image_topic, qos_profile(reliability, 10))
    infos = node.create_publisher(CameraInfo, info_topic, qos_profile(reliability, 10))
    deadline = time.monotonic() + 30.0
    while not (images.get_subscription_count() and infos.get_subscription_count()):
        if time.monotonic() > deadline:
            return 1
        time.sleep(0.05)
    time.sleep(0.5)  # discovery is not symmetric: let the subscriptions see these publishers too
    for _ in range(count):
        header = Header(stamp=node.get_clock().now().to_msg(), frame_id="camera_optical_frame")
        infos.publish(camera_info_message(camera, header))
        images.publish(rgb_image_message(rgb, header))
        time.sleep(period)
    print(f"sent {count}", flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
