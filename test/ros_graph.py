"""Real rclpy over real DDS for the node tests: an isolated ROS domain, an executor spinning in a thread,
and probes that record what the nodes publish.

Isolation: a ROS_DOMAIN_ID derived from the test process id and localhost-only discovery, so parallel test
runs on one machine (and other ROS graphs on the network) do not see each other.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from depth_ros.ros.waiting import wait_until as wait_for  # noqa: F401 (the tests' name for it)

DOMAIN_ID = 1 + os.getpid() % 100


def isolate_ros_environment() -> None:
    """Point this process (and the processes it starts) at a private, localhost-only ROS domain."""
    os.environ["ROS_DOMAIN_ID"] = str(DOMAIN_ID)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # Iron and later
    os.environ.pop("ROS_LOCALHOST_ONLY", None)  # deprecated since Iron; it would conflict with the above


class RosGraph:
    """An rclpy context with a single-threaded executor spinning in the background and a ``probe`` node.

    One thread, as the nodes' own ``depth-ros run`` has: the depth nodes infer on their own threads, and
    rclpy's ``MultiThreadedExecutor`` keeps waking up while a callback runs (measured: about 0.4 of a core
    per 40 Hz image subscription, which starved the nodes under test on this 2-core machine).
    """

    def __init__(self) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node

        isolate_ros_environment()
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.probe = Node("test_probe", context=self.context)
        self.executor.add_node(self.probe)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def add(self, node: Any) -> Any:
        self.executor.add_node(node)
        return node

    def remove(self, node: Any, timeout: float = 10.0) -> None:
        """Take ``node`` out of the executor and destroy it on the executor's thread, between two callbacks.

        Destroyed from this thread, a callback the executor had already taken could run on the dead node
        and raise ``InvalidHandle`` in the spin thread, which ends it (seen once: every later test of the
        module then waited in vain for the executor).
        """

        def destroy() -> None:
            self.executor.remove_node(node)
            node.destroy_node()

        task = self.executor.create_task(destroy)
        deadline = time.monotonic() + timeout
        while not task.done():
            assert time.monotonic() < deadline, f"the executor did not destroy {node.get_name()} in {timeout} s"
            time.sleep(0.01)
        task.result()  # raises what destroy raised

    def listen(self, msg_type: type, topic: str, depth: int = 200) -> list[Any]:
        """Messages arriving on ``topic`` (reliable, so none is lost between the node and the probe)."""
        from depth_ros.ros.qos import qos_profile

        received: list[Any] = []
        self.probe.create_subscription(msg_type, topic, received.append, qos_profile("reliable", depth))
        return received

    def publisher(self, msg_type: type, topic: str) -> Any:
        from depth_ros.ros.qos import qos_profile

        return self.probe.create_publisher(msg_type, topic, qos_profile("reliable", 10))

    def close(self) -> None:
        import rclpy

        self.executor.shutdown(timeout_sec=5.0)
        self.probe.destroy_node()
        rclpy.shutdown(context=self.context)
