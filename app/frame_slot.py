"""A hand-over between two threads: a queue of one where the newest item wins (or a blocking
queue of one, when nothing may be dropped)."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class SlotClosed(Exception):
    """The slot was closed: no more items will come."""


class LatestSlot(Generic[T]):
    """Holds at most one item.

    With ``drop_stale=True`` a new item replaces one that was not taken yet, and the replaced
    item is counted in :attr:`dropped` (never dropped silently). With ``drop_stale=False``
    :meth:`put` waits until the previous item was taken (every item is delivered).
    """

    def __init__(self, drop_stale: bool = True):
        self.drop_stale = drop_stale
        self.dropped = 0
        self._item: T | None = None
        self._full = False
        self._closed = False
        self._condition = threading.Condition()

    def put(self, item: T) -> None:
        with self._condition:
            if not self.drop_stale:
                self._condition.wait_for(lambda: not self._full or self._closed)
            if self._closed:
                raise SlotClosed
            if self._full:
                self.dropped += 1
            self._item, self._full = item, True
            self._condition.notify_all()

    def get(self, timeout: float | None = None) -> T | None:
        """The next item; None on timeout. Raises :class:`SlotClosed` once closed and empty."""
        with self._condition:
            if not self._condition.wait_for(lambda: self._full or self._closed, timeout):
                return None
            if not self._full:
                raise SlotClosed
            item, self._item, self._full = self._item, None, False
            self._condition.notify_all()
            return item

    def close(self) -> None:
        """No more puts; a pending item can still be taken."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
