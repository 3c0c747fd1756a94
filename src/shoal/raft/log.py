"""The raft log: durable entries (in Storage) followed by unstable ones not yet persisted.

`Unstable` holds what the core has appended but the application has not yet made durable (and
possibly a snapshot to install). `RaftLog` joins the two and tracks `committed` and `applied`.
"""

from __future__ import annotations

from shoal.raft.errors import CompactedError, UnavailableError
from shoal.raft.storage import Storage, limit_size
from shoal.raft.types import Entry, Snapshot


class Unstable:
    __slots__ = ("entries", "offset", "snapshot")

    def __init__(self, offset: int) -> None:
        self.snapshot: Snapshot | None = None
        self.entries: list[Entry] = []
        self.offset = offset  # index of entries[0]

    def maybe_first_index(self) -> int | None:
        if self.snapshot is not None:
            return self.snapshot.meta.index + 1
        return None

    def maybe_last_index(self) -> int | None:
        if self.entries:
            return self.offset + len(self.entries) - 1
        if self.snapshot is not None:
            return self.snapshot.meta.index
        return None

    def maybe_term(self, i: int) -> int | None:
        if i < self.offset:
            if self.snapshot is not None and self.snapshot.meta.index == i:
                return self.snapshot.meta.term
            return None
        last = self.maybe_last_index()
        if last is None or i > last:
            return None
        return self.entries[i - self.offset].term

    def stable_to(self, i: int, t: int) -> None:
        gt = self.maybe_term(i)
        if gt is None:
            return
        # Only entries that are still the ones persisted become stable: a newer leader may have
        # replaced them while the write was in flight.
        if gt == t and i >= self.offset:
            del self.entries[: i + 1 - self.offset]
            self.offset = i + 1

    def stable_snap_to(self, i: int) -> None:
        if self.snapshot is not None and self.snapshot.meta.index == i:
            self.snapshot = None

    def restore(self, s: Snapshot) -> None:
        self.offset = s.meta.index + 1
        self.entries = []
        self.snapshot = s

    def truncate_and_append(self, ents: list[Entry]) -> None:
        after = ents[0].index
        if after == self.offset + len(self.entries):
            self.entries.extend(ents)
        elif after <= self.offset:
            # Replaces everything unstable: the log is rewritten from `after`.
            self.offset = after
            self.entries = list(ents)
        else:
            del self.entries[after - self.offset :]
            self.entries.extend(ents)

    def slice(self, lo: int, hi: int) -> list[Entry]:
        return self.entries[lo - self.offset : hi - self.offset]


