"""The durable part of the log as the core sees it, and an in-memory implementation.

`Storage` is what the core reads: entries that the application has already persisted, the
hard state and the last snapshot. `MemoryStorage` keeps them in memory; a member loads it from
its WAL at start and appends to it after each fsync, exactly as etcd's raft.MemoryStorage is used.
"""

from __future__ import annotations

from typing import Protocol

from shoal.raft.errors import (
    CompactedError,
    SnapOutOfDateError,
    UnavailableError,
)
from shoal.raft.types import ConfState, Entry, HardState, Snapshot, SnapshotMeta


class Storage(Protocol):
    def initial_state(self) -> tuple[HardState, ConfState]: ...

    def entries(self, lo: int, hi: int, max_size: int | None = None) -> list[Entry]: ...

    def term(self, i: int) -> int: ...

    def last_index(self) -> int: ...

    def first_index(self) -> int: ...

    def snapshot(self) -> Snapshot: ...


def limit_size(ents: list[Entry], max_size: int | None) -> list[Entry]:
    """Entries from the front of `ents` whose data add up to at most `max_size` (at least one)."""
    if max_size is None or len(ents) <= 1:
        return ents
    size = len(ents[0].data)
    for i in range(1, len(ents)):
        size += len(ents[i].data)
        if size > max_size:
            return ents[:i]
    return ents


class MemoryStorage:
    """Entries [snapshot.index+1, last] in a list whose slot 0 is a dummy at the snapshot."""

    def __init__(self) -> None:
        self.hard_state = HardState()
        self.snap = Snapshot()
        self.ents: list[Entry] = [Entry(0, 0)]

    # -- reads -------------------------------------------------------------------------------
    def initial_state(self) -> tuple[HardState, ConfState]:
        hs = self.hard_state
        return HardState(hs.term, hs.vote, hs.commit), self.snap.meta.conf_state

    def _offset(self) -> int:
        return self.ents[0].index

    def entries(self, lo: int, hi: int, max_size: int | None = None) -> list[Entry]:
        offset = self._offset()
        if lo <= offset:
            raise CompactedError()
        if hi > self.last_index() + 1:
            raise UnavailableError()
        return limit_size(self.ents[lo - offset : hi - offset], max_size)

    def term(self, i: int) -> int:
        offset = self._offset()
        if i < offset:
            raise CompactedError()
        if i - offset >= len(self.ents):
            raise UnavailableError()
        return self.ents[i - offset].term

    def last_index(self) -> int:
        return self.ents[0].index + len(self.ents) - 1

    def first_index(self) -> int:
        return self.ents[0].index + 1

    def snapshot(self) -> Snapshot:
        return self.snap

    # -- writes (by the application, after it has made them durable) --------------------------
    def set_hard_state(self, hs: HardState) -> None:
        self.hard_state = HardState(hs.term, hs.vote, hs.commit)

    def bootstrap(self, conf: ConfState, data: bytes = b"") -> None:
        """A new cluster's first state: a snapshot at index 1, term 1 holding the initial
        membership, and a hard state in term 1 (so the first election is term 2, after it)."""
        self.apply_snapshot(Snapshot(SnapshotMeta(1, 1, conf), data))
        self.set_hard_state(HardState(1, 0, 1))

    def apply_snapshot(self, snap: Snapshot) -> None:
        if snap.meta.index <= self.snap.meta.index:
            raise SnapOutOfDateError()
        self.snap = snap
        self.ents = [Entry(snap.meta.term, snap.meta.index)]

    def create_snapshot(self, i: int, cs: ConfState | None, data: bytes) -> Snapshot:
        if i <= self.snap.meta.index:
            raise SnapOutOfDateError()
        if i > self.last_index():
            raise UnavailableError()
        conf = cs if cs is not None else self.snap.meta.conf_state
        self.snap = Snapshot(SnapshotMeta(i, self.term(i), conf), data)
        return self.snap

    def compact(self, compact_index: int) -> None:
        """Drop entries before `compact_index` (which stays, as the new dummy)."""
        offset = self._offset()
        if compact_index <= offset:
            raise CompactedError()
        if compact_index > self.last_index():
            raise UnavailableError()
        i = compact_index - offset
        self.ents = [Entry(self.ents[i].term, self.ents[i].index), *self.ents[i + 1 :]]

    def append(self, entries: list[Entry]) -> None:
        if not entries:
            return
        first = self.first_index()
        last = entries[-1].index
        if last < first:
            return  # all already compacted
        if first > entries[0].index:
            entries = entries[first - entries[0].index :]
        offset = entries[0].index - self._offset()
        n = len(self.ents)
        if n > offset:
            del self.ents[offset:]
            self.ents.extend(entries)
        elif n == offset:
            self.ents.extend(entries)
        else:
            raise UnavailableError()
