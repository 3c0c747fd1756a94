"""Small file-system helpers with the durability rules the WAL and snapshots rely on."""

from __future__ import annotations

import errno
import fcntl
import os

# etcd syncs WAL data with fdatasync: it flushes the data and the metadata needed to read it back
# (the file size) and skips timestamps. macOS and others lack it; fsync is the safe fallback.
_datasync = getattr(os, "fdatasync", os.fsync)


def datasync(fd: int) -> None:
    _datasync(fd)


def fsync_dir(path: str) -> None:
    """Make a rename, creation or unlink inside `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def makedirs_durable(path: str, mode: int) -> None:
    """os.makedirs(path, exist_ok=True), but each directory it creates is made durable: its
    entry lives in its parent, so the parent is fsynced after the mkdir. Without that a power
    cut can drop a data dir's `member/` (and all the synced files under it) even though every
    file in it was fsynced: the member would come back empty and rejoin as a new one."""
    path = os.path.abspath(path)
    missing: list[str] = []
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for d in reversed(missing):
        try:
            os.mkdir(d, mode)
        except FileExistsError:
            if not os.path.isdir(d):
                raise
            continue
        fsync_dir(os.path.dirname(d))


def try_lock(fd: int) -> bool:
    """Take an exclusive flock without waiting. flock belongs to the open file description, so a
    second open of the same file conflicts even inside one process (what purge relies on)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def write_all(fd: int, data: bytes | bytearray | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


def preallocate(fd: int, size: int) -> bool:
    """Reserve `size` bytes (reads as zeros) so appends never change the file size, which keeps
    fdatasync cheap. Returns False where the file system cannot do it; callers then just append."""
    try:
        os.posix_fallocate(fd, 0, size)
    except (OSError, AttributeError):
        return False
    return True


def read_written(path: str) -> tuple[bytes, int]:
    """(contents up to the end of the last written data, file size). Bytes past the returned
    contents are holes or preallocated space, so they read as zeros: skipping them keeps opening a
    preallocated 64 MiB segment cheap. File systems without SEEK_DATA just give the whole file."""
    with open(path, "rb") as f:
        fd = f.fileno()
        size = os.fstat(fd).st_size
        end = size
        if hasattr(os, "SEEK_DATA"):
            end = 0
            pos = 0
            try:
                while pos < size:
                    start = os.lseek(fd, pos, os.SEEK_DATA)
                    end = pos = os.lseek(fd, start, os.SEEK_HOLE)
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # ENXIO: no data after pos; else: unsupported
                    end = size
        f.seek(0)
        return f.read(min(end, size)), size
