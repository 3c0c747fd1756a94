"""etcd's facts about a member's data dir, WAL and snapshot files (etcd 3.4 `wal/`, `snap/`).

Each constant says where it comes from. The on-disk byte format of shoal's records is shoal's own
(see `record.py`); names, sizes, record kinds and defaults are etcd's so an operator finds the same
files in the same places and the same knobs behave the same way.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

# wal/wal.go SegmentSizeBytes: a segment is cut once it grows past this (64 MiB).
SEGMENT_SIZE_BYTES: Final = 64 * 1024 * 1024

# embed/config.go DefaultMaxSnapshots / DefaultMaxWALs (flags --max-snapshots / --max-wals).
# 0 means "keep everything", as in etcd.
DEFAULT_MAX_SNAPSHOTS: Final = 5
DEFAULT_MAX_WALS: Final = 5

# etcdserver/server.go purgeFileInterval: how often etcd looks for files to purge (seconds).
PURGE_FILE_INTERVAL_S: Final = 30.0

# wal/util.go walName: "%016x-%016x.wal" (sequence, first raft index the segment may hold).
WAL_SUFFIX: Final = ".wal"
# etcdserver/api/snap/snapshotter.go: "%016x-%016x.snap" (term, index); corrupt files are renamed
# with ".broken" appended so they are kept for inspection but never loaded again.
SNAP_SUFFIX: Final = ".snap"
BROKEN_SUFFIX: Final = ".broken"
# wal/wal.go Create and cut, snap's save: a file or directory is built under "<name>.tmp" and
# renamed into place once complete, so a crash leaves either the whole thing or a leftover .tmp.
TMP_SUFFIX: Final = ".tmp"

# etcdserver/storage.go + datadir: <data-dir>/member/{wal,snap}; --wal-dir replaces member/wal.
MEMBER_DIR: Final = "member"
WAL_DIR: Final = "wal"
SNAP_DIR: Final = "snap"

# pkg/fileutil PrivateFileMode / PrivateDirMode.
PRIVATE_FILE_MODE: Final = 0o600
PRIVATE_DIR_MODE: Final = 0o700


class RecordType(IntEnum):
    """wal/wal.go record types, numbered as etcd numbers them."""

    METADATA = 1  # opaque member metadata (etcd: node id + cluster id)
    ENTRY = 2  # one raft entry
    STATE = 3  # raft hard state (term, vote, commit)
    CRC = 4  # first record of a segment: the checksum chain carried over from the previous one
    SNAPSHOT = 5  # snapshot marker (index, term): "a snapshot at this point exists"


def wal_name(seq: int, index: int) -> str:
    return f"{seq:016x}-{index:016x}{WAL_SUFFIX}"


def snap_name(term: int, index: int) -> str:
    return f"{term:016x}-{index:016x}{SNAP_SUFFIX}"


def _parse_pair(name: str, suffix: str) -> tuple[int, int] | None:
    if not name.endswith(suffix):
        return None
    stem = name[: -len(suffix)]
    left, sep, right = stem.partition("-")
    if not sep or len(left) != 16 or len(right) != 16:
        return None
    try:
        return int(left, 16), int(right, 16)
    except ValueError:
        return None


def parse_wal_name(name: str) -> tuple[int, int] | None:
    """(seq, index) for a well-formed segment name, else None (other files are ignored)."""
    return _parse_pair(name, WAL_SUFFIX)


def parse_snap_name(name: str) -> tuple[int, int] | None:
    """(term, index) for a well-formed snapshot name, else None."""
    return _parse_pair(name, SNAP_SUFFIX)
