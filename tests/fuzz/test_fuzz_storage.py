"""Hostile bytes in a member's data dir: any damage to a WAL segment or a snapshot file ends in
one of the storage's own errors naming the file (never another exception), and what is read
back is never something that was not written."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from fuzz_wire import EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.raft.types import Entry, HardState, Snapshot, SnapshotMeta
from shoal.wal import WAL, Snapshotter
from shoal.wal.errors import WALError
from shoal.wal.facts import wal_name
from shoal.wal.snap import BrokenSnapshotError, decode_snapshot_file

FUZZ = settings(
    max_examples=EXAMPLES * 4,  # no process to talk to: these are cheap
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

WRITTEN = [Entry(1, i, data=b"entry %d" % i) for i in range(1, 41)]


def _valid_segment() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        w = WAL.create(d + "/wal", b"meta", preallocate_segments=False)
        for e in WRITTEN:
            w.save(HardState(1, 1, e.index), [e])
        w.close()
        return (Path(d) / "wal" / wal_name(0, 0)).read_bytes()


VALID = _valid_segment()


def _open(raw: bytes) -> list[Entry] | None:
    """Entries WAL.open reads from a segment holding `raw`; None when it refused (WALError)."""
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / wal_name(0, 0)).write_bytes(raw)
        try:
            r = WAL.open(d, preallocate_segments=False)
        except WALError as e:
            assert wal_name(0, 0) in str(e) or "wal:" in str(e)
            return None
        r.wal.close()
        return r.entries


@FUZZ
@given(raw=st.binary(max_size=2000))
def test_any_bytes_as_a_segment(raw: bytes) -> None:
    _open(raw)


@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=4
    ),
    cut=st.integers(0, len(VALID)),
)
def test_a_damaged_segment_reads_back_only_what_was_written(
    edits: list[tuple[int, int]], cut: int
) -> None:
    raw = bytearray(VALID)
    for pos, byte in edits:
        raw[pos] = byte
    got = _open(bytes(raw[:cut]))
    if got is not None:
        # Whatever it keeps is a prefix of the log as written, entry for entry.
        assert got == WRITTEN[: len(got)]


@FUZZ
@given(raw=st.binary(max_size=500))
def test_any_bytes_as_a_snapshot_file(raw: bytes) -> None:
    # Refused as broken, or decoded: any other exception is a crash of the loader.
    with contextlib.suppress(BrokenSnapshotError):
        decode_snapshot_file(raw)


@FUZZ
@given(pos=st.integers(0, 10_000), xor=st.integers(1, 255))
def test_a_damaged_newest_snapshot_falls_back_to_the_older_one(pos: int, xor: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        s = Snapshotter(d)
        old = Snapshot(SnapshotMeta(10, 1), b"older state" * 50)
        new = Snapshot(SnapshotMeta(20, 1), b"newer state" * 50)
        s.save(old)
        path = Path(s.save(new) or "")
        raw = bytearray(path.read_bytes())
        raw[pos % len(raw)] ^= xor
        path.write_bytes(bytes(raw))
        got = s.load_newest()
        assert got is not None and got.meta.index == 10 and got.data == old.data
        assert (path.parent / (path.name + ".broken")).exists()
