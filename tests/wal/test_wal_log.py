"""The WAL keeps what was saved and gives it back after a restart, as etcd's wal package does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from wal_helpers import SMALL_SEGMENT, entries, read_bytes, tail_path, wal_files, write_bytes

from shoal.raft.codec import decode_hard_state
from shoal.raft.types import Entry, HardState
from shoal.wal import (
    WAL,
    CorruptWALError,
    MetadataConflictError,
    SnapshotMismatchError,
    SnapshotNotFoundError,
    WALClosedError,
    WALExistsError,
    WALLockedError,
    WALNotFoundError,
    purge_segments,
    read_all,
    read_snapshot_markers,
)
from shoal.wal.record import CRC, METADATA, STATE, SegmentReader


def test_create_then_open_returns_metadata_and_nothing_else(tmp_path: Path) -> None:
    d = str(tmp_path / "wal")
    WAL.create(d, b"node=1 cluster=2").close()
    assert wal_files(d) == ["0000000000000000-0000000000000000.wal"]
    w, meta, hs, ents = WAL.open(d)
    w.close()
    assert meta == b"node=1 cluster=2"
    assert hs == HardState()
    assert ents == []


def test_saved_entries_and_hard_state_survive_restart(tmp_path: Path, prealloc: bool) -> None:
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"m", preallocate_segments=prealloc)
    w.save(HardState(1, 3, 0), entries(1, 5))
    w.save(HardState(2, 3, 4), entries(6, 10, term=2))
    w.save(HardState(2, 3, 9), [])  # commit-only: written, not synced (as etcd)
    w.close()
    w, _, hs, ents = WAL.open(d, preallocate_segments=prealloc)
    assert hs == HardState(2, 3, 9)
    assert ents == entries(1, 5) + entries(6, 10, term=2)
    # Appending continues the same log.
    w.save(None, entries(11, 12, term=2))
    w.close()
    w, _, hs, ents = WAL.open(d)
    w.close()
    assert [e.index for e in ents] == list(range(1, 13))
    assert hs == HardState(2, 3, 9)


def test_open_after_snapshot_returns_only_later_entries(tmp_path: Path) -> None:
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"m")
    w.save(HardState(1, 1, 8), entries(1, 10))
    w.save_snapshot_marker(8, 1)
    w.save(HardState(1, 1, 12), entries(11, 12))
    w.close()
    w, _, hs, ents = WAL.open(d, (8, 1))
    w.close()
    assert [e.index for e in ents] == [9, 10, 11, 12]
    assert hs.commit == 12


def test_later_entry_at_same_index_replaces_the_suffix(tmp_path: Path) -> None:
    """Raft: a new leader's entry at index i overwrites i and everything after it."""
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"m")
    w.save(HardState(1, 1, 2), entries(1, 10, term=1))
    w.save(HardState(2, 2, 2), entries(6, 7, term=2))
    w.close()
    w, _, _, ents = WAL.open(d)
    w.close()
    assert ents == entries(1, 5, term=1) + entries(6, 7, term=2)


def test_overwrite_below_the_snapshot_start_is_ignored_and_gap_refused(tmp_path: Path) -> None:
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"m")
    w.save(HardState(1, 1, 5), entries(1, 5))
    w.save_snapshot_marker(3, 1)
    w.save(HardState(2, 1, 5), entries(4, 6, term=2))
    w.close()
    w, _, _, ents = WAL.open(d, (3, 1))
    w.close()
    assert ents == entries(4, 6, term=2)


def test_snapshot_marker_must_exist_and_match(tmp_path: Path) -> None:
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"m")
    w.save(HardState(1, 1, 5), entries(1, 5))
    w.save_snapshot_marker(5, 1)
    w.close()
    with pytest.raises(SnapshotNotFoundError, match="index 4"):
        WAL.open(d, (4, 1))
    with pytest.raises(SnapshotMismatchError, match="term 1, not 7"):
        WAL.open(d, (5, 7))
    w, *_ = WAL.open(d, (5, 1))  # the failed opens released their locks
    w.close()


