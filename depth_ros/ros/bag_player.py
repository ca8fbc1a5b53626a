"""Play a ROS 2 bag into a live ROS graph: each message deserialised into its rclpy type and published.

Used by the node tests, the node benchmark and live evaluation, so the nodes are fed over real DDS with
the recording's own messages. Header stamps can be shifted so that the recording appears to happen now
(latency measured as "now - stamp" then means something); the shift is the same for every topic, so
images, camera_info and odometry stay consistent.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rclpy.node import Node
from rclpy.qos import QoSProfile
from rclpy.serialization import deserialize_message
from rosbags.highlevel import AnyReader

from depth_ros.data.bag_layout import TYPESTORE
from depth_ros.errors import BagError
from depth_ros.ros.qos import qos_profile
from depth_ros.ros.waiting import wait_until


def message_class(msgtype: str) -> type | None:
    """The rclpy class of a ``package/msg/Name`` type, or None when its package is not installed."""
    package, _, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.msg"), name)
    except (ImportError, AttributeError):
        return None


def _stamp_ns(stamp: Any) -> int:
    return stamp.sec * 1_000_000_000 + stamp.nanosec


def _shift_stamp(stamp: Any, offset_ns: int) -> None:
    total = _stamp_ns(stamp) + offset_ns
    stamp.sec, stamp.nanosec = divmod(total, 1_000_000_000)


@dataclass
class Playback:
    """What :meth:`BagPlayer.play` did.

    Attributes:
        published: messages published, by topic.
        skipped_topics: topics not played, with why (e.g. a message package that is not installed).
        stamp_offset_ns: added to every header stamp (0 without restamping): subtract it to find the recording.
        duration_s: wall time of the playback.
    """

    published: dict[str, int] = field(default_factory=dict)
    skipped_topics: dict[str, str] = field(default_factory=dict)
    stamp_offset_ns: int = 0
    duration_s: float = 0.0


class BagPlayer:
    """Publishes the messages of ``bag`` on ``node``, topic by topic as recorded (``remap``: new names).

    Args:
        node: the node that owns the publishers.
        bag: a ROS 2 bag folder (mcap or sqlite3).
        topics: the topics to play (default: every topic whose message type is installed).
        remap: recorded topic -> topic to publish on.
        qos: publisher QoS (default: reliable, keep last 10: compatible with every subscriber).
    """

    def __init__(
        self,
        node: Node,
        bag: Path | str,
        topics: Iterable[str] | None = None,
        remap: dict[str, str] | None = None,
        qos: QoSProfile | None = None,
    ):
        self.bag = Path(bag)
        self._remap = remap or {}
        self._publishers: dict[str, Any] = {}
        self._classes: dict[str, type] = {}
        self.skipped_topics: dict[str, str] = {}
        try:
            with AnyReader([self.bag], default_typestore=TYPESTORE) as reader:
                connections = {c.topic: c.msgtype for c in reader.connections}
        except Exception as error:  # rosbags raises several types (ReaderError, sqlite3, struct, OS errors)
            raise BagError(f"cannot read bag {self.bag}: {error}") from error
        wanted = set(topics) if topics is not None else set(connections)
        missing = wanted - set(connections)
        if missing:
            raise BagError(
                f"{self.bag} has no topic {', '.join(sorted(missing))}; it has {', '.join(sorted(connections))}"
            )
        for topic in sorted(wanted):
            cls = message_class(connections[topic])
            if cls is None:
                self.skipped_topics[topic] = f"{connections[topic]} is not installed"
                continue
            self._classes[topic] = cls
            self._publishers[topic] = node.create_publisher(
                cls, self._remap.get(topic, topic), qos or qos_profile("reliable", 10)
            )

    def wait_for_subscribers(self, topics: Iterable[str], timeout_s: float) -> bool:
        """Wait until each of ``topics`` (recorded names) has a subscriber; returns whether all do."""
        topics = list(topics)
        return wait_until(lambda: all(self._publishers[t].get_subscription_count() > 0 for t in topics), timeout_s)

    def play(
        self,
        rate: float | None = 1.0,
        restamp_to_ns: int | None = None,
        on_publish: Callable[[str, Any], None] | None = None,
        before_publish: Callable[[str, Any], None] | None = None,
    ) -> Playback:
        """Publish every message in recording order.

        Args:
            rate: playback speed factor (1.0: the recorded timing); None: as fast as possible.
            restamp_to_ns: shift every header stamp so the first one becomes this time (e.g. the node clock's
                now); None keeps the recorded stamps.
            on_publish: called with (recorded topic, message) after each publish.
            before_publish: called with (recorded topic, message) before each publish (e.g. to pace the playback
                by how fast its consumers go).
        """
        playback = Playback(skipped_topics=dict(self.skipped_topics))
        start = time.monotonic()
        first_log_ns: int | None = None
        try:
            with AnyReader([self.bag], default_typestore=TYPESTORE) as reader:
                connections = [c for c in reader.connections if c.topic in self._publishers]
                for connection, log_ns, raw in reader.messages(connections=connections):
                    topic = connection.topic
                    message = deserialize_message(bytes(raw), self._classes[topic])
                    if restamp_to_ns is not None:
                        if first_log_ns is None:
                            playback.stamp_offset_ns = restamp_to_ns - _first_stamp(message, log_ns)
                        _restamp(message, playback.stamp_offset_ns)
                    if first_log_ns is None:
                        first_log_ns = log_ns
                    if rate is not None:
                        delay = (log_ns - first_log_ns) * 1e-9 / rate - (time.monotonic() - start)
                        if delay > 0:
                            time.sleep(delay)
                    if before_publish is not None:
                        before_publish(topic, message)
                    self._publishers[topic].publish(message)
                    playback.published[topic] = playback.published.get(topic, 0) + 1
                    if on_publish is not None:
                        on_publish(topic, message)
        except BagError:
            raise
        except Exception as error:  # a truncated or corrupt bag: say so, keep what was played
            raise BagError(f"playing {self.bag} stopped: {error}") from error
        playback.duration_s = time.monotonic() - start
        return playback


def _first_stamp(message: Any, log_ns: int) -> int:
    header = getattr(message, "header", None)
    return _stamp_ns(header.stamp) if header is not None else log_ns


def _restamp(message: Any, offset_ns: int) -> None:
    """Shift the header stamp of ``message`` (and of the transforms in a ``tf2_msgs/TFMessage``)."""
    header = getattr(message, "header", None)
    if header is not None:
        _shift_stamp(header.stamp, offset_ns)
    for transform in getattr(message, "transforms", ()):
        _shift_stamp(transform.header.stamp, offset_ns)
