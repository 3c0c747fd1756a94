"""Durable storage of a raft member: write-ahead log, snapshot files, and the glue the member uses.

- `wal.WAL`: the segmented, checksummed, fsynced log (etcd's `wal/`), framing in `record`.
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
from shoal.wal.snap import Snapshotter
from shoal.wal.storage import DiskStorage, LoadedState
from shoal.wal.wal import (
    WAL,
    OpenResult,
    ReadResult,
    purge_segments,
    read_all,
    read_snapshot_markers,
)

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
