"""What the WAL measures for etcd's `etcd_disk_wal_*` metrics (etcd's wal/metrics.go): the
latency of each fsync of appended records, in etcd's buckets, and the bytes written. Plain
numbers, counted on the WAL's thread and read when a scrape collects them."""

from __future__ import annotations

from shoal.metrics import Histogram, exponential

FSYNC_BUCKETS = exponential(0.001, 2, 14)  # etcd: ExponentialBuckets(0.001, 2, 14), 1 ms..8 s


class WALMetrics:
    __slots__ = ("fsync_seconds", "write_bytes")

    def __init__(self) -> None:
        self.fsync_seconds = Histogram(FSYNC_BUCKETS)
        self.write_bytes = 0
