"""What a power cut would take away: the undo journal of every change not yet made durable.

The file system passes every change straight through to its backing directory and records, here,
how to take it back. A change becomes durable by the rule POSIX gives (and ext4, xfs and btrfs
keep at the least):

- file data and size: when that file is fsynced or fdatasynced;
- a name (create, mkdir, unlink, rmdir, rename): when the directory holding it is fsynced (a
  rename: both directories). Fsyncing a file does not keep its name.

`cut()` undoes, newest first, everything not yet durable: data and sizes back to what the last
sync of each file left, names back to what the last sync of each directory left. Unsynced data
is dropped whole (a real disk may keep some of it, in sectors: `tests/wal/test_wal_powerloss.py`
covers that); what a sync made durable is never lost.

Not modelled: a durable rename of a directory above a name whose own change is still pending
(its undo then finds nothing at its old path and is counted in `CutReport.skipped`).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

# Pre-images are read in chunks this big; an all-zero chunk (preallocated space) is kept as its
# length only, so giving back a 64 MiB preallocated WAL segment costs no memory.
_CHUNK = 1 << 20


@dataclass
class _Dirty:
    """A file changed since its last sync: its own fd, durable size, and old bytes to put back."""

    fd: int
    size: int
    undo: list[tuple[int, bytes | int]] = field(default_factory=list)  # (offset, bytes | zeros)


@dataclass
class _NameOp:
    what: str
    dirs: set[int]  # inodes of the directories that must be fsynced for it to be durable
    undo: Callable[[], None]
    durable: Callable[[], None] | None = None


@dataclass
class CutReport:
    files_reverted: int = 0
    bytes_dropped: int = 0
    names_reverted: int = 0
    skipped: list[str] = field(default_factory=list)

    def line(self) -> str:
        s = (
            f"reverted {self.files_reverted} files ({self.bytes_dropped} bytes) and "
            f"{self.names_reverted} names"
        )
        if self.skipped:
            s += f"; could not revert: {'; '.join(self.skipped)}"
        return s


class Journal:
    """Thread-safe: FUSE calls it from several threads, the control socket from another."""

    def __init__(self, trash: str) -> None:
        self.trash = trash  # where unlinked files wait until their unlink is durable
        os.makedirs(trash, exist_ok=True)
        self.lock = threading.RLock()
        self._dirty: dict[int, _Dirty] = {}
        self._names: list[_NameOp] = []
        self._seq = 0
        self.syncs = 0

    # ------------------------------------------------------------------ data
    def _dirty_for(self, ino: int, fd: int) -> _Dirty:
        d = self._dirty.get(ino)
        if d is None:
            d = _Dirty(os.dup(fd), os.fstat(fd).st_size)
            self._dirty[ino] = d
        return d

    def before_write(self, ino: int, fd: int, offset: int, length: int) -> None:
        """Call before changing bytes [offset, offset+length) of the file open as `fd`."""
        with self.lock:
            d = self._dirty_for(ino, fd)
            end = min(offset + length, d.size)  # past the durable size: the size undo covers it
            pos = offset
            while pos < end:
                n = min(_CHUNK, end - pos)
                old = os.pread(d.fd, n, pos)
                d.undo.append((pos, len(old) if not old.strip(b"\0") else old))
                pos += n

    def before_truncate(self, ino: int, fd: int, size: int) -> None:
        with self.lock:
            cur = os.fstat(fd).st_size
            if size < cur:
                self.before_write(ino, fd, size, cur - size)
            else:
                self._dirty_for(ino, fd)

    def synced_file(self, ino: int) -> None:
        with self.lock:
            self.syncs += 1
            d = self._dirty.pop(ino, None)
            if d is not None:
                os.close(d.fd)

    # ------------------------------------------------------------------ names
    def _trash_path(self) -> str:
        self._seq += 1
        return os.path.join(self.trash, f"{self._seq:08d}")

    def created(self, parent: int, path: str, is_dir: bool) -> None:
        """`path` was just created (a file, a directory, a link) in directory inode `parent`."""

        def undo() -> None:
            if is_dir:
                shutil.rmtree(path)
            else:
                os.unlink(path)

        with self.lock:
            self._names.append(_NameOp(f"create {path}", {parent}, undo))

    def unlink(self, parent: int, path: str) -> None:
        """Unlink `path`: it is moved into the trash, so a cut can bring it back."""
        with self.lock:
            keep = self._trash_path()
            os.rename(path, keep)

            def undo() -> None:
                os.replace(keep, path)

            def durable() -> None:
                os.unlink(keep)

            self._names.append(_NameOp(f"unlink {path}", {parent}, undo, durable))

    def rmdir(self, parent: int, path: str) -> None:
        with self.lock:
            mode = os.stat(path).st_mode & 0o7777
            os.rmdir(path)
            self._names.append(_NameOp(f"rmdir {path}", {parent}, lambda: os.mkdir(path, mode)))

    def rename(self, parents: set[int], old: str, new: str) -> None:
        """Rename `old` to `new` (a file it replaces goes to the trash, to come back on a cut)."""
        with self.lock:
            displaced: str | None = None
            if os.path.lexists(new) and not os.path.isdir(new):
                displaced = self._trash_path()
                os.rename(new, displaced)
            try:
                os.rename(old, new)
            except OSError:
                if displaced is not None:
                    os.rename(displaced, new)
                raise

            def undo() -> None:
                os.rename(new, old)
                if displaced is not None:
                    os.rename(displaced, new)

            def durable() -> None:
                if displaced is not None:
                    os.unlink(displaced)

            self._names.append(_NameOp(f"rename {old} {new}", set(parents), undo, durable))

    def synced_dir(self, ino: int) -> None:
        with self.lock:
            self.syncs += 1
            keep: list[_NameOp] = []
            for op in self._names:
                op.dirs.discard(ino)
                if op.dirs:
                    keep.append(op)
                elif op.durable is not None:
                    op.durable()
            self._names = keep

    # ------------------------------------------------------------------ the cut
    def pending(self) -> tuple[int, int]:
        """(files with unsynced data, name changes not yet durable)."""
        with self.lock:
            return len(self._dirty), len(self._names)

    def cut(self) -> CutReport:
        """Power cut: take back everything not durable. Call with no writer left running."""
        rep = CutReport()
        with self.lock:
            for d in self._dirty.values():
                for off, old in reversed(d.undo):
                    if isinstance(old, int):
                        old = bytes(old)
                    os.pwrite(d.fd, old, off)
                    rep.bytes_dropped += len(old)
                cur = os.fstat(d.fd).st_size
                rep.bytes_dropped += max(0, cur - d.size)
                os.ftruncate(d.fd, d.size)
                os.close(d.fd)
                rep.files_reverted += 1
            self._dirty.clear()
            for op in reversed(self._names):
                try:
                    op.undo()
                    rep.names_reverted += 1
                except OSError as e:
                    rep.skipped.append(f"{op.what}: {e.strerror}")
            self._names.clear()
            shutil.rmtree(self.trash, ignore_errors=True)
            os.makedirs(self.trash, exist_ok=True)
        return rep
