"""Log each kind of problem at most once per period, saying how many were held back.

rclpy's ``throttle_duration_sec`` throttles per call site, so one site reporting different problems would
hide all but the first; here each key (a stable reason) has its own clock. What is held back is not lost: the
newest held message of a key comes out with the next message of that key after its period, or at the next
:meth:`ThrottledLog.flush` after its period (the nodes flush at each diagnostics report), so a problem that
never recurs is still logged.
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
        self._held: dict[str, tuple[int, str, str]] = {}  # key -> (messages held, newest one's level, newest one)

    def __call__(self, level: str, key: str, message: str) -> bool:
        """Log ``message`` at ``level`` (``info``, ``warning``, ``error``) unless ``key`` was logged within the
        period (then it is held back); returns whether it was logged."""
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -float("inf")) < self._period_s:
                held = self._held.get(key, (0, level, message))[0]
                self._held[key] = (held + 1, level, message)
                return False
            held = self._held.pop(key, (0, level, message))[0]
            self._last[key] = now
        self._log(level, message, held)
        return True

    def flush(self) -> None:
        """Log the newest held-back message of each key whose period is over, saying how many more were held."""
        now = time.monotonic()
        with self._lock:
            due = [key for key in self._held if now - self._last[key] >= self._period_s]
            pending = [self._held.pop(key) for key in due]
            self._last.update(dict.fromkeys(due, now))
        for held, level, message in pending:
            self._log(level, message, held - 1)

    def _log(self, level: str, message: str, held: int) -> None:
        suffix = f" ({held} more since the last report)" if held else ""
        # rclpy ties a severity to each calling line, so each severity is logged from its own line
        if level == "info":
            self._logger.info(message + suffix)
        elif level == "warning":
            self._logger.warning(message + suffix)
        else:
            self._logger.error(message + suffix)
