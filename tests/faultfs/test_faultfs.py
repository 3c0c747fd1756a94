"""The fault file system as a program writing to it sees it: a real FUSE mount (skipped where FUSE
cannot run), written through, then power-cut, failed, filled or slowed from its control socket.

What a power cut must do is POSIX's rule: data survives once its file was fsynced, a name once
its directory was fsynced, and nothing else. The last tests put the member's storage on it.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal.faultfs.mount import FaultMount, available
from shoal.raft.types import Entry, HardState
from shoal.wal import files as wal_files
from shoal.wal import snap as wal_snap
from shoal.wal import storage as wal_storage
from shoal.wal import wal as wal_wal
from shoal.wal.storage import DiskStorage

pytestmark = pytest.mark.skipif(available() is not None, reason=f"no FUSE: {available()}")


@pytest.fixture
def fs(tmp_path: Path) -> Iterator[FaultMount]:
    with FaultMount(tmp_path / "backing", tmp_path / "mnt") as m:
        yield m
    assert not os.path.ismount(tmp_path / "mnt")


def write(path: Path, data: bytes, *, sync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def test_a_power_cut_keeps_exactly_what_was_synced(fs: FaultMount) -> None:
    m = fs.mountpoint
    write(m / "kept", b"synced data", sync=True)
    write(m / "empty", b"never synced", sync=False)
    sync_dir(m)  # both names are durable now; only kept's data is
    write(m / "nameless", b"synced data, unsynced name", sync=True)
    with open(m / "kept", "r+b") as f:
        f.write(b"OVERWRITTEN AND LONGER")  # not synced
    (m / "sub").mkdir()
    write(m / "sub" / "deep", b"x", sync=True)
    sync_dir(m / "sub")  # deep's name is durable in sub, but sub's own name is not

    rep = fs.cut()

    assert (m / "kept").read_bytes() == b"synced data"
    assert (m / "empty").read_bytes() == b""
    assert not (m / "nameless").exists()
    assert not (m / "sub").exists()
    assert "reverted" in rep


def test_unsynced_unlinks_and_renames_come_back(fs: FaultMount) -> None:
    m = fs.mountpoint
    write(m / "a", b"A", sync=True)
    write(m / "b", b"B", sync=True)
    write(m / "gone", b"G", sync=True)
    sync_dir(m)
    os.rename(m / "a", m / "b")  # replaces b
    os.unlink(m / "gone")
    assert sorted(os.listdir(m)) == ["b"]

    fs.cut()

    assert sorted(os.listdir(m)) == ["a", "b", "gone"]
    assert (m / "a").read_bytes() == b"A" and (m / "b").read_bytes() == b"B"
    # Made durable, the same changes stay.
    os.rename(m / "a", m / "b")
    os.unlink(m / "gone")
    sync_dir(m)
    fs.cut()
    assert sorted(os.listdir(m)) == ["b"] and (m / "b").read_bytes() == b"A"


def test_preallocated_space_is_given_back_and_costs_no_copy(fs: FaultMount) -> None:
    m = fs.mountpoint
    fd = os.open(m / "seg", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.posix_fallocate(fd, 0, 64 << 20)
        os.pwrite(fd, b"header", 0)
        os.fsync(fd)
        sync_dir(m)
        os.pwrite(fd, b"record", 6)  # into preallocated space, unsynced
        os.ftruncate(fd, 12)  # giving the space back (a WAL segment cut), unsynced
    finally:
        os.close(fd)
    fs.cut()
    st = os.stat(m / "seg")
    assert st.st_size == 64 << 20
    with open(m / "seg", "rb") as f:
        assert f.read(12) == b"header\0\0\0\0\0\0"


def test_eio_full_and_slow_fsyncs(fs: FaultMount) -> None:
    m = fs.mountpoint
    fd = os.open(m / "f", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.posix_fallocate(fd, 0, 4096)
        fs.command("eio fsync")
        os.pwrite(fd, b"data", 0)
        with pytest.raises(OSError) as e:
            os.fsync(fd)
        assert e.value.errno == errno.EIO
        fs.command("eio write")
        with pytest.raises(OSError) as e:
            os.pwrite(fd, b"data", 0)
        assert e.value.errno == errno.EIO
        fs.command("eio off")

        fs.command("full on")
        os.pwrite(fd, b"fits", 100)  # inside allocated space: a full disk still takes it
        with pytest.raises(OSError) as e:
            os.pwrite(fd, b"grows", 4094)
        assert e.value.errno == errno.ENOSPC
        with pytest.raises(OSError) as e:
            os.open(m / "new", os.O_RDWR | os.O_CREAT, 0o600)
        assert e.value.errno == errno.ENOSPC
        fs.command("full off")
        os.pwrite(fd, b"grows", 4094)

        fs.command("delay 150 200")
        t0 = time.monotonic()
        os.fsync(fd)
        assert time.monotonic() - t0 >= 0.14
        fs.command("delay 0 0")
    finally:
        os.close(fd)
    stats = fs.command("stats")
    assert "eio=2" in stats and "enospc=2" in stats, stats
    with pytest.raises(Exception, match="unknown command"):
        fs.command("explode")


def _member_storage(data: Path) -> DiskStorage:
    disk = DiskStorage(str(data), segment_size=8192)
    disk.bootstrap(b"meta")
    for i in range(1, 120):  # several segments: cuts create and rename files
        disk.save(HardState(1, 1, i - 1), [Entry(1, i, data=b"v%d" % i)])
    disk.close()
    return disk


def test_member_storage_keeps_every_saved_entry_across_a_power_cut(fs: FaultMount) -> None:
    data = fs.mountpoint / "data"  # does not exist yet: storage makes it
    _member_storage(data)
    fs.cut()
    st = DiskStorage(str(data), segment_size=8192).load()
    assert [e.index for e in st.entries] == list(range(1, 120))
    assert st.entries[-1].data == b"v119"


def test_without_directory_fsyncs_a_power_cut_loses_the_member(
    fs: FaultMount, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bug the storage fix removed, planted: the power cut catches it.
    for mod in (wal_files, wal_wal, wal_snap, wal_storage):
        monkeypatch.setattr(mod, "fsync_dir", lambda path: None)
    data = fs.mountpoint / "data"
    _member_storage(data)
    fs.cut()
    assert not DiskStorage(str(data)).exists()
