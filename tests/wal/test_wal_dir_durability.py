"""Directory entries are durable: every directory and file a member needs after a power cut was
made durable in its parent (the parent fsynced after the entry appeared) before the WAL or a
snapshot counted on it.

A POSIX file system keeps a new name only once its directory is fsynced; fsyncing the file keeps
its data, not its name. These tests trace the calls storage makes (mkdir, create, rename, fsync
of a directory) and replay them against that rule. The FUSE power-cut file system
(`shoal.faultfs`) checks the same end to end; this is the quick version.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shoal.raft.types import Entry, HardState, Snapshot, SnapshotMeta
from shoal.wal.storage import DiskStorage


@dataclass
class Trace:
    """Names created or renamed into a directory, and whether that directory was fsynced since."""

    pending: dict[str, set[str]] = field(default_factory=dict)  # dir -> names not yet durable
    dir_fds: dict[int, str] = field(default_factory=dict)

    def created(self, path: str) -> None:
        path = os.path.abspath(path)
        self.pending.setdefault(os.path.dirname(path), set()).add(os.path.basename(path))

    def synced_dir(self, d: str) -> None:
        self.pending.pop(os.path.abspath(d), None)

    def durable(self, path: str, root: str) -> bool:
        """Whether every name from `root` down to `path` is durable."""
        path = os.path.abspath(path)
        while path != root and path != os.path.dirname(path):
            if os.path.basename(path) in self.pending.get(os.path.dirname(path), set()):
                return False
            path = os.path.dirname(path)
        return True


@pytest.fixture
def trace(monkeypatch: pytest.MonkeyPatch) -> Iterator[Trace]:
    t = Trace()
    real_open, real_mkdir, real_rename, real_fsync = os.open, os.mkdir, os.rename, os.fsync

    def op(path: str, flags: int, mode: int = 0o777, **kw: object) -> int:
        existed = os.path.exists(path)
        fd = real_open(path, flags, mode, **kw)  # type: ignore[arg-type]
        if flags & os.O_DIRECTORY:
            t.dir_fds[fd] = os.path.abspath(path)
        elif flags & os.O_CREAT and not existed:
            t.created(path)
        return fd

    def mk(path: str, mode: int = 0o777, **kw: object) -> None:
        real_mkdir(path, mode, **kw)  # type: ignore[arg-type]
        t.created(path)

    def rn(src: str, dst: str, **kw: object) -> None:
        real_rename(src, dst, **kw)  # type: ignore[arg-type]
        t.created(dst)

    def fs(fd: int) -> None:
        real_fsync(fd)
        if fd in t.dir_fds:
            t.synced_dir(t.dir_fds[fd])

    monkeypatch.setattr(os, "open", op)
    monkeypatch.setattr(os, "mkdir", mk)
    monkeypatch.setattr(os, "rename", rn)
    monkeypatch.setattr(os, "fsync", fs)
    yield t


def test_a_new_member_s_files_survive_a_power_cut_by_name(trace: Trace, tmp_path: Path) -> None:
    # The data dir does not exist yet: storage makes data/n1/member/{wal,snap} itself.
    data = tmp_path / "data" / "n1"
    disk = DiskStorage(str(data), segment_size=4096)
    disk.bootstrap(b"meta")
    disk.save(HardState(1, 1, 1), [Entry(1, 1, data=b"x" * 100)])
    disk.save_snapshot(Snapshot(SnapshotMeta(1, 1), b"state"))
    for i in range(2, 80):  # past one 4 KiB segment: a cut makes a new file
        disk.save(HardState(1, 1, i), [Entry(1, i, data=b"y" * 100)])
    wal_files = sorted((data / "member" / "wal").iterdir())
    snap_files = sorted((data / "member" / "snap").iterdir())
    disk.close()
    assert len(wal_files) >= 2 and snap_files
    root = str(tmp_path)
    for p in [*wal_files, *snap_files]:
        assert trace.durable(str(p), root), f"{p} (or a directory above it) was never made durable"
