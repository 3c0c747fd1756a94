"""The FUSE operations of the fault file system: a pass-through to a backing directory that
records in a `Journal` what a power cut would undo, and injects disk faults on demand.

Faults (`Faults`, set through the control socket, see `daemon`):
- `eio`: "fsync" makes every fsync/fdatasync fail with EIO, "write" every write too, and the
  data stays unsynced (as Linux does: after EIO the dirty pages are dropped or kept, never
  reported again);
- `full`: ENOSPC for everything that needs new space (a write past the end of a file, fallocate,
  create, mkdir), as a full disk does: writes into space already allocated (a preallocated WAL
  segment) still succeed;
- `delay_ms`: each fsync waits a random time in [lo, hi] ms before it returns (a slow disk).

Nothing here calls a real fsync: durability is the journal's model, so a synced write costs a
FUSE round trip, not a disk flush.
"""

from __future__ import annotations

import errno
import os
import random
import time
from dataclasses import dataclass
from typing import Any

import mfusepy  # type: ignore[import-untyped,import-not-found,unused-ignore]

from shoal.faultfs.journal import Journal

_ST_KEYS = ("st_mode", "st_ino", "st_nlink", "st_uid", "st_gid", "st_size", "st_blocks")


@dataclass
class Faults:
    eio: str = ""  # "", "fsync" or "write" (write implies fsync)
    full: bool = False
    delay_ms: tuple[float, float] = (0.0, 0.0)
    eio_count: int = 0  # how many calls failed with EIO (reported by `stats`)
    enospc_count: int = 0


def _err(code: int) -> Exception:
    return mfusepy.FuseOSError(code)  # type: ignore[no-any-return]


