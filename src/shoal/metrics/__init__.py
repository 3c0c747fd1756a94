"""Prometheus metrics kept as plain numbers where they are counted, and turned into
prometheus_client metric families only when a scrape collects them.

A request path pays an integer increment (no lock, no label lookup, no string formatting);
the work of naming, labelling and exposing happens at scrape time, in each daemon's own
collector (`shoal.etcd.metrics`, `shoal.fleet.metrics`), registered in a registry of that
daemon's own (never prometheus_client's global one, so several members in one process keep
their numbers apart). The exposition itself is prometheus_client's.

    Histogram        observations in fixed buckets (a bisect and two additions per observation)
    exponential      Go's prometheus.ExponentialBuckets(start, factor, count)
    counter, gauge   one-sample families; labelled ones via `labelled`
"""

from shoal.metrics.families import counter, gauge, labelled
from shoal.metrics.histogram import Histogram, exponential

__all__ = ["Histogram", "counter", "exponential", "gauge", "labelled"]
