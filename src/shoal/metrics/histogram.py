"""A histogram as plain numbers: per-bucket counts and a sum, exposed cumulatively on scrape.

Prometheus's bucket `le` is inclusive: an observation v lands in the first bucket whose upper
bound is >= v, which is what `bisect_left` finds; past the last bound is the +Inf bucket.
Observations may come from one thread while a scrape reads from another (the WAL's fsyncs):
each addition is atomic under the GIL, so a scrape sees each observation whole or not at all in
each number (count and sum may differ by the observation in flight, as Prometheus allows).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from prometheus_client.core import HistogramMetricFamily


def exponential(start: float, factor: float, count: int) -> tuple[float, ...]:
    """Go's prometheus.ExponentialBuckets: start, start*factor, ... (count bounds)."""
    return tuple(start * factor**i for i in range(count))


class Histogram:
    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def copy(self) -> Histogram:
        h = Histogram(self.bounds)
        h.counts = list(self.counts)
        h.sum = self.sum
        return h

    @property
    def count(self) -> int:
        return sum(self.counts)

    def add_to(self, family: HistogramMetricFamily, labels: Sequence[str] = ()) -> None:
        """Add this histogram's samples to `family` under the label values `labels`."""
        counts = list(self.counts)  # one read of the list, as a scrape's snapshot
        buckets: list[tuple[str, float]] = []
        total = 0
        for bound, n in zip(self.bounds, counts, strict=False):
            total += n
            buckets.append((_go_float(bound), total))
        total += counts[-1]
        buckets.append(("+Inf", total))
        family.add_metric(list(labels), buckets, sum_value=self.sum)

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        """An unlabelled family holding this histogram alone."""
        fam = HistogramMetricFamily(name, documentation)
        self.add_to(fam)
        return fam


def _go_float(v: float) -> str:
    """A bucket bound as Go's client writes `le` (`0.0005`, `8.192`, `1` for 1.0); Python's
    repr agrees with Go's shortest 'g' form for the bounds used here (1e-4 up to 1e21)."""
    s = repr(v)
    return s[:-2] if s.endswith(".0") else s
