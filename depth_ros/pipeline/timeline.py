"""Tells a restarted time line (a bag played again, a simulator reset) from a late or stray stamp.

Streams that must arrive in stamp order (odometry, images) see stamps go back for two reasons: a late,
duplicate or stray message (a second clock on the topic, a stale message from an old publisher), which must be
dropped and must not disturb what was built so far, or a new time line (``ros2 bag play --loop``, a simulator
restarted with ``use_sim_time``), which must be followed. The difference is what comes next: a new time line
goes on from the earlier stamp, a late message is followed by stamps after the newest again. So a stamp behind
the newest accepted one is *late*, unless it is the ``confirm``-th in a row of stamps behind it that each come
after the one before: then it is a *restart*. How far back the stamps go does not matter, so a bag shorter than
a second loops as well as a long one.
"""

from __future__ import annotations

from enum import Enum

RESTART_CONFIRMATIONS = 3  # stamps in a row behind the newest, each after the last, that make a new time line


class StampOrder(Enum):
    """What :meth:`TimelineGuard.observe` decided about a stamp."""

    IN_ORDER = "in order"  # after the newest accepted stamp: take it
    LATE = "late"  # not after the newest: drop it (it may turn out to begin a restart)
    RESTART = "restart"  # completes a run of stamps that started a new time line: start over from the run


class TimelineGuard:
    """Follows the stamps of one stream and classifies each one (see the module docstring).

    Args:
        confirm: how many stamps in a row behind the newest, each after the one before, make a restart (>= 1).

    Attributes:
        newest_ns: the newest accepted stamp (nanoseconds), None before the first.
        run_ns: the current run of late stamps, oldest first (the candidates for a new time line); after a
            ``RESTART`` it still holds the run that made it, until the next stamp.
    """

    def __init__(self, confirm: int = RESTART_CONFIRMATIONS):
        if confirm < 1:
            raise ValueError(f"confirm must be at least 1 stamp, got {confirm}")
        self.confirm = confirm
        self.newest_ns: int | None = None
        self.run_ns: list[int] = []

    def observe(self, stamp_ns: int) -> StampOrder:
        """Classify ``stamp_ns`` (integer nanoseconds) and update the state."""
        if self.newest_ns is None or stamp_ns > self.newest_ns:
            self.newest_ns, self.run_ns = stamp_ns, []
            return StampOrder.IN_ORDER
        if self.run_ns and stamp_ns > self.run_ns[-1]:
            self.run_ns.append(stamp_ns)
        else:
            self.run_ns = [stamp_ns]
        if len(self.run_ns) < self.confirm:
            return StampOrder.LATE
        self.newest_ns = stamp_ns
        return StampOrder.RESTART

    def clear(self) -> None:
        """Forget every stamp: the next one is in order."""
        self.newest_ns, self.run_ns = None, []
