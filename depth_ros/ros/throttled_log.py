"""Log each kind of problem at most once per period, saying how many were held back.

rclpy's ``throttle_duration_sec`` throttles per call site, so one site reporting different problems would
hide all but the first; here each key (a stable reason) has its own clock.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class ThrottledLog:
    """Wraps an rclpy logger; ``period_s``: the least time between two messages with the same key."""

    def __init__(self, logger: Any, period_s: float = 5.0):
        self._logger = logger
        self._period_s = period_s
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def __call__(self, level: str, key: str, message: str) -> bool:
        """Log ``message`` at ``level`` (``info``, ``warning``, ``error``) unless ``key`` was logged within the
        period; returns whether it was logged."""
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -float("inf")) < self._period_s:
                self._held[key] = self._held.get(key, 0) + 1
                return False
            held = self._held.pop(key, 0)
            self._last[key] = now
        suffix = f" ({held} more since the last report)" if held else ""
        # rclpy ties a severity to each calling line, so each severity is logged from its own line
        if level == "info":
            self._logger.info(message + suffix)
        elif level == "warning":
            self._logger.warning(message + suffix)
        else:
            self._logger.error(message + suffix)
        return True
