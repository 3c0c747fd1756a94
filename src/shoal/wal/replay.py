"""Reading a WAL back: replaying its records after a snapshot, and judging the damage it finds.

Replay reads the segments that can hold the log after a snapshot marker (etcd's searchIndex),
checks they are contiguous, follows the checksum chain across them, and returns the metadata, the
last hard state and the entries after the marker, with entries replaced by later ones of the same
index cut off as raft requires. It only reads: a torn write at the end of the last segment is
reported (`Replayed.stop`) for `WAL.open` to cut off, or skipped by `read_all`; damage anywhere
else raises `CorruptWALError` naming the file and byte offset.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from shoal.raft.codec import decode_entry, decode_hard_state
from shoal.raft.types import Entry, HardState
from shoal.wal.errors import (
    CorruptWALError,
    MetadataConflictError,
    SnapshotMismatchError,
    SnapshotNotFoundError,
    WALError,
    WALNotFoundError,
)
from shoal.wal.files import read_written
from shoal.wal.record import (
    ENTRY,
    METADATA,
    SNAPSHOT,
    SNAPSHOT_MARKER,
    STATE,
    SegmentReader,
    Stop,
    classify_damage,
)
from shoal.wal.segments import SegmentName, segment_names

T = TypeVar("T")


def _decode(fn: Callable[[bytes], T], data: bytes, path: str, offset: int, what: str) -> T:
    try:
        return fn(data)
    except Exception as exc:  # a record that checksums but does not decode: written by a bug
        raise CorruptWALError(path, offset, f"undecodable {what} record ({exc})") from exc


def _marker(data: bytes, path: str, offset: int) -> tuple[int, int]:
    if len(data) != SNAPSHOT_MARKER.size:
        raise CorruptWALError(path, offset, "snapshot marker record of the wrong size")
    index, term = SNAPSHOT_MARKER.unpack(data)
    return index, term


def segments_for(dirpath: str, snap: tuple[int, int] | None) -> list[SegmentName]:
    """The segments to read to replay the log after `snap`: from the newest one whose first
    index is at or before the snapshot's, to the end (etcd's searchIndex), checked contiguous."""
    names = segment_names(dirpath)
    if not names:
        raise WALNotFoundError(f"wal: no WAL segments in {dirpath}")
    snap_index = snap[0] if snap is not None else 0
    start = None
    for i, n in enumerate(names):
        if n.first_index <= snap_index:
            start = i
    if start is None:
        raise SnapshotNotFoundError(
            f"wal: no segment in {dirpath} can hold snapshot index {snap_index} (the oldest, "
            f"{names[0].name}, starts at index {names[0].first_index}): the segments it needed "
            f"were purged; restore from a backup or rebuild the member from its peers"
        )
    chosen = names[start:]
    for a, b in itertools.pairwise(chosen):
        if b.seq != a.seq + 1:
            raise WALError(
                f"wal: segment {b.name} does not follow {a.name} in {dirpath}: a segment is "
                f"missing; restore from a backup or rebuild the member from its peers"
            )
    return chosen


@dataclass(slots=True)
class Replayed:
    metadata: bytes
    state: HardState
    entries: list[Entry]
    crc: int  # the checksum chain after the last good record
    last_index: int  # what names the next segment (see save_snapshot_marker)
    stop: Stop  # where the last segment's good records end, and why
    tail_path: str
    tail_buf: bytes
    tail_size: int


def replay(dirpath: str, chosen: list[SegmentName], snap: tuple[int, int] | None) -> Replayed:
    """Read the log after `snap` from `chosen` segments. Pure reading: raises on corruption and
    leaves a torn tail for the caller (`Stop`) to cut off or ignore."""
    snap_index, snap_term = snap if snap is not None else (0, 0)
    metadata: bytes | None = None
    state = HardState()
    ents: list[Entry] = []
    matched = False
    max_marker = 0
    crc: int | None = None
    buf, size, path = b"", 0, ""
    stop = Stop(0, "")
    for i, n in enumerate(chosen):
        path = os.path.join(dirpath, n.name)
        buf, size = read_written(path)
        reader = SegmentReader(buf, crc)
        for offset, t, _, data in reader:
            if t == ENTRY:
                e = _decode(decode_entry, data, path, offset, "entry")
                if e.index > snap_index:
                    pos = e.index - snap_index - 1
                    if pos > len(ents):
                        raise CorruptWALError(
                            path,
                            offset,
                            f"entry {e.index} does not follow entry {snap_index + len(ents)} "
                            f"(a gap in the log)",
                        )
                    # A later entry at index i replaces i and everything after it.
                    if pos < len(ents):
                        del ents[pos:]
                    ents.append(e)
            elif t == STATE:
                state = _decode(decode_hard_state, data, path, offset, "hard state")
            elif t == METADATA:
                if metadata is not None and data != metadata:
                    raise MetadataConflictError(
                        f"wal: metadata in {path} at byte offset {offset} differs from the "
                        f"metadata of earlier segments"
                    )
                metadata = data
            elif t == SNAPSHOT:
                m_index, m_term = _marker(data, path, offset)
                max_marker = max(max_marker, m_index)
                if m_index == snap_index:
                    if m_term != snap_term:
                        raise SnapshotMismatchError(
                            f"wal: snapshot marker at index {snap_index} in {path} has term "
                            f"{m_term}, not {snap_term}: the snapshot file does not belong to "
                            f"this log"
                        )
                    matched = True
        crc = reader.crc
        stop = reader.stop
        if stop.reason and (i < len(chosen) - 1 or not classify_damage(buf, stop)):
            raise CorruptWALError(path, stop.offset, stop.reason)
    if metadata is None:
        raise WALError(f"wal: no metadata record in {dirpath}; the WAL is not shoal's")
    if not matched:
        raise SnapshotNotFoundError(
            f"wal: no snapshot marker (index {snap_index}, term {snap_term}) in {dirpath}"
        )
    last_index = max(snap_index, ents[-1].index if ents else 0, max_marker)
    return Replayed(
        metadata,
        state,
        ents,
        crc if crc is not None else 0,
        last_index,
        stop,
        path,
        buf,
        size,
    )


class ReadResult(NamedTuple):
    metadata: bytes
    hard_state: HardState
    entries: list[Entry]


def read_all(dirpath: str, snap: tuple[int, int] | None = None) -> ReadResult:
    """Read the log after `snap` without locking or repairing anything (etcd's OpenForRead):
    for tools and tests looking at a member's WAL, even while the member runs. A torn tail is
    skipped; damage elsewhere raises `CorruptWALError` as `WAL.open` does."""
    dirpath = os.path.normpath(dirpath)
    r = replay(dirpath, segments_for(dirpath, snap), snap)
    return ReadResult(r.metadata, r.state, r.entries)


class MarkerScan(NamedTuple):
    markers: list[tuple[int, int]]
    hard_state: HardState


def read_snapshot_markers(dirpath: str) -> MarkerScan:
    """Every snapshot marker (index, term) in the WAL and its last hard state, without locking.

    Lets the member pick the newest snapshot file the log knows about (etcd 3.5's
    ValidSnapshotEntries). Reading stops quietly at damage: `WAL.open` is the one that judges it.
    """
    markers: list[tuple[int, int]] = []
    state = HardState()
    crc: int | None = None
    for n in segment_names(dirpath):
        path = os.path.join(dirpath, n.name)
        try:
            buf, _ = read_written(path)
        except FileNotFoundError:  # purged meanwhile
            crc = None
            continue
        reader = SegmentReader(buf, crc)
        for offset, t, _, data in reader:
            if t == SNAPSHOT:
                markers.append(_marker(data, path, offset))
            elif t == STATE:
                state = _decode(decode_hard_state, data, path, offset, "hard state")
        if reader.stop.reason:
            break
        crc = reader.crc
    return MarkerScan(markers, state)
