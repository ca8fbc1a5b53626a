"""``diagnostic_msgs/DiagnosticStatus`` of a depth node, from its :class:`~depth_ros.ros.statistics.Snapshot`.

Levels: OK while depth goes out (or one frame takes longer than a report period); WARN when frames arrive
but none is published (skipped: no camera_info, no pose, no keyframe yet) or nothing arrives at all; ERROR
when frames fail (bad encodings, errors).
"""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

from depth_ros.ros.statistics import Snapshot

# Frames taken without a usable publication sequence number (rmw_cyclonedds_cpp gives none; an rclpy without
# publisher gids cannot tell several publishers' numbers apart): the frames dropped before them are not counted.
UNCOUNTED_KEY = "taken without a sequence number (dropped is a lower bound)"


def depth_status(
    name: str, hardware_id: str, engine: str, image_input: str, snapshot: Snapshot, previous: Snapshot
) -> DiagnosticStatus:
    """The status of node ``name`` running ``engine``; ``image_input``: its image topic and how it is subscribed
    (e.g. ``/camera/image_raw, reliable``); ``previous``: the snapshot of the last report."""
    received = snapshot.received - previous.received
    published = snapshot.published - previous.published
    failed = sum(snapshot.failed.values()) - sum(previous.failed.values())
    if failed and not published:
        level, message = DiagnosticStatus.ERROR, f"{failed} frames failed: {_top(snapshot.failed)}"
    elif received == 0 and snapshot.received > snapshot.finished:  # frames count as received once taken
        level, message = DiagnosticStatus.OK, "inferring a frame taken before this report (a slow model)"
    elif received == 0:
        level, message = DiagnosticStatus.WARN, f"no images received ({image_input})"
    elif published == 0:
        level, message = DiagnosticStatus.WARN, f"images arrive but no depth: {_top(snapshot.skipped) or 'waiting'}"
    else:
        level, message = DiagnosticStatus.OK, f"{snapshot.output_hz:.1f} Hz depth"
    values = {
        "engine": engine,
        "image_input": image_input,
        "input_hz": f"{snapshot.input_hz:.2f}",
        "output_hz": f"{snapshot.output_hz:.2f}",
        "latency_median_ms": f"{snapshot.latency_ms[0]:.2f}",
        "latency_p90_ms": f"{snapshot.latency_ms[1]:.2f}",
        "processing_median_ms": f"{snapshot.processing_ms[0]:.2f}",
        "inference_median_ms": f"{snapshot.inference_ms:.2f}",
        "received": str(snapshot.received),
        "published": str(snapshot.published),
        "dropped": str(snapshot.dropped),
        **({UNCOUNTED_KEY: str(snapshot.uncounted)} if snapshot.uncounted else {}),
        **{f"skipped: {reason}": str(count) for reason, count in sorted(snapshot.skipped.items())},
        **{f"failed: {reason}": str(count) for reason, count in sorted(snapshot.failed.items())},
        **{f"rejected: {topic}": str(count) for topic, count in sorted(snapshot.rejected.items())},
    }
    return DiagnosticStatus(
        level=level,
        name=name,
        message=message,
        hardware_id=hardware_id,
        values=[KeyValue(key=key, value=value) for key, value in values.items()],
    )


def _top(counts: dict[str, int]) -> str:
    """The most frequent reason, for the one-line message."""
    return max(counts, key=counts.__getitem__) if counts else ""
