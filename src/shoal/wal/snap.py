"""Snapshot files in a member's `snap/` directory, named and handled as etcd's snapshotter does.

A file `%016x-%016x.snap` (term, index) holds one raft snapshot:

    u32 crc32 of the rest | u32 length of the metadata | metadata (raft codec) | snapshot data

A file is written under a temporary name, synced, renamed, and the directory synced, so a crash
leaves either the whole file or none. A file that fails its checksum or does not match its name
is renamed `<name>.broken` (kept for inspection, never loaded again) and the next older one is
tried, as etcd does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import zlib
from collections.abc import Collection

from shoal.raft.codec import decode_snapshot_meta, encode_snapshot_meta
from shoal.raft.types import Snapshot
from shoal.wal.errors import WALError
from shoal.wal.facts import (
    BROKEN_SUFFIX,
    PRIVATE_DIR_MODE,
    PRIVATE_FILE_MODE,
    SNAP_SUFFIX,
    TMP_SUFFIX,
    parse_snap_name,
    snap_name,
)
from shoal.wal.files import fsync_dir, makedirs_durable, write_all

log = logging.getLogger("shoal.snap")

_HEAD = struct.Struct("<II")


class BrokenSnapshotError(Exception):
    """A snapshot file that cannot be loaded (internal: load_newest renames such files)."""


def encode_snapshot_file(snapshot: Snapshot) -> bytes:
    meta = encode_snapshot_meta(snapshot.meta)
    body = struct.pack("<I", len(meta)) + meta + snapshot.data
    return struct.pack("<I", zlib.crc32(body)) + body


def decode_snapshot_file(raw: bytes) -> Snapshot:
    if len(raw) < _HEAD.size:
        raise BrokenSnapshotError("file too short")
    crc, meta_len = _HEAD.unpack_from(raw)
    if zlib.crc32(memoryview(raw)[4:]) != crc:
        raise BrokenSnapshotError("crc mismatch")
    if _HEAD.size + meta_len > len(raw):
        raise BrokenSnapshotError("metadata runs past the end of the file")
    try:
        meta = decode_snapshot_meta(raw[_HEAD.size : _HEAD.size + meta_len])
    except Exception as exc:
        raise BrokenSnapshotError(f"undecodable metadata ({exc})") from exc
    return Snapshot(meta, raw[_HEAD.size + meta_len :])


class Snapshotter:
    """Saves, loads and purges the snapshot files of one directory."""

    def __init__(self, dirpath: str) -> None:
        self.dir = dirpath

    def names(self) -> list[str]:
        """Snapshot file names, oldest first (by index, then term)."""
        try:
            listing = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        found = []
        for name in listing:
            parsed = parse_snap_name(name)
            if parsed is not None:
                term, index = parsed
                found.append((index, term, name))
        found.sort()
        return [name for _, _, name in found]

    def save(self, snapshot: Snapshot) -> str | None:
        """Write `snapshot` durably; return its path (None for an empty snapshot: nothing done)."""
        if snapshot.is_empty():
            return None
        makedirs_durable(self.dir, PRIVATE_DIR_MODE)
        path = os.path.join(self.dir, snap_name(snapshot.meta.term, snapshot.meta.index))
        tmp = path + TMP_SUFFIX
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
            try:
                write_all(fd, encode_snapshot_file(snapshot), 0)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, path)
            fsync_dir(self.dir)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise WALError(
                f"snap: saving {path} failed: {exc.strerror or exc} (the log and older snapshots "
                f"are intact; free space or replace the disk)"
            ) from exc
        return path

    def load(self, name: str) -> Snapshot:
        """Load one snapshot file; raises BrokenSnapshotError when it cannot be trusted."""
        with open(os.path.join(self.dir, name), "rb") as f:
            raw = f.read()
        snapshot = decode_snapshot_file(raw)
        parsed = parse_snap_name(name)
        if parsed != (snapshot.meta.term, snapshot.meta.index):
            raise BrokenSnapshotError(
                f"holds term {snapshot.meta.term} index {snapshot.meta.index}, not what its "
                f"name says"
            )
        return snapshot

    def load_newest(self, valid: Collection[tuple[int, int]] | None = None) -> Snapshot | None:
        """The newest loadable snapshot, or None. With `valid` ((index, term) pairs the WAL has
        markers for), files the log does not know about are skipped (left in place: a crash
        between writing a snapshot file and its WAL marker leaves such a file). Corrupt files are
        renamed `.broken` and skipped."""
        self._remove_temporaries()
        for name in reversed(self.names()):
            parsed = parse_snap_name(name)
            assert parsed is not None
            term, index = parsed
            if valid is not None and (index, term) not in valid:
                continue
            try:
                return self.load(name)
            except (BrokenSnapshotError, OSError) as exc:
                path = os.path.join(self.dir, name)
                log.warning("%s is corrupt (%s); renamed to %s", path, exc, BROKEN_SUFFIX)
                os.rename(path, path + BROKEN_SUFFIX)
                fsync_dir(self.dir)  # else a power cut brings the broken file back
        return None

    def purge(self, max_snapshots: int) -> list[str]:
        """Delete the oldest snapshot files while more than `max_snapshots` remain (0 keeps all).
        Returns the paths deleted."""
        if max_snapshots <= 0:
            return []
        names = self.names()
        removed = []
        for name in names[: max(0, len(names) - max_snapshots)]:
            path = os.path.join(self.dir, name)
            try:
                os.unlink(path)
            except FileNotFoundError:
                continue
            removed.append(path)
            log.info("purged %s", path)
        return removed

    def _remove_temporaries(self) -> None:
        try:
            listing = os.listdir(self.dir)
        except FileNotFoundError:
            return
        for name in listing:
            if name.endswith(SNAP_SUFFIX + TMP_SUFFIX):  # a save that crashed before its rename
                os.unlink(os.path.join(self.dir, name))