class FaultOps:
    """mfusepy calls these by name (not a subclass: mfusepy is untyped)."""

    use_ns = True

    def __init__(self, root: str, journal: Journal, faults: Faults, seed: int = 0) -> None:
        self.root = root
        self.journal = journal
        self.faults = faults
        self.rng = random.Random(seed)

    def _p(self, path: str) -> str:
        return os.path.join(self.root, path.lstrip("/"))

    def _parent_ino(self, path: str) -> int:
        return os.stat(os.path.dirname(self._p(path).rstrip("/"))).st_ino

    def _no_space(self) -> None:
        if self.faults.full:
            self.faults.enospc_count += 1
            raise _err(errno.ENOSPC)

    def _sync_fault(self) -> None:
        lo, hi = self.faults.delay_ms
        if hi > 0:
            time.sleep(self.rng.uniform(lo, hi) / 1000.0)
        if self.faults.eio:
            self.faults.eio_count += 1
            raise _err(errno.EIO)

    # ------------------------------------------------------------------ metadata
    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        st = os.fstat(fh) if fh is not None else os.lstat(self._p(path))
        out: dict[str, Any] = {k: getattr(st, k) for k in _ST_KEYS}
        out["st_atime"], out["st_mtime"], out["st_ctime"] = (
            st.st_atime_ns,
            st.st_mtime_ns,
            st.st_ctime_ns,
        )
        return out

    def access(self, path: str, amode: int) -> int:
        if not os.access(self._p(path), amode):
            raise _err(errno.EACCES)
        return 0

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", *os.listdir(self._p(path))]

    def readlink(self, path: str) -> str:
        return os.readlink(self._p(path))

    def statfs(self, path: str) -> dict[str, int]:
        st = os.statvfs(self._p(path))
        keys = ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree")
        out = {k: getattr(st, k) for k in keys}
        out["f_namemax"] = st.f_namemax
        if self.faults.full:
            out["f_bfree"] = out["f_bavail"] = 0
        return out

    def chmod(self, path: str, mode: int) -> int:
        os.chmod(self._p(path), mode)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        os.chown(self._p(path), uid, gid)
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        if times is None:
            os.utime(self._p(path))
        else:
            os.utime(self._p(path), ns=times)
        return 0

    # ------------------------------------------------------------------ names
    def mkdir(self, path: str, mode: int) -> int:
        self._no_space()
        with self.journal.lock:
            os.mkdir(self._p(path), mode)
            self.journal.created(self._parent_ino(path), self._p(path), True)
        return 0

    def rmdir(self, path: str) -> int:
        self.journal.rmdir(self._parent_ino(path), self._p(path))
        return 0

    def unlink(self, path: str) -> int:
        self.journal.unlink(self._parent_ino(path), self._p(path))
        return 0

    def rename(self, old: str, new: str) -> int:
        parents = {self._parent_ino(old), self._parent_ino(new)}
        self.journal.rename(parents, self._p(old), self._p(new))
        return 0

    def symlink(self, target: str, source: str) -> int:
        self._no_space()
        with self.journal.lock:
            os.symlink(source, self._p(target))
            self.journal.created(self._parent_ino(target), self._p(target), False)
        return 0

    def link(self, target: str, source: str) -> int:
        with self.journal.lock:
            os.link(self._p(source), self._p(target))
            self.journal.created(self._parent_ino(target), self._p(target), False)
        return 0

    # ------------------------------------------------------------------ files
    def create(self, path: str, mode: int, fi: object = None) -> int:
        self._no_space()
        with self.journal.lock:
            full = self._p(path)
            existed = os.path.lexists(full)
            fd = os.open(full, os.O_RDWR | os.O_CREAT, mode)
            if not existed:
                self.journal.created(self._parent_ino(path), full, False)
        return fd

    def open(self, path: str, flags: int) -> int:
        # Always read-write underneath: the kernel already checked the caller's access mode, and
        # the journal reads the old bytes through this fd's dup before each write.
        acc = os.O_RDWR if os.access(self._p(path), os.W_OK) else os.O_RDONLY
        return os.open(self._p(path), acc)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return os.pread(fh, size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        if self.faults.eio == "write":
            self.faults.eio_count += 1
            raise _err(errno.EIO)
        if self.faults.full and offset + len(data) > os.fstat(fh).st_size:
            self.faults.enospc_count += 1
            raise _err(errno.ENOSPC)
        ino = os.fstat(fh).st_ino
        with self.journal.lock:
            self.journal.before_write(ino, fh, offset, len(data))
            return os.pwrite(fh, data, offset)

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        fd = fh if fh is not None else os.open(self._p(path), os.O_RDWR)
        try:
            if self.faults.full and length > os.fstat(fd).st_size:
                raise _err(errno.ENOSPC)
            with self.journal.lock:
                self.journal.before_truncate(os.fstat(fd).st_ino, fd, length)
                os.ftruncate(fd, length)
        finally:
            if fh is None:
                os.close(fd)
        return 0

    def fallocate(self, path: str, mode: int, offset: int, size: int, fh: int) -> int:
        if mode != 0:
            raise _err(errno.EOPNOTSUPP)
        if offset + size <= os.fstat(fh).st_size:
            return 0
        self._no_space()
        with self.journal.lock:
            self.journal.before_truncate(os.fstat(fh).st_ino, fh, offset + size)
            os.posix_fallocate(fh, offset, size)
        return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        self._sync_fault()
        self.journal.synced_file(os.fstat(fh).st_ino)
        return 0

    def flush(self, path: str, fh: int) -> int:
        return 0  # close() is not a sync: the data stays as unsynced as it was

    def release(self, path: str, fh: int) -> int:
        os.close(fh)
        return 0

    # ------------------------------------------------------------------ directories
    def opendir(self, path: str) -> int:
        return os.open(self._p(path), os.O_RDONLY | os.O_DIRECTORY)

    def releasedir(self, path: str, fh: int) -> int:
        os.close(fh)
        return 0

    def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
        self._sync_fault()
        self.journal.synced_dir(os.fstat(fh).st_ino)
        return 0
