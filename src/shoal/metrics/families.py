"""Metric families built at scrape time, with the names and types the Go programs expose.

prometheus_client writes a counter's HELP and TYPE lines under `<name>_total` whatever the
family is called, so a counter that Go names without `_total` (etcd's
`etcd_server_health_success`) would be announced under a name its sample does not carry. Such
counters are exposed untyped instead: the series name is Go's, and the exposition stays
consistent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

_TOTAL = "_total"


def counter(name: str, documentation: str, value: float) -> Metric:
    if name.endswith(_TOTAL):
        return CounterMetricFamily(name, documentation, value=value)
    m = Metric(name, documentation, "unknown")
    m.add_sample(name, {}, value)
    return m


def gauge(name: str, documentation: str, value: float) -> Metric:
    return GaugeMetricFamily(name, documentation, value=value)


def labelled(
    kind: str,
    name: str,
    documentation: str,
    labels: Sequence[str],
    samples: Iterable[tuple[Sequence[str], float]],
) -> Metric:
    """A `kind` ("counter" or "gauge") family with one sample per (label values, value)."""
    if kind == "gauge":
        fam: Metric = GaugeMetricFamily(name, documentation, labels=list(labels))
        for values, v in samples:
            fam.add_metric(list(values), v)  # type: ignore[attr-defined]
        return fam
    if name.endswith(_TOTAL):
        cfam = CounterMetricFamily(name, documentation, labels=list(labels))
        for values, v in samples:
            cfam.add_metric(list(values), v)
        return cfam
    m = Metric(name, documentation, "unknown")
    for values, v in samples:
        m.add_sample(name, dict(zip(labels, values, strict=True)), v)
    return m
