"""The last 1000 events, shared by every key, for watches that start from a past index
(etcd's EventHistory).

Every store index has exactly one event (a refresh too, though watches skip it), so the event
for index i sits at a fixed offset from the oldest one kept.
"""

from __future__ import annotations

from collections.abc import Iterator

from shoal.store import errors
from shoal.store.constants import HISTORY_CAPACITY
from shoal.store.event import DELETE, EXPIRE, Event
from shoal.store.paths import clean_path


class EventHistory:
    __slots__ = ("_back", "_events", "_front", "_size", "capacity", "last_index", "start_index")

    def __init__(self, capacity: int = HISTORY_CAPACITY) -> None:
        self.capacity = capacity
        self._events: list[Event | None] = [None] * capacity
        self._front = 0
        self._back = 0
        self._size = 0
        self.start_index = 0
        """Index of the oldest event kept (0 while empty)."""
        self.last_index = 0

    def add(self, e: Event) -> None:
        self._events[self._back] = e
        self._back = (self._back + 1) % self.capacity
        if self._size == self.capacity:
            self._front = (self._front + 1) % self.capacity
        else:
            self._size += 1
        self.last_index = e.index
        first = self._events[self._front]
        assert first is not None
        self.start_index = first.index

    def __iter__(self) -> Iterator[Event]:
        """Events kept, oldest first."""
        for k in range(self._size):
            e = self._events[(self._front + k) % self.capacity]
            assert e is not None
            yield e

    def __len__(self) -> int:
        return self._size

    def scan(self, key: str, recursive: bool, index: int) -> Event | None:
        """The first event at or after `index` that a watcher on `key` wants: one on the key
        itself, one below it when `recursive`, or the delete/expire of a directory above it.
        Raises 401 when `index` is older than the oldest event kept (the caller sets the
        error's index to the store index)."""
        if index < self.start_index:
            raise errors.EtcdError(
                errors.EVENT_INDEX_CLEARED,
                f"the requested history has been cleared [{self.start_index}/{index}]",
                0,
            )
        if index > self.last_index or self._size == 0:
            return None
        prefix = clean_path(key)
        if not prefix.endswith("/"):
            prefix += "/"
        events = self._events
        i = (self._front + index - self.start_index) % self.capacity
        while True:
            e = events[i]
            assert e is not None
            if not e.refresh:
                k = e.node.key
                if k == key or (recursive and k.startswith(prefix)):
                    return e
                prev = e.prev_node
                # A plain string prefix, as etcd checks it (no segment boundary).
                if (
                    prev is not None
                    and prev.dir
                    and (e.action == DELETE or e.action == EXPIRE)
                    and key.startswith(prev.key)
                ):
                    return e
            i = (i + 1) % self.capacity
            if i == self._back:
                return None
