"""DiskStorage: what the member calls, in etcd's data-dir layout, across restarts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from wal_helpers import SMALL_SEGMENT, entries, read_bytes, tail_path, wal_files, write_bytes

from shoal.raft.types import ConfState, HardState, Snapshot, SnapshotMeta
from shoal.wal import DiskStorage, WALLockedError


def snap(index: int, term: int = 1) -> Snapshot:
    return Snapshot(SnapshotMeta(index, term, ConfState((1,))), b"store@%d" % index)


def storage(root: Path, **kw: int) -> DiskStorage:
    return DiskStorage(str(root / "data"), segment_size=SMALL_SEGMENT, **kw)  # type: ignore[arg-type]


def test_layout_is_etcds_and_bootstrap_then_load_round_trips(tmp_path: Path) -> None:
    st = storage(tmp_path)
    assert not st.exists()
    st.bootstrap(b"id=1")
    assert st.exists()
    assert (tmp_path / "data/member/wal/0000000000000000-0000000000000000.wal").is_file()
    assert (tmp_path / "data/member/snap").is_dir()
    st.save(HardState(1, 1, 3), entries(1, 3))
    st.close()
    st = storage(tmp_path)
    loaded = st.load()
    st.close()
    assert loaded == (b"id=1", None, HardState(1, 1, 3), entries(1, 3))


def test_separate_wal_dir(tmp_path: Path) -> None:
    st = DiskStorage(str(tmp_path / "data"), str(tmp_path / "fastdisk/wal"))
    st.bootstrap(b"m")
    st.save(HardState(1, 1, 1), entries(1, 1))
    st.close()
    assert wal_files(str(tmp_path / "fastdisk/wal"))
    assert not (tmp_path / "data/member/wal").exists()
    st = DiskStorage(str(tmp_path / "data"), str(tmp_path / "fastdisk/wal"))
    assert st.load().entries == entries(1, 1)
    st.close()


def test_restart_recovers_snapshot_then_the_log_after_it(tmp_path: Path) -> None:
    st = storage(tmp_path)
    st.bootstrap(b"m")
    st.save(HardState(2, 1, 50), entries(1, 60, term=2))
    st.save_snapshot(snap(50, 2))
    st.save(HardState(2, 1, 70), entries(61, 70, term=2))
    st.close()
    st = storage(tmp_path)
    meta, snapshot, hs, ents = st.load()
    assert (meta, snapshot, hs) == (b"m", snap(50, 2), HardState(2, 1, 70))
    assert ents == entries(51, 70, term=2)
    st.save(None, entries(71, 71, term=2))  # and it goes on appending
    st.close()
    st = storage(tmp_path)
    assert st.load().entries == entries(51, 71, term=2)
    st.close()


def test_purge_bounds_files_and_keeps_what_a_restart_needs(tmp_path: Path) -> None:
    st = storage(tmp_path, max_snapshots=2, max_wals=2)
    st.bootstrap(b"m")
    for i in range(1, 1001, 50):
        st.save(HardState(1, 1, i + 49), entries(i, i + 49))
        if i % 200 == 1:
            st.save_snapshot(snap(i + 29))
        wal_dir = st.wal_dir
        assert len(st.snapshotter.names()) <= 2
        # Purge never deletes a segment the newest snapshot still needs, even past max-wals.
        st.close()
        st = storage(tmp_path, max_snapshots=2, max_wals=2)
        _, snapshot, _, ents = st.load()
        assert snapshot is not None
        assert ents == entries(snapshot.meta.index + 1, i + 49)
    st.purge()
    st.close()
    # Left: exactly the segments from the one holding the newest snapshot's index onwards, even
    # though that is more than --max-wals (they are still needed to replay the log).
    firsts = [int(n[17:33], 16) for n in wal_files(wal_dir)]
    assert len(firsts) > 2
    assert firsts[0] <= snapshot.meta.index < firsts[1]


def test_installed_snapshot_survives_a_crash_before_the_next_hard_state(tmp_path: Path) -> None:
    """A follower installs the leader's snapshot far past its own commit index and crashes
    before saving the Ready's hard state: it restarts from that snapshot, with old segments
    purged (only 1 kept), not from a log that no longer exists."""
    st = storage(tmp_path, max_wals=1, max_snapshots=1)
    st.bootstrap(b"m")
    st.save(HardState(1, 1, 10), entries(1, 100))  # several segments, commit only 10
    st.save_snapshot(snap(5000, 3))
    st.close()  # crash: the Ready's HardState(3, 0, 5000) was never saved
    assert wal_files(st.wal_dir)[0] != "0000000000000000-0000000000000000.wal"  # purged
    st = storage(tmp_path, max_wals=1, max_snapshots=1)
    _, snapshot, hs, ents = st.load()
    st.close()
    assert snapshot == snap(5000, 3)
    assert hs.commit == 5000
    assert ents == []


def test_snapshot_file_without_its_wal_marker_is_not_used(tmp_path: Path) -> None:
    """A crash between writing a snapshot file and its WAL marker: the file is ignored."""
    st = storage(tmp_path)
    st.bootstrap(b"m")
    st.save(HardState(1, 1, 40), entries(1, 40))
    st.save_snapshot(snap(20))
    st.snapshotter.save(snap(40))  # the marker never made it
    st.close()
    st = storage(tmp_path)
    _, snapshot, _, ents = st.load()
    st.close()
    assert snapshot == snap(20)
    assert ents == entries(21, 40)


def test_corrupt_newest_snapshot_falls_back_to_an_older_one(tmp_path: Path) -> None:
    st = storage(tmp_path, max_wals=0)
    st.bootstrap(b"m")
    st.save(HardState(1, 1, 40), entries(1, 40))
    st.save_snapshot(snap(20))
    st.save_snapshot(snap(40))
    st.close()
    newest = os.path.join(st.snap_dir, st.snapshotter.names()[-1])
    raw = bytearray(read_bytes(newest))
    raw[10] ^= 0xFF
    write_bytes(newest, bytes(raw))
    st = storage(tmp_path, max_wals=0)
    _, snapshot, _, ents = st.load()
    st.close()
    assert snapshot == snap(20)
    assert ents == entries(21, 40)
    assert os.path.exists(newest + ".broken")


def test_torn_tail_is_repaired_on_load_and_reported(tmp_path: Path) -> None:
    st = storage(tmp_path)
    st.bootstrap(b"m")
    st.save(HardState(1, 1, 5), entries(1, 5))
    st.close()
    path = tail_path(st.wal_dir)
    raw = read_bytes(path)
    write_bytes(path, raw[: len(raw.rstrip(b"\0")) - 7])
    st = storage(tmp_path)
    loaded = st.load()
    assert st.repair_note is not None and "torn write" in st.repair_note
    st.close()
    assert loaded.entries == entries(1, 5)


def test_a_second_process_cannot_open_the_same_data_dir(tmp_path: Path) -> None:
    st = storage(tmp_path)
    st.bootstrap(b"m")
    bad = os.path.join(st.snap_dir, "0000000000000001-0000000000000009.snap")
    write_bytes(bad, b"not a snapshot")
    code = (
        "import sys\n"
        "from shoal.wal import DiskStorage, WALLockedError\n"
        "try:\n"
        f"    DiskStorage({str(tmp_path / 'data')!r}).load()\n"
        "except WALLockedError as e:\n"
        "    print(e); sys.exit(3)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 3, out.stderr
    assert "locked by another process" in out.stdout
    assert os.path.exists(bad)  # the refused process touched nothing
    st.close()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    st2 = storage(tmp_path)
    st2.load()
    try:
        with pytest.raises(WALLockedError):
            storage(tmp_path).load()
    finally:
        st2.close()


def test_member_flow_restores_raft_memory_storage(tmp_path: Path) -> None:
    """What the member does: bootstrap as raft's MemoryStorage.bootstrap (snapshot at 1 holding
    the membership), persist Ready batches, snapshot and compact, restart, rebuild the same
    MemoryStorage from disk."""
    from shoal.raft.storage import MemoryStorage

    live = MemoryStorage()
    live.bootstrap(ConfState((1, 2, 3)), b"members")
    st = storage(tmp_path, max_wals=1, max_snapshots=1)
    st.bootstrap(b"node=1,cluster=9")
    st.save_snapshot(live.snap)
    st.save(live.hard_state, [])
    for first in range(2, 400, 20):
        batch = entries(first, first + 19, term=2)
        st.save(HardState(2, 1, first - 1), batch)  # persist, then hand to raft
        live.append(batch)
        live.set_hard_state(HardState(2, 1, first - 1))
        if first > 2 and first % 100 == 2:  # applied: snapshot and compact behind it
            live.create_snapshot(first - 1, None, b"store@%d" % (first - 1))
            live.compact(first - 1)
            st.save_snapshot(live.snap)
    st.close()

    st = storage(tmp_path, max_wals=1, max_snapshots=1)
    meta, snapshot, hs, ents = st.load()
    st.close()
    restored = MemoryStorage()
    assert snapshot is not None
    restored.apply_snapshot(snapshot)
    restored.set_hard_state(hs)
    restored.append(ents)
    assert meta == b"node=1,cluster=9"
    assert restored.snap == live.snap
    assert restored.initial_state() == live.initial_state()
    assert restored.first_index() == live.first_index()
    assert restored.last_index() == live.last_index()
    last = live.last_index() + 1
    assert restored.entries(live.first_index(), last) == live.entries(live.first_index(), last)
