"""An input subscription whose reliability follows the ``input_qos`` parameter (see :mod:`depth_ros.ros.qos`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rclpy.callback_groups import CallbackGroup
from rclpy.node import Node
from rclpy.qos import ReliabilityPolicy
from rclpy.topic_endpoint_info import TopicEndpointInfo

from depth_ros.ros.qos import profile_for_publishers, profile_in_words, qos_profile

try:
    from rclpy.event_handler import SubscriptionEventCallbacks
except ImportError:  # Humble: the same class in its older module
    from rclpy.qos_event import SubscriptionEventCallbacks  # type: ignore[no-redef]


class InputSubscription:
    """A subscription to ``topic`` on ``node``, reliable or best effort as ``input_qos`` says.

    ``sensor_data`` and ``reliable`` subscribe at once, with that profile. ``auto`` subscribes once the topic
    has a publisher, with the reliability (and durability) :func:`~depth_ros.ros.qos.profile_for_publishers`
    picks for its publishers, and :meth:`follow` (called on a timer by the node) subscribes again when they change it.
    With ``reliable``, :meth:`follow` counts the best-effort publishers, which such a subscription never
    hears from, and warns when there are more of them (also when rclpy's own incompatible-QoS warning, a QoS
    event, is off: ``qos_events=False``).

    Args:
        node: the node that owns the subscription.
        message_type: the ROS message class.
        topic: the topic, relative names allowed (remaps apply).
        callback: called with each message, on the executor thread (unless ``callback_group`` keeps executors
            from taking them: :class:`~depth_ros.ros.camera_inbox.TakenByOwnThread`).
        input_qos: ``auto``, ``sensor_data`` or ``reliable``.
        depth: messages kept (history depth).
        callback_group: the subscription's callback group (None: the node's default).
        qos_events: give the subscription rclpy's default QoS event handlers (its incompatible-QoS warning);
            False for subscriptions that no executor takes (see :mod:`depth_ros.ros.camera_inbox`).
        on_resubscribe: called after :meth:`follow` made a subscription (the first one or a replacement).
        latched: ``auto`` may subscribe transient local (:func:`~depth_ros.ros.qos.profile_for_publishers`):
            for a topic whose last message stays valid, as camera_info (an old image or pose would be stale).

    Attributes:
        topic: the resolved topic name (namespace and remaps applied).
        subscription: the current subscription, None until ``auto`` has seen a publisher.
        profile: its QoS profile's name (``reliable``, ``sensor_data``, ``latched``), "" while there is none.
        unheard: publishers whose messages the subscription cannot receive (best effort, for ``reliable``).
    """

    def __init__(
        self,
        node: Node,
        message_type: type,
        topic: str,
        callback: Callable[[Any], None],
        input_qos: str,
        depth: int = 1,
        callback_group: CallbackGroup | None = None,
        qos_events: bool = True,
        on_resubscribe: Callable[[], None] | None = None,
        latched: bool = False,
    ):
        self._node, self._message_type, self._callback = node, message_type, callback
        self._setting, self._depth = input_qos, depth
        self._callback_group, self._qos_events, self._on_resubscribe = callback_group, qos_events, on_resubscribe
        self._latched = latched
        self._name = topic  # as given: create_subscription resolves it (remaps once; the resolved name again
        self.topic = node.resolve_topic_name(topic)  # would meet a second rule, -r /a:=/b after -r image:=/a)
        self.subscription: Any = None
        self.profile = ""
        self.unheard = 0
        self.follow()

    def follow(self) -> None:
        """(Re)subscribe with the reliability the setting asks for now; nothing when it is the current one, or
        when ``auto`` finds no publisher yet."""
        publishers = self._node.get_publishers_info_by_topic(self.topic)
        self._count_unheard(publishers)
        wanted = profile_for_publishers(publishers, self._latched) if self._setting == "auto" else self._setting
        if wanted is None or wanted == self.profile:
            return
        previous = self.subscription
        self.subscription = self._node.create_subscription(
            self._message_type,
            self._name,
            self._callback,
            qos_profile(wanted, self._depth),
            callback_group=self._callback_group,
            event_callbacks=SubscriptionEventCallbacks(use_default_callbacks=self._qos_events),
        )
        self.profile = wanted
        if self._on_resubscribe is not None:
            self._on_resubscribe()
        in_words = profile_in_words(wanted)
        if previous is None:
            if self._setting == "auto":
                self._node.get_logger().info(f"subscribed to {self.topic} {in_words}, as its publishers offer")
            return
        self._node.destroy_subscription(previous)
        message = f"the publishers of {self.topic} changed their QoS: subscribed again, {in_words}"
        self._node.get_logger().warning(message)

    def _count_unheard(self, publishers: list[TopicEndpointInfo]) -> None:
        unheard = sum(info.qos_profile.reliability != ReliabilityPolicy.RELIABLE for info in publishers)
        unheard = unheard if self._setting == "reliable" else 0
        if unheard > self.unheard:
            self._node.get_logger().warning(
                f"{unheard} publisher(s) of {self.topic} offer best effort, which input_qos reliable never "
                "receives: use input_qos auto (or sensor_data)"
            )
        self.unheard = unheard

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
        if self.profile:
            unheard = (
                f"; {self.unheard} best-effort publisher(s) not heard (input_qos reliable)" if self.unheard else ""
            )
            return f"{self.topic}, {profile_in_words(self.profile)}{unheard}"
        return f"{self.topic}, not subscribed: no publisher yet (input_qos auto)"

    def destroy(self) -> None:
        """Destroy the subscription; the object is not used afterwards."""
        if self.subscription is not None:
            self._node.destroy_subscription(self.subscription)
        self.subscription, self.profile = None, ""
