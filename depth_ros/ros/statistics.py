"""What a depth node counts and times: frames in, out, dropped, skipped (by reason), failed, and latency.

Thread-safe: the inference and publishing threads (and the odometry callbacks) record, the diagnostics timer
reads.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Snapshot:
    """Totals since start, and rates and timings over the last window.

    Attributes:
        received, published, dropped: frames since start (dropped = sent by the camera but never processed:
            replaced by a newer one while inference was busy, or lost on the way).
        finished: frames dealt with since start: published, skipped, failed or dropped.
        uncounted: frames taken since start without a usable sequence number (see
            :attr:`~depth_ros.ros.camera_inbox.Taken.missed_unknown`): the drops before them are not counted, so
            ``dropped`` is a lower bound.
        skipped, failed: frames without output since start, by reason.
        rejected: other input messages refused since start (e.g. ``odometry`` with NaN), by topic.
        input_hz, output_hz: frames per second over the window.
        latency_ms: (median, p90) image stamp -> depth published, milliseconds (NaN without output).
        processing_ms: (median, p90) of the time the inference and publishing threads spent per frame
            (conversions, pipeline, publishing), milliseconds: minus ``inference_ms``, the node's own overhead.
        inference_ms: median engine time, milliseconds.
    """

    received: int = 0
    published: int = 0
    dropped: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    input_hz: float = 0.0
    output_hz: float = 0.0
    latency_ms: tuple[float, float] = (float("nan"), float("nan"))
    processing_ms: tuple[float, float] = (float("nan"), float("nan"))
    inference_ms: float = float("nan")

    finished: int = 0
    uncounted: int = 0

    @property
    def all_finished(self) -> bool:
        """Every received frame is dealt with (none waits or is in inference)."""
        return self.finished >= self.received


def _median_p90(values: deque[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    array = np.asarray(values) * 1e3
    return float(np.median(array)), float(np.percentile(array, 90))


class NodeStatistics:
    """Counters and timing windows of one node (``window``: how many recent frames the timings cover)."""

    def __init__(self, window: int = 100):
        self._lock = threading.Lock()
        self._received = 0
        self._published = 0
        self._dropped = 0
        self._finished = 0
        self._uncounted = 0
        self._skipped: Counter[str] = Counter()
        self._failed: Counter[str] = Counter()
        self._rejected: Counter[str] = Counter()
        self._input_times: deque[tuple[float, int]] = deque(maxlen=window)  # (monotonic s, frames so far)
        self._output_times: deque[tuple[float, int]] = deque(maxlen=window)
        self._latency: deque[float] = deque(maxlen=window)
        self._processing: deque[float] = deque(maxlen=window)
        self._inference: deque[float] = deque(maxlen=window)

    def received(self, missed: int = 0, missed_unknown: bool = False) -> None:
        """The inference thread took a frame; ``missed``: frames its camera sent before it that the node never
        processed (replaced while inference was busy, or lost on the way): received and dropped;
        ``missed_unknown``: more may have been missed, uncounted."""
        with self._lock:
            self._received += 1 + missed
            self._dropped += missed
            self._finished += missed
            self._uncounted += missed_unknown
            self._input_times.append((time.monotonic(), self._received))

    def published(self, latency_s: float, processing_s: float, inference_s: float) -> None:
        """Depth went out: stamp-to-publish latency, the node's time on the frame and the engine's, seconds."""
        with self._lock:
            self._published += 1
            self._finished += 1
            self._output_times.append((time.monotonic(), self._published))
            self._latency.append(latency_s)
            self._processing.append(processing_s)
            self._inference.append(inference_s)

    def skipped(self, reason: str) -> None:
        with self._lock:
            self._skipped[reason] += 1
            self._finished += 1

    def failed(self, reason: str) -> None:
        with self._lock:
            self._failed[reason] += 1
            self._finished += 1

    def rejected(self, topic: str) -> None:
        with self._lock:
            self._rejected[topic] += 1

    def progress(self) -> tuple[int, int]:
        """(received, finished) frames: what :meth:`snapshot` says of them, without its timing statistics
        (cheap enough to poll while waiting for a node)."""
        with self._lock:
            return self._received, self._finished

    def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot(
                received=self._received,
                published=self._published,
                dropped=self._dropped,
                finished=self._finished,
                uncounted=self._uncounted,
                skipped=dict(self._skipped),
                failed=dict(self._failed),
                rejected=dict(self._rejected),
                input_hz=_rate(self._input_times),
                output_hz=_rate(self._output_times),
                latency_ms=_median_p90(self._latency),
                processing_ms=_median_p90(self._processing),
                inference_ms=float(np.median(self._inference) * 1e3) if self._inference else float("nan"),
            )


RATE_SPAN_S = 2.0  # rates are measured over the last 2 s of events (at least 3 events), so a pause fades out


def _rate(events: deque[tuple[float, int]]) -> float:
    """Frames per second over the newest events spanning :data:`RATE_SPAN_S` (at least the newest three, for
    slow streams), from events of (monotonic time, frames counted so far: an event may add several); 0 with
    fewer than two events, or none in the last 2 s."""
    if len(events) < 2 or time.monotonic() - events[-1][0] > 2.0:
        return 0.0
    newest = events[-1][0]
    recent = [event for event in events if newest - event[0] <= RATE_SPAN_S]
    if len(recent) < 3:
        recent = list(events)[-3:]
    (first, first_count), (last, last_count) = recent[0], recent[-1]
    return (last_count - first_count) / max(last - first, 1e-9)
