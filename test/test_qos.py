"""What ``input_qos: auto`` subscribes with for a topic's publishers (depth_ros.ros.qos), as pure functions of
the publishers' QoS; the subscriptions themselves are exercised over DDS in test_nodes.py."""

from __future__ import annotations

import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed (no ROS 2 and no ROS 2 wheels)")

from rclpy.qos import DurabilityPolicy, ReliabilityPolicy
from rclpy.topic_endpoint_info import TopicEndpointInfo

from depth_ros.ros.qos import profile_for_publishers, profile_in_words, qos_profile

pytestmark = pytest.mark.ros


def publishers(*names: str) -> list[TopicEndpointInfo]:
    return [TopicEndpointInfo(qos_profile=qos_profile(name)) for name in names]


@pytest.mark.parametrize(
    "offered, latched, expected",
    [
        ((), True, None),
        (("reliable",), True, "reliable"),
        (("latched",), False, "reliable"),  # an input whose old messages would be stale: never latched
        (("latched",), True, "latched"),
        (("latched", "latched"), True, "latched"),
        (("latched", "reliable"), True, "reliable"),  # a volatile publisher too: a latched subscription misses it
        (("sensor_data",), True, "sensor_data"),
        (("latched", "sensor_data"), True, "sensor_data"),
    ],
)
def test_auto_takes_what_every_publisher_offers(offered, latched, expected) -> None:
    assert profile_for_publishers(publishers(*offered), latched) == expected


def test_profiles_and_their_words() -> None:
    latched, reliable, best_effort = qos_profile("latched", 3), qos_profile("reliable"), qos_profile("sensor_data")
    assert (latched.reliability, latched.durability, latched.depth) == (
        ReliabilityPolicy.RELIABLE,
        DurabilityPolicy.TRANSIENT_LOCAL,
        3,
    )
    assert (reliable.reliability, reliable.durability) == (ReliabilityPolicy.RELIABLE, DurabilityPolicy.VOLATILE)
    assert (best_effort.reliability, best_effort.durability) == (
        ReliabilityPolicy.BEST_EFFORT,
        DurabilityPolicy.VOLATILE,
    )
    words = [profile_in_words(name) for name in ("reliable", "sensor_data", "latched")]
    assert words == ["reliable", "best effort", "reliable, latched (transient local)"]
