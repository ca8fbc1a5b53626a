"""The camera's messages taken by the inference thread itself, never by the executor: the newest image, the
newest camera_info with it, and how many images it never saw.

Why: rclpy's executor spends about 0.45 ms of Python per message it dispatches (building its wait set over
every entity of a lifecycle node: services, timers, QoS event handlers), measured with py-spy in
``benchmarks/node_overhead.py``: with the camera at 430 Hz, image and camera_info dispatches kept a core
40-100% busy, the core the inference engine's second thread needed, and they were paid for every frame,
also for the frames inference then dropped. Here the inference thread waits on the image subscription
alone and takes a frame only when it is free to process it; DDS keeps just the newest image meanwhile.

The subscriptions stay ordinary ones of the node (same names, remaps, QoS, graph introspection): their
callback group, :class:`TakenByOwnThread`, only tells executors not to take their messages. They must have
no QoS event handlers (``InputSubscription(qos_events=False)``): rmw_fastrtps wakes a wait set that holds a
subscription's events whenever a message waits untaken, so an executor waiting on them would spin at 100%
of a core while inference holds a frame (measured: throughput fell to 0.06x).

Missed images are counted from each publisher's sequence numbers, which the message info of Kilted's rclpy
carries with the publisher's gid. An rclpy without the gid (older releases) gets counts only while the
topic has one publisher; an rmw without sequence numbers gets none: rmw_cyclonedds_cpp reports
``RMW_MESSAGE_INFO_SEQUENCE_NUMBER_UNSUPPORTED`` for every message (read in its ``rmw_node.cpp``, not run
here: only rmw_fastrtps_cpp is installed). Images taken without a number to count from say so
(:attr:`Taken.missed_unknown`), and /diagnostics reports the drops as not counted rather than as none; the
input rate is then the rate of frames taken.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from rclpy.callback_groups import CallbackGroup
from rclpy.exceptions import InvalidHandle
from rclpy.guard_condition import GuardCondition
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.node import Node
from rclpy.subscription import Subscription

from depth_ros.ros.input_subscription import InputSubscription

FIRST_CAMERA_INFO_WAIT_S = 0.2
"""How long an image waits for a camera_info while none has come yet: drivers and bags publish an image and its
camera_info together, in either order, and the first image must not be lost to that race."""
_MAX_SEQUENCE = 2**63  # an rmw without publication sequence numbers reports 0 or UINT64_MAX


class TakenByOwnThread(CallbackGroup):
    """A callback group whose subscriptions and guard conditions executors leave alone (a thread of the node
    waits on them and takes their messages: :class:`CameraInbox`); anything else in it would run in the
    executor as in a reentrant group."""

    def can_execute(self, entity: Any) -> bool:
        return not isinstance(entity, (Subscription, GuardCondition))

    def beginning_execution(self, entity: Any) -> bool:
        return self.can_execute(entity)

    def ending_execution(self, entity: Any) -> None:
        pass


@dataclass
class Taken:
    """What one :meth:`CameraInbox.wait` took.

    Attributes:
        image: the newest image message (``Image`` or ``CompressedImage``).
        camera_info: the newest ``CameraInfo`` since the last take, or None when none came meanwhile.
        missed: images its publishers sent since the last one taken from them that the node never processed
            (replaced in DDS's one-message queue, or lost on the way), from the gaps in each publisher's
            sequence numbers.
        missed_unknown: whether images before it may have been missed uncounted: one taken came without a
            sequence number to count from (an rmw that does not number messages, or several publishers and an
            rclpy that does not tell them apart).
    """

    image: Any
    camera_info: Any
    missed: int
    missed_unknown: bool = False


class CameraInbox:
    """Waits in the calling thread for the next image of ``image`` and takes it with ``camera_info``'s newest.

    Both inputs must subscribe in ``callback_group`` (so that no executor takes their messages) with history
    depth 1; either may replace its subscription at any time (``input_qos auto``): call :meth:`wake` then,
    and the next wait uses the new one. One thread waits; :meth:`wake` may come from any thread.

    Args:
        node: the node the inputs subscribe on.
        image, camera_info: the camera's inputs.
        callback_group: the inputs' callback group.
    """

    def __init__(
        self, node: Node, image: InputSubscription, camera_info: InputSubscription, callback_group: TakenByOwnThread
    ):
        self._node, self._image, self._camera_info = node, image, camera_info
        self._wake = node.create_guard_condition(lambda: None, callback_group=callback_group)
        self._last_sequence: dict[bytes, int] = {}  # per publisher (gid), of the last image taken from it
        self._camera_info_seen = False

    def wake(self) -> None:
        """End the current :meth:`wait` now (it returns None); safe from any thread."""
        self._wake.trigger()

    def destroy(self) -> None:
        """Destroy the wake-up guard condition (not the inputs); no wait may run any more."""
        self._node.destroy_guard_condition(self._wake)

    def wait(self, timeout_s: float) -> Taken | None:
        """The next image (with the newest camera_info and the images missed before it), or None after
        ``timeout_s`` seconds, on :meth:`wake`, or while the image input has no subscription."""
        subscription = self._image.subscription  # the executor thread may replace it meanwhile
        with ExitStack() as held:  # a handle in use is not destroyed under the wait: rclpy defers that
            try:
                held.enter_context(self._node.context.handle)
                held.enter_context(self._wake.handle)
                if subscription is not None:
                    held.enter_context(subscription.handle)
            except InvalidHandle:  # destroyed meanwhile: the caller waits again, with what replaced it
                return None
            wait_set = _rclpy.WaitSet(int(subscription is not None), 1, 0, 0, 0, 0, self._node.context.handle)
            wait_set.clear_entities()
            wait_set.add_guard_condition(self._wake.handle)
            if subscription is not None:
                wait_set.add_subscription(subscription.handle)
            wait_set.wait(int(timeout_s * 1e9))
            if subscription is None or subscription.handle.pointer not in wait_set.get_ready_entities("subscription"):
                return None
            image, missed, unknown = self._take_images(subscription)
        if image is None:  # ready, but nothing to take (rmw may wake without a message)
            return None
        camera_info = self._take_newest(self._camera_info.subscription)
        if camera_info is None and not self._camera_info_seen:  # afterwards the node keeps the newest it had
            camera_info = self._wait_for_first_camera_info()
        self._camera_info_seen |= camera_info is not None
        return Taken(image, camera_info, missed, unknown)

    def _wait_for_first_camera_info(self) -> Any:
        """The first camera_info if it comes within :data:`FIRST_CAMERA_INFO_WAIT_S`, else None."""
        deadline = time.monotonic() + FIRST_CAMERA_INFO_WAIT_S
        while time.monotonic() < deadline:
            time.sleep(0.005)
            camera_info = self._take_newest(self._camera_info.subscription)
            if camera_info is not None:
                return camera_info
        return None

    def _take_images(self, subscription: Subscription) -> tuple[Any, int, bool]:
        """(The newest message waiting, the images missed before it, whether some may have been missed
        uncounted); the handle is held by the caller."""
        newest, missed, unknown = None, 0, False
        for message, info in _waiting(subscription):
            gap = self._gap(info, subscription)
            missed += (newest is not None) + (gap or 0)
            unknown |= gap is None
            newest = message
        return newest, missed, unknown

    def _gap(self, info: dict[str, Any], subscription: Subscription) -> int | None:
        """Messages of this message's publisher between the last one taken from it and this one: 0 for its
        first, None when it cannot be known (no sequence number, or no gid and several publishers)."""
        sequence, gid = info.get("publication_sequence_number"), info.get("publisher_gid")
        if not isinstance(sequence, int) or not 0 < sequence < _MAX_SEQUENCE:
            return None
        if isinstance(gid, dict):
            key = bytes(gid.get("data", b""))
        elif subscription.get_publisher_count() == 1:  # an rclpy without gids: the one publisher's numbers
            key = b""
        else:
            self._last_sequence.pop(b"", None)  # numbers of several publishers cannot be told apart
            return None
        last = self._last_sequence.get(key)
        self._last_sequence[key] = sequence
        return sequence - last - 1 if last is not None and sequence > last else 0

    @staticmethod
    def _take_newest(subscription: Subscription | None) -> Any:
        """The newest message waiting on ``subscription`` (None when none, or when it was destroyed meanwhile)."""
        if subscription is None:
            return None
        newest = None
        try:
            with subscription.handle:
                for message, _ in _waiting(subscription):
                    newest = message
        except InvalidHandle:
            return None
        return newest


def _waiting(subscription: Subscription) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Take the messages waiting on ``subscription``, oldest first, each with its message info (the caller
    holds the handle)."""
    while (taken := subscription.handle.take_message(subscription.msg_type, False)) is not None:
        yield taken
