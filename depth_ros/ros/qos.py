"""Quality-of-service profiles by name, as the ``input_qos`` and ``output_qos`` parameters take them.

* ``sensor_data``: best effort, keep the last message: matches every publisher (camera drivers publish best
  effort, ``ros2 bag play`` reliable); a late frame is replaced by a newer one rather than queued.
* ``reliable``: reliable, keep the last message: for publishers or subscribers that insist on reliability.
* ``auto`` (inputs only): each input subscription (image, camera_info, odometry) takes its publishers'
  reliability (see :func:`profile_for_publishers`); camera_info, when every one of its publishers is reliable
  and transient local (latched, as a camera_info published once, or a bag's latched topic played again),
  the internal profile ``latched``: reliable and transient local, so that it receives what they published
  before it subscribed (a volatile subscription never would).

Why ``auto``: a best-effort subscription to a large image loses it whenever one of its DDS fragments is lost,
and with Fast DDS defaults that is nearly every image over about 0.5 MB (measured on loopback, one machine,
5 Hz: 640x480 rgb8 frames arrived 0-2 times in 25, whether the publisher was reliable or best effort; 480x360
and smaller, 25 of 25). A reliable subscription gets them all (25 of 25 at 1280x720) but does not match a
best-effort publisher, hence: reliable when every publisher is reliable. The small inputs follow their own
publishers the same way, because best effort loses them too while large images share the way in: camera_info
sent with each 640x480 reliable image arrived 2-3 times in 20 best effort; reliable, all 20 arrived (those
lost on the way late, resent at the publisher's next heartbeat). Large images fail because they do not fit
Fast DDS's 512 KB shared-memory segment and go over UDP in fragments: ``config/fastdds_large_images.xml`` (a
16 MB segment) in the publisher's process carries them best effort too (README, "Large images and QoS").

Outputs default to ``reliable`` (a reliable publisher serves reliable and best-effort subscribers alike,
rviz's default included); ``sensor_data`` makes them best effort, like depth_image_proc.
"""

from __future__ import annotations

from collections.abc import Sequence

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.topic_endpoint_info import TopicEndpointInfo

QOS_CHOICES = ("sensor_data", "reliable")
INPUT_QOS_CHOICES = ("auto", *QOS_CHOICES)
_PROFILES = {  # name: (reliability, durability, in words); "latched" only as input_qos auto chooses it
    "sensor_data": (ReliabilityPolicy.BEST_EFFORT, DurabilityPolicy.VOLATILE, "best effort"),
    "reliable": (ReliabilityPolicy.RELIABLE, DurabilityPolicy.VOLATILE, "reliable"),
    "latched": (ReliabilityPolicy.RELIABLE, DurabilityPolicy.TRANSIENT_LOCAL, "reliable, latched (transient local)"),
}


def qos_profile(name: str, depth: int = 1) -> QoSProfile:
    """The profile called ``name`` (see :data:`QOS_CHOICES`, and ``latched``), keeping the last ``depth``
    messages."""
    reliability, durability, _ = _PROFILES[name]
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=reliability, durability=durability)


def profile_in_words(name: str) -> str:
    """How the profile called ``name`` subscribes (``reliable``, ``best effort`` or ``reliable, latched``), for
    logs and diagnostics."""
    return _PROFILES[name][2]


def profile_for_publishers(publishers: Sequence[TopicEndpointInfo], latched: bool = False) -> str | None:
    """What an ``auto`` input subscription takes for these publishers of its topic: ``reliable`` when every one
    of them is reliable (a lost sample or fragment is resent), with ``latched`` allowed ``latched`` when they
    are also all transient local (what they published before the subscription was made comes too),
    ``sensor_data`` when one is best effort (a reliable subscription would not receive from it), None without
    publishers (nothing to choose from)."""
    if not publishers:
        return None
    if any(info.qos_profile.reliability != ReliabilityPolicy.RELIABLE for info in publishers):
        return "sensor_data"
    if latched and all(info.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for info in publishers):
        return "latched"
    return "reliable"
