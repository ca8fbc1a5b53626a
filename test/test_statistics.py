"""The nodes' /diagnostics rates: measured over the last seconds of events, so a pause fades out."""

from __future__ import annotations

import time
from collections import deque

import pytest

from depth_ros.ros.statistics import _rate


def arrivals(*bursts: tuple[int, float, float]) -> deque[float]:
    """Monotonic times of ``count`` events at ``hz`` per burst, each burst ``pause_s`` after the last, ending now."""
    times: list[float] = []
    for count, hz, pause_s in bursts:
        start = (times[-1] if times else 0.0) + pause_s
        times += [start + i / hz for i in range(count)]
    now = time.monotonic()
    return deque((t - times[-1] + now for t in times), maxlen=100)


def test_the_rate_after_a_pause_is_the_new_one() -> None:
    """10 frames at 10 Hz, 1.2 s of nothing, then 60 at 20 Hz: 20 Hz (the whole window said 13.4)."""
    assert _rate(arrivals((10, 10.0, 0.0), (60, 20.0, 1.2))) == pytest.approx(20.0)


@pytest.mark.parametrize("hz", [0.7, 5.0, 300.0])
def test_steady_streams_slow_or_fast_give_their_rate(hz: float) -> None:
    assert _rate(arrivals((100, hz, 0.0))) == pytest.approx(hz)


def test_no_rate_without_two_events_or_after_2_s_of_silence() -> None:
    assert _rate(deque([time.monotonic()])) == 0.0
    assert _rate(deque([time.monotonic() - 3.0, time.monotonic() - 2.5])) == 0.0
