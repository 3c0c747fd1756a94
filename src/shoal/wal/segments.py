"""The segment files of a WAL directory as a set: which there are, who holds them, which may go.

Segments are named `%016x-%016x.wal` (sequence, first raft index the segment may hold); other files
in the directory are ignored. An open WAL flocks every segment it still needs, so another process
can tell a live WAL from an idle one (`check_unlocked`) and purging stops at the first segment in
use (`purge_segments`), as etcd's wal and fileutil.PurgeFile do. Reading records is `replay`'s;
writing them is `wal`'s.
"""

from __future__ import annotations

import logging
import os
from typing import NamedTuple

from shoal.wal.errors import WALLockedError
from shoal.wal.facts import parse_wal_name
from shoal.wal.files import try_lock

log = logging.getLogger("shoal.wal")


class SegmentName(NamedTuple):
    seq: int
    first_index: int
    name: str


def segment_names(dirpath: str) -> list[SegmentName]:
    """The well-formed segment files in `dirpath`, oldest first (other files are ignored)."""
    try:
        listing = os.listdir(dirpath)
    except FileNotFoundError:
        return []
    out = []
    for name in listing:
        parsed = parse_wal_name(name)
        if parsed is not None:
            out.append(SegmentName(parsed[0], parsed[1], name))
    out.sort()
    return out


def exists(dirpath: str) -> bool:
    """Whether `dirpath` holds a WAL (at least one segment), as etcd's wal.Exist."""
    return bool(segment_names(dirpath))


def locked_message(path: str) -> str:
    """What to tell a user whose WAL segment `path` another open WAL holds."""
    return (
        f"wal: {path} is locked by another process: is another member running on this data "
        f"dir? Stop it first"
    )


def check_unlocked(dirpath: str) -> None:
    """Raise WALLockedError if an open WAL (in any process) holds `dirpath`: lets a caller find
    out before it touches anything else in the data dir."""
    names = segment_names(dirpath)
    if not names:
        return
    path = os.path.join(dirpath, names[-1].name)
    fd = os.open(path, os.O_RDONLY)
    try:
        if not try_lock(fd):
            raise WALLockedError(locked_message(path))
    finally:
        os.close(fd)  # closing the probe releases its lock


def purge_segments(dirpath: str, max_wals: int) -> list[str]:
    """Delete the oldest segments while more than `max_wals` remain, stopping at the first one
    still locked by an open WAL (it is still needed), as etcd's purge does. 0 keeps everything.
    Returns the paths deleted."""
    if max_wals <= 0:
        return []
    names = segment_names(dirpath)
    removed: list[str] = []
    for n in names[: max(0, len(names) - max_wals)]:
        path = os.path.join(dirpath, n.name)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            if not try_lock(fd):
                break
            os.unlink(path)
        finally:
            os.close(fd)
        removed.append(path)
        log.info("purged %s", path)
    return removed