def test_segments_rotate_and_are_read_across(tmp_path: Path, prealloc: bool) -> None:
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"meta", segment_size=SMALL_SEGMENT, preallocate_segments=prealloc)
    for i in range(1, 301, 10):
        w.save(HardState(1, 1, i), entries(i, i + 9))
    w.close()
    names = wal_files(d)
    assert len(names) > 5
    # etcd's names: sequence, then the first index the segment may hold.
    seqs = [int(n[:16], 16) for n in names]
    firsts = [int(n[17:33], 16) for n in names]
    assert seqs == list(range(len(names)))
    assert firsts == sorted(firsts)
    for n in names[:-1]:  # closed segments are cut to their contents
        assert os.path.getsize(os.path.join(d, n)) < SMALL_SEGMENT + 2000
    w, meta, hs, ents = WAL.open(d, segment_size=SMALL_SEGMENT)
    w.close()
    assert meta == b"meta"
    assert ents == entries(1, 300)
    assert hs == HardState(1, 1, 291)


def test_each_segment_starts_with_the_latest_hard_state(tmp_path: Path) -> None:
    """A segment can be read without its predecessors (they may have been purged)."""
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"meta", segment_size=SMALL_SEGMENT)
    w.save(HardState(3, 2, 1), entries(1, 100))  # cut: segment 1 starts at index 101
    w.save(None, entries(101, 160))  # cut: segment 2 starts at index 161
    w.save(HardState(3, 2, 150), [])
    w.save_snapshot_marker(150, 3)
    w.close()
    assert len(wal_files(d)) == 3
    for name in wal_files(d)[1:]:
        head = list(SegmentReader(read_bytes(os.path.join(d, name)), None))[:3]
        assert [r[1] for r in head] == [CRC, METADATA, STATE]
        assert head[1][3] == b"meta"
        assert decode_hard_state(head[2][3]) == HardState(3, 2, 1)
    os.unlink(os.path.join(d, wal_files(d)[0]))
    w, meta, hs, ents = WAL.open(d, (150, 3))
    w.close()
    assert (meta, hs, ents) == (b"meta", HardState(3, 2, 150), entries(151, 160))


def test_marker_before_a_cut_is_found_when_opening_at_it(tmp_path: Path) -> None:
    """A follower that installs a snapshot far ahead of its log, then cuts a segment."""
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"m", segment_size=SMALL_SEGMENT)
    w.save(HardState(1, 1, 3), entries(1, 3))
    w.save_snapshot_marker(5000, 4)
    w.save(HardState(4, 0, 5000), entries(5001, 5100, term=4))
    w.close()
    assert len(wal_files(d)) > 1
    w, _, _, ents = WAL.open(d, (5000, 4))
    w.close()
    assert ents == entries(5001, 5100, term=4)


def test_release_lock_and_purge_keep_segments_still_needed(tmp_path: Path) -> None:
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"m", segment_size=SMALL_SEGMENT)
    for i in range(1, 401, 20):
        w.save(HardState(1, 1, i + 19), entries(i, i + 19))
    n_before = len(wal_files(d))
    # Everything is locked by the open WAL: nothing can be purged.
    assert purge_segments(d, 1) == []
    w.save_snapshot_marker(250, 1)
    w.release_lock_to(250)
    removed = w.purge(1)
    assert removed and len(wal_files(d)) == n_before - len(removed)
    w.save(None, entries(401, 402))
    w.close()
    # What is left still replays the log after the snapshot.
    w, _, _, ents = WAL.open(d, (250, 1), segment_size=SMALL_SEGMENT)
    w.close()
    assert ents == entries(251, 402)
    # Without a lock holder, purge keeps exactly max_wals files.
    purge_segments(d, 2)
    assert len(wal_files(d)) == 2


def test_purge_zero_keeps_everything(tmp_path: Path) -> None:
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"m", segment_size=SMALL_SEGMENT)
    w.save(None, entries(1, 200))
    w.close()
    n = len(wal_files(d))
    assert purge_segments(d, 0) == []
    assert len(wal_files(d)) == n


def test_second_open_is_refused_while_locked(tmp_path: Path) -> None:
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"m")
    with pytest.raises(WALLockedError, match="locked by another process"):
        WAL.open(d)
    w.close()
    w2, *_ = WAL.open(d)
    with pytest.raises(WALLockedError):
        WAL.open(d)
    w2.close()


