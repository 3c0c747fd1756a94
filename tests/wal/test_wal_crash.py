"""Crash safety: a torn write at the end is cut off; damage anywhere else is refused by name.

A crash can leave the last write half on disk: the file cut short, or whole sectors of it never
written (reading as zeros). Nothing in that write was acknowledged (its fsync never returned), so
the WAL drops it and carries on. Damage before the end means acknowledged records may be gone:
the WAL refuses to open and says which file, which byte offset, and what to do.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from wal_helpers import entries, read_bytes, tail_path, wal_files, write_bytes

from shoal.raft.codec import encode_entry, encode_hard_state
from shoal.raft.types import Entry, HardState
from shoal.wal import WAL, CorruptWALError
from shoal.wal.record import SECTOR, SegmentReader, frame_size

SEG = 1 << 20  # large enough that these tests never cut a segment


class Log:
    """A template log: batches 1..20 synced, then a last batch (entry 21 + hard state)."""

    def __init__(self, root: Path, prealloc: bool) -> None:
        self.dir = str(root / "template")
        self.prealloc = prealloc
        w = WAL.create(self.dir, b"m", segment_size=SEG, preallocate_segments=prealloc)
        for i in range(1, 21):
            w.save(HardState(1, 1, i - 1), entries(i, i))
        self.batch_start = w.tail_offset
        self.last_entry = entries(21, 21)[0]
        w.save(HardState(2, 1, 20), [self.last_entry])
        self.end = w.tail_offset
        w.close()
        entry_len = len(encode_entry(self.last_entry))
        state_len = len(encode_hard_state(HardState(2, 1, 20)))
        self.entry_end = self.batch_start + frame_size(entry_len)
        assert self.end == self.entry_end + frame_size(state_len)
        # A record is whole once its data is; the zero padding after it may be missing.
        self.entry_data_end = self.batch_start + frame_size(0) + entry_len
        self.state_data_end = self.entry_end + frame_size(0) + state_len
        self.path = tail_path(self.dir)
        with open(self.path, "rb") as f:
            self.bytes = f.read()

    def copy(self, dest: Path, content: bytes) -> str:
        d = str(dest)
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(self.dir, d)
        with open(os.path.join(d, os.path.basename(self.path)), "wb") as f:
            f.write(content)
        return d

    def open(self, d: str) -> tuple[WAL, HardState, list[Entry]]:
        w, _, hs, ents = WAL.open(d, segment_size=SEG, preallocate_segments=self.prealloc)
        return w, hs, ents


def test_torn_last_write_is_cut_at_every_byte(tmp_path: Path, prealloc: bool) -> None:
    log = Log(tmp_path, prealloc)
    synced = entries(1, 20)
    for cut in range(log.batch_start, log.end + 1):
        d = log.copy(tmp_path / "cut", log.bytes[:cut])
        w, hs, ents = log.open(d)
        whole_entry = cut >= log.entry_data_end
        whole_state = cut >= log.state_data_end
        assert ents == synced + ([log.last_entry] if whole_entry else []), cut
        assert hs == (HardState(2, 1, 20) if whole_state else HardState(1, 1, 19)), cut
        clean = cut == log.batch_start or log.entry_data_end <= cut <= log.entry_end or whole_state
        assert (w.repair_note is None) == clean, cut
        if w.repair_note:
            assert "torn write" in w.repair_note and d in w.repair_note
        # The repaired log takes new writes and reads back cleanly.
        new = Entry(3, len(ents) + 1, data=b"after the crash")
        w.save(HardState(3, 1, 20), [new])
        w.close()
        w, hs, ents2 = log.open(d)
        w.close()
        assert ents2 == [*ents, new], cut
        assert hs == HardState(3, 1, 20)


def test_unwritten_sectors_of_the_last_write_are_a_torn_write(tmp_path: Path) -> None:
    """Power loss: some sectors of the last (unsynced) write never reached the disk and read as
    zeros, even ones before sectors that did. The whole write is dropped, nothing is refused."""
    d0 = str(tmp_path / "template")
    w = WAL.create(d0, b"m", segment_size=SEG)
    w.save(HardState(1, 1, 0), entries(1, 10))
    start = w.tail_offset
    w.save(HardState(2, 1, 10), entries(11, 40, term=2))  # several sectors
    end = w.tail_offset
    w.close()
    raw = read_bytes(tail_path(d0))
    first = start - start % SECTOR
    sectors = range(first, end, SECTOR)
    assert len(sectors) >= 6
    for lost in sectors:
        damaged = bytearray(raw)
        # A lost sector keeps what it held before the write: the synced bytes before `start`.
        lo = max(lost, start)
        damaged[lo : lost + SECTOR] = bytes(lost + SECTOR - lo)
        d = str(tmp_path / "lost")
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(d0, d)
        write_bytes(tail_path(d), bytes(damaged))
        w, _, hs, ents = WAL.open(d, segment_size=SEG)
        w.close()
        assert ents[:10] == entries(1, 10), lost
        assert ents[10:] == entries(11, 40, term=2)[: len(ents) - 10]
        assert len(ents) < 40, lost
        assert hs == HardState(1, 1, 0)


def _record_starts(path: str) -> list[int]:
    return [r[0] for r in SegmentReader(read_bytes(path), None)]


@pytest.mark.parametrize("which", ["older batch", "same batch as later records"])
def test_flipped_byte_before_the_end_is_refused_naming_file_and_offset(
    tmp_path: Path, which: str
) -> None:
    d0 = str(tmp_path / "template")
    w = WAL.create(d0, b"m", segment_size=SEG, preallocate_segments=False)
    if which == "older batch":
        for i in range(1, 11):
            w.save(HardState(1, 1, i), entries(i, i))
    else:
        w.save(HardState(1, 1, 10), entries(1, 10))  # one write: damage, then valid records
    w.close()
    path0 = tail_path(d0)
    raw = read_bytes(path0)
    starts = _record_starts(path0)
    victim = len(starts) // 2
    lo, hi = starts[victim], starts[victim + 1]
    for pos in range(lo, hi):
        damaged = bytearray(raw)
        damaged[pos] ^= 0xFF
        d = str(tmp_path / "flip")
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(d0, d)
        write_bytes(tail_path(d), bytes(damaged))
        try:
            w, _, _, ents = WAL.open(d, segment_size=SEG)
        except CorruptWALError as err:
            assert err.path == tail_path(d)
            assert err.offset == lo, pos
            assert f"{tail_path(d)} at byte offset {lo}" in str(err)
            assert "etcdctl member remove" in str(err)  # says what to do
            assert read_bytes(tail_path(d)) == bytes(damaged)  # nothing was changed
        else:
            # Only the zero padding after a record's data is unchecked: nothing is lost then.
            w.close()
            assert ents == entries(1, 10)
            pad_start = lo + frame_size(0) + _data_len(raw, lo)
            assert pos >= pad_start, f"flip at {pos} (record {lo}..{hi}) was not detected"


def _data_len(raw: bytes, offset: int) -> int:
    return int.from_bytes(raw[offset : offset + 4], "little")


def test_garbage_in_the_middle_is_refused(tmp_path: Path) -> None:
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"m", segment_size=SEG)
    for i in range(1, 11):
        w.save(HardState(1, 1, i), entries(i, i))
    w.close()
    path = tail_path(d)
    starts = _record_starts(path)
    with open(path, "r+b") as f:
        f.seek(starts[8] + 3)
        f.write(os.urandom(40))
    with pytest.raises(CorruptWALError, match="at byte offset") as err:
        WAL.open(d, segment_size=SEG)
    assert err.value.offset in (starts[8], starts[9])


def test_damage_in_an_older_segment_is_refused_even_at_its_end(tmp_path: Path) -> None:
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"m", segment_size=4096)
    w.save(HardState(1, 1, 0), entries(1, 100))
    w.save(HardState(1, 1, 0), entries(101, 200))
    w.close()
    older = os.path.join(d, wal_files(d)[0])
    size = os.path.getsize(older)
    os.truncate(older, size - 5)  # looks like a torn tail, but a newer segment follows
    with pytest.raises(CorruptWALError) as err:
        WAL.open(d)
    assert err.value.path == older


def test_damaged_last_record_with_nothing_after_it_is_treated_as_torn(tmp_path: Path) -> None:
    """Nothing on disk can tell a flipped byte in the very last record from a torn write of it;
    it was the last write, so the WAL cuts it off (with a note) rather than refuse to start."""
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"m", segment_size=SEG)
    w.save(HardState(1, 1, 0), entries(1, 5))
    w.close()
    path = tail_path(d)
    last = _record_starts(path)[-1]
    with open(path, "r+b") as f:
        f.seek(last + 17)  # inside the data of the last record
        f.write(b"\xff")
    w, _, hs, ents = WAL.open(d, segment_size=SEG)
    w.close()
    assert ents == entries(1, 5)
    assert hs == HardState()  # the hard state was the last record
    assert w.repair_note is not None


def test_zeroed_sector_before_later_synced_writes_is_refused(tmp_path: Path) -> None:
    """A lost sector looks like a torn write, but writes synced after it prove it had been
    synced (and acknowledged): that is corruption, refused rather than silently cut off."""
    d = str(tmp_path / "wal")
    w = WAL.create(d, b"m", segment_size=SEG, preallocate_segments=False)
    for i in range(1, 41):
        w.save(HardState(1, 1, i), entries(i, i))
    w.close()
    path = tail_path(d)
    starts = _record_starts(path)
    raw = bytearray(read_bytes(path))
    lost = 4 * SECTOR
    raw[lost : lost + SECTOR] = bytes(SECTOR)
    write_bytes(path, bytes(raw))
    with pytest.raises(CorruptWALError) as err:
        WAL.open(d, segment_size=SEG)
    ends = [*starts[1:], len(raw)]
    assert err.value.offset == next(s for s, e in zip(starts, ends, strict=True) if e > lost)
    assert read_bytes(path) == bytes(raw)  # refused: nothing cut
