"""WAL group-commit micro-benchmark: what one `WAL.save` per Ready batch costs on this disk.

    .venv/bin/python bench/wal_fsync.py [--seconds S] [--size BYTES] [--batches 1,16,256]
                                        [--dir DIR] [--no-prealloc] [--segment-mib N]

For each batch size B: call `save(hard_state, B entries of --size bytes)` in a loop for S seconds
(one write + one fdatasync per call, exactly what the member does per Ready batch) and print
records/s (entries made durable per second) and fsyncs/s. The first lines are the two
ceilings: the disk alone (128-byte append + fdatasync on a preallocated file in the same
directory) and the CPU alone (encoding and framing one entry, no I/O).
The directory must be on the disk you care about (not tmpfs: there fsync costs nothing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time

from shoal.raft.codec import encode_entry
from shoal.raft.types import Entry, HardState
from shoal.wal import WAL
from shoal.wal.facts import RecordType
from shoal.wal.files import datasync
from shoal.wal.record import append_record


def bare_fsync(dirpath: str, seconds: float) -> tuple[int, float]:
    """The disk alone: append 128 bytes (one small record) and fdatasync, in a loop."""
    path = os.path.join(dirpath, "bare")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.posix_fallocate(fd, 0, 64 << 20)
        block = b"x" * 128
        n = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            os.pwrite(fd, block, n * 128)
            datasync(fd)
            n += 1
        return n, time.perf_counter() - start
    finally:
        os.close(fd)
        os.unlink(path)


def encode_cost(size: int, batch: int = 256, rounds: int = 200) -> float:
    """Microseconds of CPU per entry to encode and frame it, as `WAL.save` does (no I/O)."""
    payload = os.urandom(size)
    ents = [Entry(1, k + 1, data=payload) for k in range(batch)]
    start = time.perf_counter()
    for _ in range(rounds):
        buf = bytearray()
        crc = 0
        for e in ents:
            crc = append_record(buf, RecordType.ENTRY, encode_entry(e), crc)
    return (time.perf_counter() - start) / (rounds * batch) * 1e6


def run_batch(
    dirpath: str, batch: int, size: int, seconds: float, prealloc: bool, segment: int
) -> tuple[int, int, float, list[float]]:
    """(records, saves, elapsed seconds, per-save latencies in ms)."""
    waldir = os.path.join(dirpath, f"wal-{batch}")
    w = WAL.create(waldir, b"bench", segment_size=segment, preallocate_segments=prealloc)
    payload = os.urandom(size)
    index = 0
    saves = 0
    lat: list[float] = []
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < seconds:
            ents = [Entry(1, index + k + 1, data=payload) for k in range(batch)]
            index += batch
            t0 = time.perf_counter()
            w.save(HardState(1, 1, index - batch), ents)
            lat.append((time.perf_counter() - t0) * 1000)
            saves += 1
        elapsed = time.perf_counter() - start
    finally:
        w.close()
        shutil.rmtree(waldir, ignore_errors=True)
    return index, saves, elapsed, lat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--size", type=int, default=100, help="entry data bytes")
    ap.add_argument("--batches", default="1,16,256", help="entries per save, comma-separated")
    ap.add_argument("--dir", default=None, help="where to put the WAL (default: system temp)")
    ap.add_argument("--no-prealloc", action="store_true", help="do not preallocate segments")
    ap.add_argument("--segment-mib", type=int, default=64)
    args = ap.parse_args()

    root = tempfile.mkdtemp(prefix="shoal-walbench-", dir=args.dir)
    try:
        n, secs = bare_fsync(root, min(args.seconds, 2.0))
        print(f"disk alone: 128 B append + fdatasync: {n / secs:,.0f} fsyncs/s  ({root})")
        print(f"cpu alone: encode + frame one entry: {encode_cost(args.size):.2f} us")
        print(
            f"{'batch':>6} {'records/s':>12} {'fsyncs/s':>10} {'MB/s':>8} "
            f"{'p50 ms':>8} {'p99 ms':>8}   (entries of {args.size} B, "
            f"{'no ' if args.no_prealloc else ''}prealloc)"
        )
        for batch in (int(b) for b in args.batches.split(",")):
            records, saves, elapsed, lat = run_batch(
                root, batch, args.size, args.seconds, not args.no_prealloc, args.segment_mib << 20
            )
            lat.sort()
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            print(
                f"{batch:>6} {records / elapsed:>12,.0f} {saves / elapsed:>10,.0f} "
                f"{records * args.size / elapsed / 1e6:>8.2f} {statistics.median(lat):>8.2f} "
                f"{p99:>8.2f}"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
