"""A local copy of fleet's keyspace, kept current by one etcd watch.

fleet woke every fleetd on each change and each then re-read the whole registry with a recursive
GET (the thundering herd its scaling notes describe). Here each fleetd reads the keyspace once,
then applies the watch's events to its copy: a change costs etcd one event per watcher, and the
engine and agent read their snapshot from memory. On a lost history (etcd error 401) or a broken
connection the copy is re-read once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from shoal.fleet.etcdv2 import (
    ERR_EVENT_INDEX_CLEARED,
    ERR_KEY_NOT_FOUND,
    EtcdError,
    EtcdUnavailable,
)
from shoal.fleet.registry import KeysAPI, Keyspace, KeyspaceBuilder

log = logging.getLogger("shoal.fleet.mirror")

_SET_ACTIONS = frozenset({"set", "create", "update", "compareAndSwap", "get"})
_DELETE_ACTIONS = frozenset({"delete", "expire", "compareAndDelete"})
# A watch with nothing to report is re-issued after this long, to notice a dead connection.
WATCH_POLL = 30.0
RETRY_DELAY = 0.5
# Behind by more than this many etcd indexes, the mirror re-reads instead of replaying events.
CATCH_UP_GAP = 100


class Mirror:
    def __init__(self, keys: KeysAPI, prefix: str) -> None:
        self.keys = keys
        self.prefix = "/" + prefix.strip("/")
        self.flat: dict[str, str] = {}
        self.index = 0  # etcd index the copy reflects
        self.version = 0  # bumped on every applied change
        self.ready = asyncio.Event()
        self.healthy = False  # the last request to etcd succeeded
        self._changed = asyncio.Event()
        self._cache: tuple[int, Keyspace] | None = None
        self._builder = KeyspaceBuilder(self.prefix)
        self._stopped = False
        self._need_resync = False

    def stop(self) -> None:
        """End `run` at its next step. Cancelling alone is not enough: asyncio.wait_for returns
        a result that raced with the cancellation instead of raising, and the loop would go on."""
        self._stopped = True

    def keyspace(self) -> Keyspace:
        """A snapshot of the registry as of `index`; later events do not change it."""
        if self._cache is None or self._cache[0] != self.version:
            self._builder.ks.index = self.index
            self._cache = (self.version, self._builder.snapshot())
        return self._cache[1]

    async def wait_change(self, since: int, timeout: float) -> None:
        """Return when version > since, or after timeout."""
        if self.version > since:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    async def wait_index(self, index: int, timeout: float) -> bool:
        """Wait until the copy includes etcd index `index` (our own writes, for instance)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.index < index:
            left = deadline - loop.time()
            if left <= 0:
                return False
            await self.wait_change(self.version, left)
        return True

    def _bump(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def _resync(self) -> None:
        try:
            resp = await self.keys.get(self.prefix, recursive=True, quorum=True)
            flat = {n.key: n.value or "" for n in resp.node.leaves() if not n.dir}
            index = resp.etcd_index
        except EtcdError as e:
            if e.code != ERR_KEY_NOT_FOUND:
                raise
            flat, index = {}, e.index
        self.flat = flat
        self.index = index
        self._builder = KeyspaceBuilder(self.prefix, index)
        for k, v in flat.items():
            self._builder.set(k, v)
        self._bump()

    def apply(self, action: str, key: str, value: str | None, is_dir: bool, index: int) -> None:
        if action in _SET_ACTIONS:
            if not is_dir:
                self.flat[key] = value or ""
                self._builder.set(key, value or "")
        elif action in _DELETE_ACTIONS:
            gone = [key] if key in self.flat else []
            if is_dir or not gone:
                # A directory went (recursive delete or expiry): everything under it went too.
                under = key.rstrip("/") + "/"
                gone += [k for k in self.flat if k.startswith(under)]
            for k in gone:
                del self.flat[k]
                self._builder.delete(k)
        self.index = max(self.index, index)
        self._bump()

    async def run(self) -> None:
        """Until stopped: (re)read, then follow the watch stream."""
        need_resync = True
        while not self._stopped:
            try:
                if need_resync:
                    await self._resync()
                    need_resync = False
                    self.healthy = True
                    self.ready.set()
                await self._follow()
                if self._need_resync:
                    self._need_resync = False
                    need_resync = True
            except EtcdError as e:
                need_resync = True
                if e.code == ERR_EVENT_INDEX_CLEARED:
                    continue  # fell out of etcd's 1000-event history: read everything again
                log.warning("watch error: %s", e)
                await asyncio.sleep(RETRY_DELAY)
            except EtcdUnavailable as e:
                # Re-read once etcd answers again: it brings back anything missed meanwhile.
                self.healthy = False
                log.debug("watch interrupted: %s", e)
                need_resync = True
                await asyncio.sleep(RETRY_DELAY)

    async def _follow(self) -> None:
        """Apply streamed events until the stream ends or stays silent for WATCH_POLL (then the
        caller opens a new one, which also tells a dead connection from a quiet cluster)."""
        events = self.keys.watch_stream(self.prefix, self.index + 1).__aiter__()
        try:
            while not self._stopped:
                try:
                    resp = await asyncio.wait_for(events.__anext__(), WATCH_POLL)
                except (StopAsyncIteration, TimeoutError):
                    return
                self.healthy = True
                n = resp.node
                self.apply(resp.action, n.key, n.value, n.dir, n.modified_index)
                if n.modified_index <= resp.etcd_index:
                    # An event from etcd's history: etcd answers those once and does not keep
                    # the stream's watcher, so catch up with a new stream (or, when far
                    # behind, one read of everything).
                    if resp.etcd_index - n.modified_index > CATCH_UP_GAP:
                        self._need_resync = True
                    return
        finally:
            with contextlib.suppress(Exception):
                await events.aclose()  # type: ignore[attr-defined]
