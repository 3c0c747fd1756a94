"""Power loss, modelled: whatever a crash leaves of the writes since the last fsync, the WAL opens
(never refusing a log a power cut can produce) and keeps every entry acknowledged before it.

The model: writes are appends. At the crash, bytes up to the last fsync are on disk; of the later
bytes, each 512-byte sector independently either reached the disk or still holds its old content
(zeros past the synced end: preallocated or sparse); without preallocation the file size may be
anything from the synced size to the full size.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import pytest
from wal_helpers import entries, read_bytes, tail_path, write_bytes

from shoal.raft.types import Entry, HardState
from shoal.wal import WAL
from shoal.wal.record import SECTOR

SEG = 1 << 20  # no segment cut in these logs: one file to damage


@dataclass
class Op:
    end: int  # tail offset once the op returned
    synced: bool
    entries: int  # entries in the log once the op returned
    state: HardState


def build(d: str, rng: random.Random, prealloc: bool) -> tuple[list[Op], list[Entry], int]:
    w = WAL.create(d, b"m", segment_size=SEG, preallocate_segments=prealloc)
    start = w.tail_offset
    ops: list[Op] = []
    log: list[Entry] = []
    term, commit = 1, 0
    for _ in range(40):
        kind = rng.random()
        if kind < 0.6:
            batch = entries(len(log) + 1, len(log) + rng.randint(1, 25), term=term)
            log += batch
            hs = HardState(term, 1, commit)
            w.save(hs, batch)
            ops.append(Op(w.tail_offset, True, len(log), hs))
        elif kind < 0.9:
            commit = min(len(log), commit + rng.randint(1, 10))
            hs = HardState(term, 1, commit)
            w.save(hs, [])  # commit-only: written, not synced
            ops.append(Op(w.tail_offset, False, len(log), hs))
        else:
            term += 1
            hs = HardState(term, 0, commit)
            w.save(hs, [])  # a new term: synced
            ops.append(Op(w.tail_offset, True, len(log), hs))
    w.close()
    return ops, log, start


def crash_image(
    full: bytes, synced_end: int, end: int, rng: random.Random, prealloc: bool
) -> bytes:
    size = end if prealloc else rng.randint(synced_end, end)
    img = bytearray(full[:synced_end]) + bytearray(size - synced_end)
    sector = synced_end - synced_end % SECTOR
    while sector < size:
        if rng.random() < 0.5:  # this sector of the unsynced write reached the disk
            lo, hi = max(sector, synced_end), min(sector + SECTOR, size)
            img[lo:hi] = full[lo:hi]
        sector += SECTOR
    return bytes(img)


@pytest.mark.parametrize("seed", range(4))
def test_any_power_loss_image_opens_with_every_acknowledged_entry(
    tmp_path: Path, seed: int, prealloc: bool
) -> None:
    rng = random.Random(seed)
    d = str(tmp_path / "wal")
    ops, log, start = build(d, rng, prealloc)
    path = tail_path(d)
    full = read_bytes(path)[: ops[-1].end]
    states = {(0, 0, 0)} | {(op.state.term, op.state.vote, op.state.commit) for op in ops}
    for _ in range(50):
        crash_at = rng.randrange(len(ops))  # the op in progress when the power went
        synced_end, acked = start, 0
        for op in ops[:crash_at]:
            if op.synced:
                synced_end = op.end
            acked = op.entries
        image = crash_image(full, synced_end, ops[crash_at].end, rng, prealloc)
        write_bytes(path, image)
        if prealloc:  # the rest of the segment: reserved, reading as zeros
            fd = os.open(path, os.O_RDWR)
            os.posix_fallocate(fd, 0, SEG)
            os.close(fd)
        w, _, hs, ents = WAL.open(d, segment_size=SEG, preallocate_segments=prealloc)
        w.close()
        assert len(ents) >= acked, f"lost acknowledged entries (crash in op {crash_at})"
        assert ents == log[: len(ents)]
        assert (hs.term, hs.vote, hs.commit) in states
    os.unlink(path)
