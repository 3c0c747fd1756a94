"""Watchers and the hub that hands them events (etcd's watcherHub).

The store is pure and single-threaded, so a watcher is a small buffer the store fills while it
applies, plus an optional wake-up callback; the HTTP layer bridges that to asyncio, e.g.:

    w = store.watch(path, recursive, stream, wait_index)
    w.set_wakeup(lambda: event.set())     # called synchronously from inside apply()
    ...  while (ev := w.pop()) is not None: send(ev.to_json())
    ...  if w.done: finish the response
    w.remove()                            # always, when the client goes away

The callback runs inside the store's apply: it must be quick and must not call the store
(set an asyncio.Event or a future; do the writing from the response's own task).

Rules kept from etcd: a watcher wants an event at or after its since-index on its own key,
below it when recursive, or any removal of its key by a directory delete/expire above it;
watchers above a hidden (`_`) key hear nothing of it; a non-stream watcher is removed after
its first event; a watcher whose 100-event buffer is full is dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from shoal.store import errors
from shoal.store.constants import HISTORY_CAPACITY, WATCHER_BUFFER
from shoal.store.event import Event
from shoal.store.history import EventHistory
from shoal.store.paths import hidden_below


class Watcher:
    """One watch request. `start_index` is the store index when the watch began (etcd reports
    it in X-Etcd-Index)."""

    __slots__ = (
        "_events",
        "_hub",
        "_wakeup",
        "dropped",
        "key",
        "recursive",
        "registered",
        "since_index",
        "start_index",
        "stream",
    )

    def __init__(
        self, key: str, recursive: bool, stream: bool, since_index: int, start_index: int
    ) -> None:
        self.key = key
        self.recursive = recursive
        self.stream = stream
        self.since_index = since_index
        self.start_index = start_index
        self._events: deque[Event] = deque()
        self._wakeup: Callable[[], None] | None = None
        self._hub: WatcherHub | None = None
        self.registered = False
        """Whether the hub may still hand this watcher events."""
        self.dropped = False
        """Whether the hub gave up on this watcher because its buffer was full."""

    def pop(self) -> Event | None:
        """The next undelivered event, or None."""
        return self._events.popleft() if self._events else None

    @property
    def pending(self) -> int:
        return len(self._events)

    @property
    def done(self) -> bool:
        """No event is waiting and none will come: a non-stream watcher that had its event, a
        dropped one, or one removed. (etcd keeps such a response open until its 5-minute watch
        timeout in one case, a stream watch answered from history; the caller chooses.)"""
        return not self._events and not self.registered

    def set_wakeup(self, callback: Callable[[], None] | None) -> None:
        """Call `callback` (synchronously, from inside the store) whenever an event arrives or
        the watcher is dropped. Called at once if there is already something to read."""
        self._wakeup = callback
        if callback is not None and (self._events or not self.registered):
            callback()

    def remove(self) -> None:
        """Stop watching (the client went away). Safe to call more than once."""
        if self._hub is not None:
            self._hub._unregister(self)

    def _deliver(self, e: Event) -> None:
        if len(self._events) >= WATCHER_BUFFER:
            # Never block the store on a slow client: give up on the watcher instead.
            self.dropped = True
            assert self._hub is not None
            self._hub._unregister(self)
            return
        self._push(e)

    def _push(self, e: Event) -> None:
        self._events.append(e)
        if self._wakeup is not None:
            self._wakeup()


class WatcherHub:
    __slots__ = ("_watchers", "count", "history", "requests")

    def __init__(self, capacity: int = HISTORY_CAPACITY) -> None:
        self.history = EventHistory(capacity)
        # Watchers by the exact path they watch; dicts keep registration order.
        self._watchers: dict[str, dict[Watcher, None]] = {}
        self.count = 0
        """Watchers registered (the `watchers` field of /v2/stats/store)."""
        self.requests = 0
        """Watch requests seen, new or re-established (etcd_debugging_store_watch_requests)."""

    def watch(
        self, key: str, recursive: bool, stream: bool, index: int, store_index: int
    ) -> Watcher:
        """A watcher for events from `index` on; answered at once from the history when it
        holds a matching event (that watcher is then never registered, even a stream one, as
        in etcd). Raises 401 when `index` is older than the history."""
        self.requests += 1
        try:
            past = self.history.scan(key, recursive, index)
        except errors.EtcdError as err:
            err.index = store_index
            raise
        w = Watcher(key, recursive, stream, index, store_index)
        w._hub = self
        if past is not None:
            w._events.append(past)
            return w
        self._watchers.setdefault(key, {})[w] = None
        w.registered = True
        self.count += 1
        return w

    def add(self, e: Event) -> None:
        """Record an event that notifies nobody (a refresh)."""
        self.history.add(e)

    def notify(self, e: Event) -> None:
        """Record `e` and hand it to the watchers of its key and of every directory above."""
        self.history.add(e)
        ws = self._watchers
        if not ws:
            return
        key = e.node.key
        if "/" in ws:
            self.notify_watchers(e, "/", False)
        pos = key.find("/", 1)
        while pos != -1:
            p = key[:pos]
            if p in ws:
                self.notify_watchers(e, p, False)
            pos = key.find("/", pos + 1)
        if key != "/" and key in ws:
            self.notify_watchers(e, key, False)

    def notify_watchers(self, e: Event, path: str, deleted: bool) -> None:
        """Offer `e` to the watchers registered at exactly `path`; `deleted` marks the removal
        of `path` itself by a delete or expire higher up."""
        ws = self._watchers.get(path)
        if not ws:
            return
        original = e.node.key == path
        if not original and hidden_below(path, e.node.key):
            return
        index = e.index
        for w in list(ws):
            if w.registered and (w.recursive or original or deleted) and index >= w.since_index:
                if w.stream:
                    w._deliver(e)
                else:
                    # Its one event: unregistered first, so `done` holds once it is read.
                    self._unregister(w)
                    w._push(e)

    def _unregister(self, w: Watcher) -> None:
        if not w.registered:
            return
        w.registered = False
        ws = self._watchers[w.key]
        del ws[w]
        if not ws:
            del self._watchers[w.key]
        self.count -= 1
        if w.dropped and w._wakeup is not None:
            w._wakeup()
