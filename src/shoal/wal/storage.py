"""`DiskStorage`: a member's durable state in etcd's data-dir layout (member/wal, member/snap).

The member calls, in this order:
- at start: `exists()`; then `bootstrap(metadata)` for a new member, or `load()` for a restart;
- per Ready batch: `save_snapshot(snapshot)` when the batch carries one, then
  `save(hard_state, entries)` (one write, one fsync), before sending messages or applying;
- after applying past --snapshot-count: `save_snapshot(snapshot)` with the store's snapshot;
- at exit: `close()`.

Blocking calls (file I/O and fsync): the member runs them in a worker thread. Calls are
serialised by a lock, so a snapshot saved from one thread never interleaves with a batch saved
from another.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import NamedTuple

from shoal.raft.types import Entry, HardState, Snapshot
from shoal.wal.errors import WALClosedError
from shoal.wal.facts import (
    DEFAULT_MAX_SNAPSHOTS,
    DEFAULT_MAX_WALS,
    MEMBER_DIR,
    PRIVATE_DIR_MODE,
    SEGMENT_SIZE_BYTES,
    SNAP_DIR,
    WAL_DIR,
)
from shoal.wal.files import fsync_dir, makedirs_durable
from shoal.wal.metrics import WALMetrics
from shoal.wal.replay import read_snapshot_markers
from shoal.wal.segments import check_unlocked, purge_segments
from shoal.wal.segments import exists as wal_exists
from shoal.wal.snap import Snapshotter
from shoal.wal.wal import WAL


class LoadedState(NamedTuple):
    metadata: bytes
    snapshot: Snapshot | None
    hard_state: HardState
    entries: list[Entry]


class DiskStorage:
    def __init__(
        self,
        data_dir: str,
        wal_dir: str | None = None,
        *,
        max_snapshots: int = DEFAULT_MAX_SNAPSHOTS,
        max_wals: int = DEFAULT_MAX_WALS,
        segment_size: int = SEGMENT_SIZE_BYTES,
        preallocate: bool = True,
    ) -> None:
        self.member_dir = os.path.join(data_dir, MEMBER_DIR)
        self.wal_dir = wal_dir if wal_dir else os.path.join(self.member_dir, WAL_DIR)
        self.snap_dir = os.path.join(self.member_dir, SNAP_DIR)
        self.max_snapshots = max_snapshots
        self.max_wals = max_wals
        self._segment_size = segment_size
        self._preallocate = preallocate
        self.snapshotter = Snapshotter(self.snap_dir)
        self._wal: WAL | None = None
        self._lock = threading.Lock()
        self.metrics = WALMetrics()
        """fsync latencies and bytes written by this member's WAL (etcd_disk_wal_*)."""

    def exists(self) -> bool:
        """Whether the data dir already holds a member's log (then `load`, not `bootstrap`)."""
        return wal_exists(self.wal_dir)

    def bootstrap(self, metadata: bytes) -> None:
        """Create the directories and a new WAL holding `metadata` (node id + cluster id)."""
        makedirs_durable(self.snap_dir, PRIVATE_DIR_MODE)
        # The data dir may have been made just before (etcd's checks make it): its own entry
        # must be durable too, or a power cut can take the whole member away.
        fsync_dir(os.path.dirname(os.path.dirname(os.path.abspath(self.member_dir))))
        self._wal = WAL.create(
            self.wal_dir,
            metadata,
            segment_size=self._segment_size,
            preallocate_segments=self._preallocate,
            metrics=self.metrics,
        )

    def load(self) -> LoadedState:
        """Open an existing member: the newest snapshot the log has a marker for (and whose index
        the log's commit reached, as etcd 3.5 checks), then the log after it."""
        makedirs_durable(self.snap_dir, PRIVATE_DIR_MODE)
        # Fail before renaming any snapshot file if another member runs on this data dir.
        check_unlocked(self.wal_dir)
        scan = read_snapshot_markers(self.wal_dir)
        valid = {(i, t) for i, t in scan.markers if i <= scan.hard_state.commit}
        snapshot = self.snapshotter.load_newest(valid)
        at = (snapshot.meta.index, snapshot.meta.term) if snapshot is not None else None
        wal, metadata, hard_state, entries = WAL.open(
            self.wal_dir,
            at,
            segment_size=self._segment_size,
            preallocate_segments=self._preallocate,
            metrics=self.metrics,
        )
        self._wal = wal
        return LoadedState(metadata, snapshot, hard_state, entries)

    def save(self, hard_state: HardState | None, entries: Sequence[Entry]) -> None:
        """Persist a Ready batch: one write, at most one fsync (see `WAL.save`)."""
        with self._lock:
            self._open_wal().save(hard_state, entries)

    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Persist a snapshot: the file first, then its WAL marker (so a marker never points at a
        missing file), then release and purge what it made unnecessary."""
        if snapshot.is_empty():
            return
        with self._lock:
            wal = self._open_wal()
            self.snapshotter.save(snapshot)
            wal.save_snapshot_marker(snapshot.meta.index, snapshot.meta.term)
            wal.release_lock_to(snapshot.meta.index)
            self._purge()

    def purge(self) -> None:
        """Apply --max-snapshots and --max-wals. WAL segments still needed to replay the log after
        the newest snapshot stay locked by the open WAL and are never deleted. `save_snapshot`
        purges; call this too every PURGE_FILE_INTERVAL_S, as etcd does, if you like."""
        with self._lock:
            self._purge()

    def _purge(self) -> None:
        self.snapshotter.purge(self.max_snapshots)
        purge_segments(self.wal_dir, self.max_wals)

    @property
    def repair_note(self) -> str | None:
        """Set when `load` cut a torn write off the end of the log."""
        return self._wal.repair_note if self._wal is not None else None

    @property
    def wal_failed(self) -> bool:
        """Whether a write or fsync of the WAL failed (then it must be reopened: the member
        stops)."""
        return self._wal is not None and self._wal.failed

    @property
    def wal(self) -> WAL:
        return self._open_wal()

    def close(self) -> None:
        with self._lock:
            if self._wal is not None:
                self._wal.close()
                self._wal = None

    def _open_wal(self) -> WAL:
        if self._wal is None:
            raise WALClosedError("storage: call bootstrap() or load() first")
        return self._wal