def test_create_refuses_an_existing_wal_and_open_a_missing_one(tmp_path: Path) -> None:
    d = str(tmp_path / "wal")
    with pytest.raises(WALNotFoundError):
        WAL.open(d)
    WAL.create(d, b"m").close()
    with pytest.raises(WALExistsError):
        WAL.create(d, b"m")
    empty = tmp_path / "premade"
    empty.mkdir()
    WAL.create(str(empty), b"m").close()  # an empty directory made beforehand is fine
    assert not (tmp_path / "premade.tmp").exists()


def test_segment_from_another_log_is_refused(tmp_path: Path) -> None:
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    for d, meta in ((a, b"cluster-a"), (b, b"cluster-b")):
        w = WAL.create(d, meta, segment_size=SMALL_SEGMENT)
        w.save(None, entries(1, 100))
        w.close()
    name = wal_files(a)[1]
    os.replace(os.path.join(b, wal_files(b)[1]), os.path.join(a, name))
    with pytest.raises(CorruptWALError, match="checksum chain broken") as err:
        WAL.open(a)
    assert err.value.path == os.path.join(a, name)
    assert err.value.offset == 0


def test_conflicting_metadata_is_refused(tmp_path: Path) -> None:
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"cluster-a", segment_size=SMALL_SEGMENT)
    w._metadata = b"cluster-b"  # simulate a bug: the next segment carries other metadata
    w.save(None, entries(1, 100))
    w.close()
    with pytest.raises(MetadataConflictError, match="differs"):
        WAL.open(d)


def test_closed_wal_refuses_writes(tmp_path: Path) -> None:
    w = WAL.create(str(tmp_path / "wal"), b"m")
    w.close()
    w.close()
    with pytest.raises(WALClosedError):
        w.save(None, [Entry(1, 1)])


def test_marker_scan_lists_every_snapshot_marker(tmp_path: Path) -> None:
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"m", segment_size=SMALL_SEGMENT)
    w.save(HardState(1, 1, 100), entries(1, 100))
    w.save_snapshot_marker(50, 1)
    w.save_snapshot_marker(100, 1)
    w.close()
    scan = read_snapshot_markers(d)
    assert scan.markers == [(0, 0), (50, 1), (100, 1)]
    assert scan.hard_state == HardState(1, 1, 100)


def test_read_all_looks_without_locking_or_repairing(tmp_path: Path) -> None:
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"m", segment_size=SMALL_SEGMENT)
    w.save(HardState(1, 1, 50), entries(1, 60))
    w.save_snapshot_marker(50, 1)
    # The writer is running: a reader still sees everything it saved.
    assert read_all(d, (50, 1)) == (b"m", HardState(1, 1, 50), entries(51, 60))
    w.close()
    path = tail_path(d)
    raw = read_bytes(path).rstrip(b"\0")
    write_bytes(path, raw[:-5])  # torn: skipped, and the file is left as it is
    _, hs, ents = read_all(d)
    assert ents == entries(1, 60) and hs == HardState(1, 1, 50)
    assert read_bytes(path) == raw[:-5]


def test_group_commit_one_write_and_at_most_one_fsync_per_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shoal.wal.wal as walmod

    calls: list[str] = []
    real_write, real_sync = walmod.write_all, walmod.datasync

    def write_all(fd: int, data: bytes | bytearray | memoryview, offset: int) -> None:
        calls.append("write")
        real_write(fd, data, offset)

    def datasync(fd: int) -> None:
        calls.append("sync")
        real_sync(fd)

    monkeypatch.setattr(walmod, "write_all", write_all)
    monkeypatch.setattr(walmod, "datasync", datasync)
    w = WAL.create(str(tmp_path / "wal"), b"m")
    calls.clear()
    w.save(HardState(1, 1, 0), entries(1, 256))
    assert calls == ["write", "sync"]
    calls.clear()
    w.save(HardState(1, 1, 200), [])  # commit-only: raft does not need it durable
    assert calls == ["write"]
    calls.clear()
    w.save(HardState(2, 0, 200), [])  # a new term must be durable before any vote is cast
    assert calls == ["write", "sync"]
    calls.clear()
    w.save(None, [])
    assert calls == []
    w.close()
