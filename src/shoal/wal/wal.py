"""The write-ahead log of a raft member: a directory of segment files, as etcd's `wal/` keeps it.

Segments are named `%016x-%016x.wal` (sequence, first raft index the segment may hold). Each
starts with a CRC record (the checksum chain carried over), the metadata record and, after the
first, the latest hard state, so any segment can be read on its own once older ones are purged.

What a caller can rely on:
- `save` returns only after the records are on disk whenever they must be (new entries, or a new
  term or vote; a commit-only change is written but not synced, as etcd does: raft recovers the
  commit index from the leader). One write and at most one fdatasync per call: group commit is
  the caller handing everything of a Ready batch to one `save`.
- `open` returns the metadata, the last hard state and the entries after the given snapshot
  marker, with entries replaced by later ones of the same index cut off as raft requires.
- A torn write at the end of the last segment is cut off on `open` (`repair_note` says so);
  damage anywhere else raises `CorruptWALError` naming the file and byte offset.
- Each segment in use is flocked; a second `open` of the same WAL fails with `WALLockedError`.

Not thread-safe: one caller at a time (the member runs `save` in a worker thread, in turn).
Reading the records back is `replay`'s; the directory's set of segments (listing, the lock probe,
purge) is `segments`'.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from shoal.raft.codec import encode_entry, encode_hard_state
from shoal.raft.types import Entry, HardState
from shoal.wal.errors import WALClosedError, WALError, WALExistsError, WALLockedError
from shoal.wal.facts import (
    PRIVATE_DIR_MODE,
    PRIVATE_FILE_MODE,
    SEGMENT_SIZE_BYTES,
    TMP_SUFFIX,
    RecordType,
    wal_name,
)
from shoal.wal.files import (
    datasync,
    fsync_dir,
    makedirs_durable,
    preallocate,
    try_lock,
    write_all,
)
from shoal.wal.metrics import WALMetrics
from shoal.wal.record import (
    ENTRY,
    FLAG_SYNCED_BEFORE,
    SNAPSHOT_MARKER,
    STATE,
    append_record,
    last_nonzero,
)
from shoal.wal.replay import Replayed, replay, segments_for
from shoal.wal.segments import exists as exists  # re-exported: callers ask `wal.exists(dir)`
from shoal.wal.segments import locked_message, purge_segments


@dataclass(slots=True)
class _Segment:
    name: str
    seq: int
    index: int
    fd: int


def _segment_header(metadata: bytes, state: HardState | None, crc: int) -> tuple[bytearray, int]:
    """The records every segment starts with: crc carry-over, metadata, last hard state."""
    buf = bytearray()
    crc = append_record(buf, RecordType.CRC, b"", crc, FLAG_SYNCED_BEFORE)
    crc = append_record(buf, RecordType.METADATA, metadata, crc)
    if state is not None and not state.is_empty():
        crc = append_record(buf, RecordType.STATE, encode_hard_state(state), crc)
    return buf, crc


class OpenResult(NamedTuple):
    wal: WAL
    metadata: bytes
    hard_state: HardState
    entries: list[Entry]


class WAL:
    """An open, locked WAL positioned for appending. Build it with `create` or `open`."""

    def __init__(
        self,
        dirpath: str,
        metadata: bytes,
        segments: list[_Segment],
        *,
        offset: int,
        crc: int,
        last_index: int,
        state: HardState,
        segment_size: int,
        preallocated: bool,
        repair_note: str | None = None,
        metrics: WALMetrics | None = None,
    ) -> None:
        self.metrics = metrics if metrics is not None else WALMetrics()
        self._dir = dirpath
        self._metadata = metadata
        self._segments = segments
        self._offset = offset
        self._crc = crc
        self._enti = last_index
        self._state = state
        self._segment_size = segment_size
        self._preallocate = preallocated
        self._synced = True  # the next record written is the first after an fsync
        self._closed = False
        self._failed: str | None = None
        self.repair_note = repair_note
        """Set when `open` cut a torn write off the end of the log (also logged as a warning)."""

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        dirpath: str,
        metadata: bytes,
        *,
        segment_size: int = SEGMENT_SIZE_BYTES,
        preallocate_segments: bool = True,
        metrics: WALMetrics | None = None,
    ) -> WAL:
        """Create a new WAL holding `metadata`. The directory appears whole or not at all: it is
        built under `<dir>.tmp` and renamed into place (a crash leaves no half-made WAL)."""
        dirpath = os.path.normpath(dirpath)
        if exists(dirpath):
            raise WALExistsError(f"wal: {dirpath} already holds a WAL; open it instead")
        parent = os.path.dirname(dirpath) or "."
        makedirs_durable(parent, PRIVATE_DIR_MODE)
        tmpdir = dirpath + TMP_SUFFIX
        shutil.rmtree(tmpdir, ignore_errors=True)
        os.mkdir(tmpdir, PRIVATE_DIR_MODE)
        name = wal_name(0, 0)
        fd = os.open(os.path.join(tmpdir, name), os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            try_lock(fd)
            prealloc = preallocate_segments and preallocate(fd, segment_size)
            buf, crc = _segment_header(metadata, None, 0)
            # The initial empty snapshot marker: opening with no snapshot looks for (0, 0).
            crc = append_record(buf, RecordType.SNAPSHOT, SNAPSHOT_MARKER.pack(0, 0), crc)
            write_all(fd, buf, 0)
            os.fsync(fd)
            fsync_dir(tmpdir)
            if os.path.isdir(dirpath):
                try:
                    os.rmdir(dirpath)  # an empty directory made beforehand is fine
                except OSError as exc:
                    raise WALError(
                        f"wal: {dirpath} exists and is not empty (it holds no WAL segments); "
                        f"move its files away or choose another --wal-dir"
                    ) from exc
            os.rename(tmpdir, dirpath)
            fsync_dir(parent)
        except BaseException:
            os.close(fd)
            shutil.rmtree(tmpdir, ignore_errors=True)
            raise
        return cls(
            dirpath,
            metadata,
            [_Segment(name, 0, 0, fd)],
            offset=len(buf),
            crc=crc,
            last_index=0,
            state=HardState(),
            segment_size=segment_size,
            preallocated=prealloc,
            metrics=metrics,
        )

    @classmethod
    def open(
        cls,
        dirpath: str,
        snap: tuple[int, int] | None = None,
        *,
        segment_size: int = SEGMENT_SIZE_BYTES,
        preallocate_segments: bool = True,
        metrics: WALMetrics | None = None,
    ) -> OpenResult:
        """Open the WAL for appending and read everything after snapshot marker `snap`
        ((index, term); None for the start of the log). Returns (wal, metadata, hard state,
        entries after the snapshot)."""
        dirpath = os.path.normpath(dirpath)
        chosen = segments_for(dirpath, snap)
        segments: list[_Segment] = []
        try:
            for i, n in enumerate(chosen):
                path = os.path.join(dirpath, n.name)
                fd = os.open(path, os.O_RDWR if i == len(chosen) - 1 else os.O_RDONLY)
                segments.append(_Segment(n.name, n.seq, n.first_index, fd))
                if not try_lock(fd):
                    raise WALLockedError(locked_message(path))
            # Holding the tail's lock, no one else is cutting: a .tmp is a cut that crashed
            # before its rename and holds nothing that was acknowledged.
            for leftover in os.listdir(dirpath):
                if leftover.endswith(TMP_SUFFIX):
                    os.unlink(os.path.join(dirpath, leftover))
            r = replay(dirpath, chosen, snap)
            wal = cls(
                dirpath,
                r.metadata,
                segments,
                offset=r.stop.offset,
                crc=r.crc,
                last_index=r.last_index,
                state=HardState(r.state.term, r.state.vote, r.state.commit),
                segment_size=segment_size,
                preallocated=preallocate_segments,
                metrics=metrics,
            )
            wal._repair_tail(r)
            return OpenResult(wal, r.metadata, r.state, r.entries)
        except BaseException:
            for s in segments:
                os.close(s.fd)
            raise

    def _repair_tail(self, r: Replayed) -> None:
        """Cut a torn write off the tail, re-reserve its space, and make what was read durable."""
        tail = self._segments[-1]
        offset = r.stop.offset
        dropped = last_nonzero(r.tail_buf) + 1 - offset
        if dropped > 0:
            self.repair_note = (
                f"repaired a torn write at the end of {r.tail_path}: cut the log at byte "
                f"offset {offset} ({r.stop.reason}), dropping {dropped} bytes that were written "
                f"but never synced, so never acknowledged"
            )
        if dropped > 0 or (r.tail_size > offset and not self._preallocate):
            os.ftruncate(tail.fd, offset)
        if self._preallocate:
            self._preallocate = preallocate(tail.fd, self._segment_size)
        # Everything read must be durable before records flagged SYNCED_BEFORE follow it.
        os.fsync(tail.fd)
        if offset == 0:
            # The whole tail segment was torn (its header never reached the disk): rewrite it.
            header, crc = _segment_header(self._metadata, self._state, self._crc)
            self._append(header, crc, must_sync=True)

    # -- appending ----------------------------------------------------------------------------

    def save(self, hard_state: HardState | None, entries: Sequence[Entry]) -> None:
        """Append `entries` then `hard_state` (None or empty: unchanged) with one write and at
        most one fdatasync. Returns once they are durable (see the module docstring)."""
        self._check_usable()
        has_state = hard_state is not None and not hard_state.is_empty()
        if not entries and not has_state:
            return
        buf = bytearray()
        crc = self._crc
        flags = FLAG_SYNCED_BEFORE if self._synced else 0
        for e in entries:
            crc = append_record(buf, ENTRY, encode_entry(e), crc, flags)
            flags = 0
        must_sync = bool(entries)
        if has_state:
            assert hard_state is not None
            crc = append_record(buf, STATE, encode_hard_state(hard_state), crc, flags)
            old = self._state
            must_sync = must_sync or hard_state.term != old.term or hard_state.vote != old.vote
        self._append(buf, crc, must_sync)
        if entries:
            self._enti = entries[-1].index
        if hard_state is not None and has_state:
            self._state = HardState(hard_state.term, hard_state.vote, hard_state.commit)
        if self._offset >= self._segment_size:
            self._cut()

    def save_snapshot_marker(self, index: int, term: int) -> None:
        """Record that a snapshot at (index, term) exists; synced. Write the snapshot file first.

        A snapshot holds only committed entries, so when the log's commit index is behind it
        (a follower installing the leader's snapshot) a hard state with commit = `index` goes in
        the same synced write. Otherwise a crash before the next hard state would leave a marker
        past the durable commit, which a restart must ignore (etcd 3.5 syncs for the same reason)
        while the segments before it may already be purged."""
        self._check_usable()
        buf = bytearray()
        flags = FLAG_SYNCED_BEFORE if self._synced else 0
        marker = SNAPSHOT_MARKER.pack(index, term)
        crc = append_record(buf, RecordType.SNAPSHOT, marker, self._crc, flags)
        state = self._state
        if state.commit < index:
            state = HardState(state.term, state.vote, index)
            crc = append_record(buf, RecordType.STATE, encode_hard_state(state), crc)
        self._append(buf, crc, must_sync=True)
        self._state = state
        # Segments cut from now on are named past the snapshot, so opening at it finds the marker.
        self._enti = max(self._enti, index)
        if self._offset >= self._segment_size:
            self._cut()

    def _append(self, buf: bytearray, crc: int, must_sync: bool) -> None:
        tail = self._segments[-1]
        try:
            write_all(tail.fd, buf, self._offset)
            self.metrics.write_bytes += len(buf)
            if must_sync:
                start = time.perf_counter()
                datasync(tail.fd)
                self.metrics.fsync_seconds.observe(time.perf_counter() - start)
        except OSError as exc:
            # After a failed write or fsync the file's contents are unknown (and a retried fsync
            # can falsely succeed): refuse further use; the member must stop and reopen the WAL.
            self._failed = f"wal: writing {self._path(tail)} failed: {exc}"
            raise WALError(self._failed) from exc
        self._offset += len(buf)
        self._crc = crc
        self._synced = must_sync

    def _cut(self) -> None:
        """Close the tail at its current size and start the next segment."""
        tail = self._segments[-1]
        try:
            os.ftruncate(tail.fd, self._offset)  # give back the preallocated space
            os.fsync(tail.fd)
            seq, index = tail.seq + 1, self._enti + 1
            name = wal_name(seq, index)
            path = os.path.join(self._dir, name)
            tmp = path + TMP_SUFFIX
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
            try:
                try_lock(fd)
                if self._preallocate:
                    self._preallocate = preallocate(fd, self._segment_size)
                buf, crc = _segment_header(self._metadata, self._state, self._crc)
                write_all(fd, buf, 0)
                os.fsync(fd)
                # Renamed only once complete, so a segment never lacks its header records.
                os.rename(tmp, path)
                fsync_dir(self._dir)
            except BaseException:
                os.close(fd)
                raise
        except OSError as exc:
            self._failed = f"wal: starting a new segment in {self._dir} failed: {exc}"
            raise WALError(self._failed) from exc
        self._segments.append(_Segment(name, seq, index, fd))
        self._offset = len(buf)
        self._crc = crc
        self._synced = True

    # -- releasing ----------------------------------------------------------------------------

    def release_lock_to(self, index: int) -> None:
        """Unlock the segments wholly before `index` (keeping the one that may hold `index`, as
        etcd does) so `purge_segments` may delete them. Call it with a saved snapshot's index."""
        segs = self._segments
        keep_from = len(segs) - 1
        for i, s in enumerate(segs):
            if s.index >= index:
                keep_from = i - 1
                break
        if keep_from <= 0:
            return
        for s in segs[:keep_from]:
            os.close(s.fd)
        self._segments = segs[keep_from:]

    def purge(self, max_wals: int) -> list[str]:
        """Delete the oldest unlocked segments beyond `max_wals`; see `purge_segments`."""
        return purge_segments(self._dir, max_wals)

    def close(self) -> None:
        """Sync anything written but not yet synced, and release every lock. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if not self._synced and self._failed is None:
                datasync(self._segments[-1].fd)
        finally:
            for s in self._segments:
                os.close(s.fd)
            self._segments = []

    def __enter__(self) -> WAL:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- state --------------------------------------------------------------------------------

    @property
    def dir(self) -> str:
        return self._dir

    @property
    def metadata(self) -> bytes:
        return self._metadata

    @property
    def hard_state(self) -> HardState:
        """The last hard state saved (a copy)."""
        s = self._state
        return HardState(s.term, s.vote, s.commit)

    @property
    def last_index(self) -> int:
        """Index of the last entry saved (or of a later snapshot marker)."""
        return self._enti

    @property
    def failed(self) -> bool:
        """A write or fsync failed: the WAL refuses further use until reopened."""
        return self._failed is not None

    @property
    def tail_offset(self) -> int:
        """Byte offset in the last segment where the next record will be written."""
        return self._offset

    @property
    def locked_segments(self) -> list[str]:
        """Names of the segments this WAL holds locked (still needed), oldest first."""
        return [s.name for s in self._segments]

    def _path(self, seg: _Segment) -> str:
        return os.path.join(self._dir, seg.name)

    def _check_usable(self) -> None:
        if self._closed:
            raise WALClosedError(f"wal: {self._dir} is closed")
        if self._failed is not None:
            raise WALError(f"{self._failed}; reopen the WAL")
