"""Durable storage of a raft member: write-ahead log, snapshot files, and the glue the member uses.

- `wal.WAL`: the segmented, checksummed, fsynced log (etcd's `wal/`), framing in `record`;
  `replay` reads it back and judges damage, `segments` lists, probes and purges its files.
- `snap.Snapshotter`: snapshot files (etcd's `snap/`).
- `storage.DiskStorage`: both, in etcd's data-dir layout; what the member calls.
"""

from shoal.wal.errors import (
    CorruptWALError,
    MetadataConflictError,
    SnapshotMismatchError,
    SnapshotNotFoundError,
    WALClosedError,
    WALError,
    WALExistsError,
    WALLockedError,
    WALNotFoundError,
)
from shoal.wal.replay import ReadResult, read_all, read_snapshot_markers
from shoal.wal.segments import purge_segments
from shoal.wal.snap import Snapshotter
from shoal.wal.storage import DiskStorage, LoadedState
from shoal.wal.wal import WAL, OpenResult

__all__ = [
    "WAL",
    "CorruptWALError",
    "DiskStorage",
    "LoadedState",
    "MetadataConflictError",
    "OpenResult",
    "ReadResult",
    "SnapshotMismatchError",
    "SnapshotNotFoundError",
    "Snapshotter",
    "WALClosedError",
    "WALError",
    "WALExistsError",
    "WALLockedError",
    "WALNotFoundError",
    "purge_segments",
    "read_all",
    "read_snapshot_markers",
]
