"""A one-slot mailbox between the subscription callback and the inference thread: the latest frame wins.

The callback never waits for inference; a frame that arrives while an older one still waits replaces it,
and the replaced frame is counted as dropped.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

Item = TypeVar("Item")


class LatestFrameSlot(Generic[Item]):
    """Holds at most one item; :meth:`put` replaces, :meth:`take` waits."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._item: Item | None = None
        self._closed = False
        self.dropped = 0

    def put(self, item: Item) -> bool:
        """Store ``item``; returns True when it replaced one nobody had taken (that one is dropped)."""
        with self._condition:
            replaced = self._item is not None
            self.dropped += replaced
            self._item = item
            self._condition.notify()
            return replaced

    def take(self, timeout_s: float) -> Item | None:
        """The waiting item (removing it), or None after ``timeout_s`` seconds or once closed."""
        with self._condition:
            self._condition.wait_for(lambda: self._item is not None or self._closed, timeout_s)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """Wake every :meth:`take`; later ones return at once."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
