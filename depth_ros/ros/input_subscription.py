"""An input subscription whose reliability follows the ``input_qos`` parameter (see :mod:`depth_ros.ros.qos`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rclpy.node import Node

from depth_ros.ros.qos import publishers_reliability, qos_profile, reliability_in_words


class InputSubscription:
    """A subscription to ``topic`` on ``node``, reliable or best effort as ``input_qos`` says.

    ``sensor_data`` and ``reliable`` subscribe at once, with that profile. ``auto`` subscribes once the topic
    has a publisher, with the reliability :func:`~depth_ros.ros.qos.publishers_reliability` picks for its
    publishers, and :meth:`follow` (called on a timer by the node) subscribes again when they change it.

    Args:
        node: the node that owns the subscription.
        message_type: the ROS message class.
        topic: the topic, relative names allowed (remaps apply).
        callback: called with each message, on the executor thread.
        input_qos: ``auto``, ``sensor_data`` or ``reliable``.
        depth: messages kept (history depth).

    Attributes:
        topic: the resolved topic name (namespace and remaps applied).
        subscription: the current subscription, None until ``auto`` has seen a publisher.
        reliability: its profile's name (``reliable``, ``sensor_data``), "" while there is none.
    """

    def __init__(
        self,
        node: Node,
        message_type: type,
        topic: str,
        callback: Callable[[Any], None],
        input_qos: str,
        depth: int = 1,
    ):
        self._node, self._message_type, self._callback = node, message_type, callback
        self._setting, self._depth = input_qos, depth
        self._name = topic  # as given: create_subscription resolves it (remaps once; the resolved name again
        self.topic = node.resolve_topic_name(topic)  # would meet a second rule, -r /a:=/b after -r image:=/a)
        self.subscription: Any = None
        self.reliability = ""
        self.follow()

    def follow(self) -> None:
        """(Re)subscribe with the reliability the setting asks for now; nothing when it is the current one, or
        when ``auto`` finds no publisher yet."""
        if self._setting == "auto":
            wanted = publishers_reliability(self._node.get_publishers_info_by_topic(self.topic))
        else:
            wanted = self._setting
        if wanted is None or wanted == self.reliability:
            return
        previous = self.subscription
        self.subscription = self._node.create_subscription(
            self._message_type, self._name, self._callback, qos_profile(wanted, self._depth)
        )
        self.reliability = wanted
        in_words = reliability_in_words(wanted)
        if previous is None:
            if self._setting == "auto":
                self._node.get_logger().info(f"subscribed to {self.topic} {in_words}, as its publishers offer")
            return
        self._node.destroy_subscription(previous)
        message = f"the publishers of {self.topic} changed their QoS: subscribed again, {in_words}"
        self._node.get_logger().warning(message)

    def publisher_count(self) -> int:
        """Publishers matched to the subscription (0 while there is none); safe from any thread."""
        subscription = self.subscription  # the executor thread may replace it meanwhile
        if subscription is None:
            return 0
        try:
            return subscription.get_publisher_count()
        except RuntimeError:  # rclpy's InvalidHandle: replaced or destroyed meanwhile
            return 0

    def describe(self) -> str:
        """The topic and its subscription's reliability (or why there is none), for /diagnostics."""
        if self.reliability:
            return f"{self.topic}, {reliability_in_words(self.reliability)}"
        return f"{self.topic}, not subscribed: no publisher yet (input_qos auto)"

    def destroy(self) -> None:
        """Destroy the subscription; the object is not used afterwards."""
        if self.subscription is not None:
            self._node.destroy_subscription(self.subscription)
        self.subscription, self.reliability = None, ""
