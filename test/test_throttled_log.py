"""ThrottledLog: each key logged at most once per period, and what it held back is not lost: the newest held
message of a key comes out at the next flush (the nodes' diagnostics report) once the key's period is over."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from depth_ros.ros import throttled_log
from depth_ros.ros.throttled_log import ThrottledLog


class RecordingLogger:
    """An rclpy logger's info/warning/error, recorded as (level, message)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, message: str) -> None:
        self.lines.append(("info", message))

    def warning(self, message: str) -> None:
        self.lines.append(("warning", message))

    def error(self, message: str) -> None:
        self.lines.append(("error", message))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The log's monotonic clock, in seconds: set ``clock[0]``."""
    now = [100.0]
    monkeypatch.setattr(throttled_log, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


def test_a_key_is_logged_once_per_period_and_the_next_message_counts_the_held_ones(clock: list[float]) -> None:
    logger = RecordingLogger()
    log = ThrottledLog(logger, period_s=5.0)
    assert log("warning", "gap", "odometry gap 1") and not log("warning", "gap", "odometry gap 2")
    assert log("info", "other", "another key has its own clock")
    clock[0] += 5.0
    assert log("warning", "gap", "odometry gap 3")
    assert logger.lines == [
        ("warning", "odometry gap 1"),
        ("info", "another key has its own clock"),
        ("warning", "odometry gap 3 (1 more since the last report)"),
    ]


def test_held_messages_that_never_recur_are_flushed_once_their_period_is_over(clock: list[float]) -> None:
    """Five different bad camera_infos in a row under one key, then none: the first is logged at once, the newest
    of the other four at the first flush after the period, with the count of the rest; then throttling goes on."""
    logger = RecordingLogger()
    log = ThrottledLog(logger, period_s=5.0)
    for problem in ("all-zero K", "skew", "non-finite intrinsics", "principal point outside", "field of view"):
        log("error", "camera_info", f"camera_info refused: {problem}")
        clock[0] += 0.1
    log("warning", "gap", "odometry gap")  # another key, logged at once, nothing held
    log.flush()  # still within the period
    assert logger.lines == [("error", "camera_info refused: all-zero K"), ("warning", "odometry gap")]
    clock[0] = 105.0
    log.flush()
    log.flush()  # nothing left to say
    assert logger.lines[2:] == [("error", "camera_info refused: field of view (3 more since the last report)")]
    assert not log("error", "camera_info", "camera_info refused: skew")  # within the period of the flushed line
    clock[0] = 110.0
    log.flush()
    assert logger.lines[3:] == [("error", "camera_info refused: skew")]
