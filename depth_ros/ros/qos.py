"""Quality-of-service profiles by name, as the ``input_qos`` and ``output_qos`` parameters take them.

* ``sensor_data``: best effort, keep the last message: matches every publisher (camera drivers publish best
  effort, ``ros2 bag play`` reliable); a late frame is replaced by a newer one rather than queued.
* ``reliable``: reliable, keep the last message: for publishers or subscribers that insist on reliability.

Outputs default to ``reliable`` (a reliable publisher serves reliable and best-effort subscribers alike,
rviz's default included); ``sensor_data`` makes them best effort, like depth_image_proc.
"""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

QOS_CHOICES = ("sensor_data", "reliable")


def qos_profile(name: str, depth: int = 1) -> QoSProfile:
    """The profile called ``name`` (see :data:`QOS_CHOICES`), keeping the last ``depth`` messages."""
    reliability = {"sensor_data": ReliabilityPolicy.BEST_EFFORT, "reliable": ReliabilityPolicy.RELIABLE}[name]
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=reliability, durability=DurabilityPolicy.VOLATILE
    )
