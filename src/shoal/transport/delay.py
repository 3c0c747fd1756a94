"""A FIFO that holds items back for a while: the added latency of fault injection.

Items leave in the order they entered, even when the delay shrinks meanwhile (a link delays
messages, it does not reorder them), and one timer serves the whole line.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class DelayLine(Generic[T]):
    __slots__ = ("_items", "_loop", "_release", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, release: Callable[[T], None]) -> None:
        self._loop = loop
        self._release = release
        self._items: deque[tuple[float, T]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._items)

    def push(self, item: T, delay: float) -> None:
        due = self._loop.time() + delay
        if self._items and self._items[-1][0] > due:
            due = self._items[-1][0]
        self._items.append((due, item))
        if self._timer is None:
            self._timer = self._loop.call_at(self._items[0][0], self._fire)

    def _fire(self) -> None:
        self._timer = None
        now = self._loop.time()
        items = self._items
        while items and items[0][0] <= now:
            self._release(items.popleft()[1])
            if self._timer is not None:  # release() re-entered push(); that timer serves us
                return
        if items:
            self._timer = self._loop.call_at(items[0][0], self._fire)

    def close(self) -> None:
        """Forget held items (they are lost, as in flight on a link that went away)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._items.clear()
