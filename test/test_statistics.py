"""The nodes' /diagnostics rates: measured over the last seconds of events, so a pause fades out."""

from __future__ import annotations

import time
from collections import deque

import pytest

from depth_ros.ros.diagnostics import UNCOUNTED_KEY, depth_status
from depth_ros.ros.statistics import Snapshot, _rate


def arrivals(*bursts: tuple[int, float, float]) -> deque[tuple[float, int]]:
    """(monotonic time, frames so far) of ``count`` single frames at ``hz`` per burst, each burst ``pause_s`` after
    the last, ending now."""
    times: list[float] = []
    for count, hz, pause_s in bursts:
        start = (times[-1] if times else 0.0) + pause_s
        times += [start + i / hz for i in range(count)]
    now = time.monotonic()
    return deque(((t - times[-1] + now, i + 1) for i, t in enumerate(times)), maxlen=100)


def test_the_rate_after_a_pause_is_the_new_one() -> None:
    """10 frames at 10 Hz, 1.2 s of nothing, then 60 at 20 Hz: 20 Hz (the whole window said 13.4)."""
    assert _rate(arrivals((10, 10.0, 0.0), (60, 20.0, 1.2))) == pytest.approx(20.0)


@pytest.mark.parametrize("hz", [0.7, 5.0, 300.0])
def test_steady_streams_slow_or_fast_give_their_rate(hz: float) -> None:
    assert _rate(arrivals((100, hz, 0.0))) == pytest.approx(hz)


def test_frames_counted_in_batches_count_in_the_rate() -> None:
    """A node that takes every third frame of a 30 Hz camera (missing two between) still reports 30 Hz in."""
    now = time.monotonic()
    taken = deque(((now - (20 - i) * 0.1, 1 + 3 * i) for i in range(21)), maxlen=100)
    assert _rate(taken) == pytest.approx(30.0)


def test_no_rate_without_two_events_or_after_2_s_of_silence() -> None:
    assert _rate(deque([(time.monotonic(), 1)])) == 0.0
    assert _rate(deque([(time.monotonic() - 3.0, 1), (time.monotonic() - 2.5, 2)])) == 0.0


def test_a_frame_slower_than_the_report_period_is_not_reported_as_no_input() -> None:
    """Frames count as received when the inference thread takes them: a report during a long inference sees
    none new, which is not a camera gone silent (that stays a warning)."""
    from diagnostic_msgs.msg import DiagnosticStatus

    def report(received: int, finished: int) -> DiagnosticStatus:
        counts = Snapshot(received=received, published=finished, finished=finished)
        return depth_status("n", "n", "engine", "/image, reliable", counts, counts)  # nothing new since the last

    silent = report(received=5, finished=5)
    assert silent.level == DiagnosticStatus.WARN and silent.message == "no images received (/image, reliable)"
    inferring = report(received=6, finished=5)
    assert inferring.level == DiagnosticStatus.OK and "inferring a frame" in inferring.message


def test_drops_that_could_not_be_counted_are_reported_as_a_lower_bound() -> None:
    """An rmw without publication sequence numbers (rmw_cyclonedds_cpp) leaves missed frames uncounted: the
    report must not say none were dropped."""
    from depth_ros.ros.statistics import NodeStatistics

    stats = NodeStatistics()
    stats.received(missed=3)
    counted = stats.snapshot()
    stats.received(missed_unknown=True)
    stats.received(missed=1, missed_unknown=True)
    uncounted = stats.snapshot()
    assert (counted.dropped, counted.uncounted, uncounted.dropped, uncounted.uncounted) == (3, 0, 4, 2)

    def values(snapshot: Snapshot) -> dict[str, str]:
        status = depth_status("n", "n", "engine", "/image, reliable", snapshot, Snapshot())
        return {value.key: value.value for value in status.values}

    assert values(counted)["dropped"] == "3" and UNCOUNTED_KEY not in values(counted)
    assert values(uncounted)["dropped"] == "4" and values(uncounted)[UNCOUNTED_KEY] == "2"