class RaftLog:
    def __init__(self, storage: Storage, max_next_ents_size: int | None = None) -> None:
        self.storage = storage
        first = storage.first_index()
        last = storage.last_index()
        self.unstable = Unstable(last + 1)
        self.committed = first - 1
        self.applied = first - 1
        self.max_next_ents_size = max_next_ents_size

    def __repr__(self) -> str:
        return (
            f"RaftLog(committed={self.committed}, applied={self.applied}, "
            f"unstable.offset={self.unstable.offset}, len(unstable)={len(self.unstable.entries)})"
        )

    # -- indexes and terms ---------------------------------------------------------------------
    def first_index(self) -> int:
        i = self.unstable.maybe_first_index()
        return i if i is not None else self.storage.first_index()

    def last_index(self) -> int:
        i = self.unstable.maybe_last_index()
        return i if i is not None else self.storage.last_index()

    def last_term(self) -> int:
        return self.term(self.last_index())

    def term(self, i: int) -> int:
        """Term of entry i; 0 past the end; raises CompactedError before the first index."""
        dummy = self.first_index() - 1
        if i < dummy or i > self.last_index():
            if i < dummy:
                raise CompactedError()
            return 0
        t = self.unstable.maybe_term(i)
        if t is not None:
            return t
        return self.storage.term(i)

    def term_or_zero(self, i: int) -> int:
        try:
            return self.term(i)
        except (CompactedError, UnavailableError):
            return 0

    def match_term(self, i: int, t: int) -> bool:
        try:
            return self.term(i) == t
        except (CompactedError, UnavailableError):
            return False

    def is_up_to_date(self, lasti: int, term: int) -> bool:
        """Section 5.4.1: a candidate's log is at least as up-to-date as ours."""
        lt = self.last_term()
        return term > lt or (term == lt and lasti >= self.last_index())

    # -- appending -----------------------------------------------------------------------------
    def maybe_append(
        self, index: int, log_term: int, committed: int, ents: list[Entry]
    ) -> int | None:
        """AppendEntries on a follower. Returns the last new index, or None on a mismatch."""
        if not self.match_term(index, log_term):
            return None
        lastnewi = index + len(ents)
        ci = self.find_conflict(ents)
        if ci != 0:
            if ci <= self.committed:
                raise AssertionError(f"entry {ci} conflicts with committed entry {self.committed}")
            self.append(ents[ci - (index + 1) :])
        self.commit_to(min(committed, lastnewi))
        return lastnewi

    def append(self, ents: list[Entry]) -> int:
        if not ents:
            return self.last_index()
        after = ents[0].index - 1
        if after < self.committed:
            raise AssertionError(f"after({after}) is out of range [committed({self.committed})]")
        self.unstable.truncate_and_append(ents)
        return self.last_index()

    def find_conflict(self, ents: list[Entry]) -> int:
        """Index of the first entry whose term differs from ours (or that we lack); 0 if none."""
        for e in ents:
            if not self.match_term(e.index, e.term):
                return e.index
        return 0

    def find_conflict_by_term(self, index: int, term: int) -> int:
        """The largest index <= `index` whose term is <= `term`: fast backtracking of a follower's
        log (a rejected append names a point the leader can jump to instead of stepping by one)."""
        while index > 0:
            try:
                t = self.term(index)
            except (CompactedError, UnavailableError):
                return index
            if t <= term:
                return index
            index -= 1
        return 0

    # -- reading -------------------------------------------------------------------------------
    def unstable_entries(self) -> list[Entry]:
        return list(self.unstable.entries)

    def next_ents(self) -> list[Entry]:
        """Committed entries not yet applied."""
        off = max(self.applied + 1, self.first_index())
        if self.committed + 1 > off:
            return self.slice(off, self.committed + 1, self.max_next_ents_size)
        return []

    def has_next_ents(self) -> bool:
        return self.committed + 1 > max(self.applied + 1, self.first_index())

    def snapshot(self) -> Snapshot:
        if self.unstable.snapshot is not None:
            return self.unstable.snapshot
        return self.storage.snapshot()

    def entries(self, i: int, max_size: int | None) -> list[Entry]:
        if i > self.last_index():
            return []
        return self.slice(i, self.last_index() + 1, max_size)

    def slice(self, lo: int, hi: int, max_size: int | None = None) -> list[Entry]:
        if lo > hi:
            raise AssertionError(f"invalid slice {lo} > {hi}")
        if lo < self.first_index():
            raise CompactedError()
        if hi > self.last_index() + 1:
            raise AssertionError(f"slice[{lo},{hi}) out of bound {self.last_index()}")
        if lo == hi:
            return []
        ents: list[Entry] = []
        uoff = self.unstable.offset
        if lo < uoff:
            stored = self.storage.entries(lo, min(hi, uoff), max_size)
            if len(stored) < min(hi, uoff) - lo:
                return stored  # cut by max_size
            ents = stored
        if hi > uoff:
            us = self.unstable.slice(max(lo, uoff), hi)
            ents = ents + us if ents else us
        return limit_size(ents, max_size)

    # -- commit and apply ----------------------------------------------------------------------
    def maybe_commit(self, max_index: int, term: int) -> bool:
        """Section 5.4.2: a leader commits by counting replicas only entries of its own term."""
        if max_index > self.committed and self.term_or_zero(max_index) == term:
            self.commit_to(max_index)
            return True
        return False

    def commit_to(self, tocommit: int) -> None:
        if self.committed < tocommit:
            if self.last_index() < tocommit:
                raise AssertionError(
                    f"tocommit({tocommit}) is out of range [lastIndex({self.last_index()})]"
                )
            self.committed = tocommit

    def applied_to(self, i: int) -> None:
        if i == 0:
            return
        if self.committed < i or i < self.applied:
            raise AssertionError(f"applied({i}) is out of range [{self.applied}, {self.committed}]")
        self.applied = i

    def stable_to(self, i: int, t: int) -> None:
        self.unstable.stable_to(i, t)

    def stable_snap_to(self, i: int) -> None:
        self.unstable.stable_snap_to(i)

    def restore(self, s: Snapshot) -> None:
        self.committed = s.meta.index
        self.unstable.restore(s)
