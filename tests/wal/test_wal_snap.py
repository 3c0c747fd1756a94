"""Snapshot files: named term-index, checksummed, corrupt ones renamed .broken and skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from wal_helpers import read_bytes, write_bytes

from shoal.raft.types import ConfState, Snapshot, SnapshotMeta
from shoal.wal import Snapshotter
from shoal.wal.errors import WALError


def snap(index: int, term: int, data: bytes = b"") -> Snapshot:
    return Snapshot(SnapshotMeta(index, term, ConfState((1, 2, 3), (4,))), data or b"s%d" % index)


def test_save_then_load_round_trips_under_etcds_file_name(tmp_path: Path) -> None:
    s = Snapshotter(str(tmp_path / "snap"))
    path = s.save(snap(0x1234, 7, b"x" * 100_000))
    assert path is not None
    assert os.path.basename(path) == "0000000000000007-0000000000001234.snap"
    assert s.load_newest() == snap(0x1234, 7, b"x" * 100_000)
    assert os.listdir(tmp_path / "snap") == ["0000000000000007-0000000000001234.snap"]


def test_empty_snapshot_is_not_written(tmp_path: Path) -> None:
    s = Snapshotter(str(tmp_path / "snap"))
    assert s.save(Snapshot()) is None
    assert s.load_newest() is None


def test_newest_wins_and_corrupt_ones_are_renamed_broken(tmp_path: Path) -> None:
    d = tmp_path / "snap"
    s = Snapshotter(str(d))
    for i in (10, 20, 30, 40):
        s.save(snap(i, 2))
    # 40: a flipped byte; 30: cut short; 20: content does not match its name.
    p40, p30, p20 = (str(d / f"0000000000000002-{i:016x}.snap") for i in (40, 30, 20))
    raw = bytearray(read_bytes(p40))
    raw[-3] ^= 1
    write_bytes(p40, bytes(raw))
    write_bytes(p30, read_bytes(p30)[:5])
    os.replace(str(d / f"0000000000000002-{10:016x}.snap"), p20)
    s.save(snap(10, 2))
    assert s.load_newest() == snap(10, 2)
    assert sorted(os.listdir(d)) == [
        f"0000000000000002-{10:016x}.snap",
        f"0000000000000002-{20:016x}.snap.broken",
        f"0000000000000002-{30:016x}.snap.broken",
        f"0000000000000002-{40:016x}.snap.broken",
    ]


def test_files_the_log_does_not_know_are_skipped_but_kept(tmp_path: Path) -> None:
    s = Snapshotter(str(tmp_path / "snap"))
    s.save(snap(10, 1))
    s.save(snap(20, 1))  # say the crash came before its WAL marker
    assert s.load_newest(valid={(10, 1)}) == snap(10, 1)
    assert len(s.names()) == 2
    assert s.load_newest(valid=set()) is None


def test_purge_keeps_the_newest_max_snapshots(tmp_path: Path) -> None:
    s = Snapshotter(str(tmp_path / "snap"))
    for i in range(1, 9):
        s.save(snap(i * 100, 1))
    assert s.purge(0) == []
    assert len(s.names()) == 8
    removed = s.purge(3)
    assert len(removed) == 5
    assert [int(n[17:33], 16) for n in s.names()] == [600, 700, 800]


def test_interrupted_save_leaves_no_snapshot(tmp_path: Path) -> None:
    d = tmp_path / "snap"
    s = Snapshotter(str(d))
    s.save(snap(5, 1))
    write_bytes(str(d / "0000000000000001-0000000000000009.snap.tmp"), b"half")
    assert s.load_newest() == snap(5, 1)
    assert not any(n.endswith(".tmp") for n in os.listdir(d))


def test_a_snapshot_that_cannot_be_written_is_one_error_naming_the_file(tmp_path: Path) -> None:
    snap_dir = tmp_path / "snap"
    snap_dir.mkdir()
    # Modes do not stop root: a directory where the temporary file goes makes the open fail.
    (snap_dir / "0000000000000001-0000000000000005.snap.tmp").mkdir()
    with pytest.raises(WALError) as e:
        Snapshotter(str(snap_dir)).save(Snapshot(SnapshotMeta(5, 1), b"data"))
    msg = str(e.value)
    assert "0000000000000001-0000000000000005.snap failed" in msg
    assert "the log and older snapshots are intact" in msg
    assert Snapshotter(str(snap_dir)).names() == []
