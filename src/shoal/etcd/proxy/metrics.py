"""The proxy's `/metrics`: etcd 3.4's proxy/httpproxy/metrics.go families, and the process's.

etcd's proxy answers `/metrics` itself (its own numbers, on the same port, outside readonly and
CORS) instead of forwarding it:

    etcd_proxy_requests_total{method}                    every request that reached the proxy
    etcd_proxy_handled_total{method,code}                answered by a member, by its status
    etcd_proxy_dropped_total{method,proxying_error}      zero_endpoints, failed_sending_request,
                                                         failed_getting_response
    etcd_proxy_handling_duration_seconds{method}         time to the member's answer's headers

Counted as plain integers where they happen; families are built only when scraped.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, ProcessCollector, generate_latest
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry

from shoal.metrics import Histogram, exponential, labelled

PATH = "/metrics"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
BUCKETS = exponential(0.0005, 2, 13)  # metrics.go: ExponentialBuckets(0.0005, 2, 13)
ZERO_ENDPOINTS = "zero_endpoints"
FAILED_SENDING = "failed_sending_request"
FAILED_GETTING = "failed_getting_response"


class ProxyMetrics:
    """One proxy's numbers and the registry a scrape reads."""

    def __init__(self, process: bool = True) -> None:
        self.incoming: dict[str, int] = {}
        self.handled: dict[tuple[str, int], int] = {}
        self.dropped: dict[tuple[str, str], int] = {}
        self.durations: dict[str, Histogram] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        if process:
            ProcessCollector(registry=self.registry)

    def request_incoming(self, method: str) -> None:
        self.incoming[method] = self.incoming.get(method, 0) + 1

    def request_handled(self, method: str, status: int, seconds: float) -> None:
        key = (method, status)
        self.handled[key] = self.handled.get(key, 0) + 1
        h = self.durations.get(method)
        if h is None:
            h = self.durations[method] = Histogram(BUCKETS)
        h.observe(seconds)

    def request_dropped(self, method: str, why: str) -> None:
        key = (method, why)
        self.dropped[key] = self.dropped.get(key, 0) + 1

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        # In name order, as Go's registry writes families.
        fams = [f for f in self._families() if f is not None]
        yield from sorted(fams, key=lambda f: f.name)

    def _families(self) -> Iterator[Metric | None]:
        if self.incoming:
            yield labelled(
                "counter", "etcd_proxy_requests_total", "Counter requests incoming by method.",
                ("method",), (((m,), n) for m, n in sorted(self.incoming.items())),
            )  # fmt: skip
        if self.handled:
            yield labelled(
                "counter", "etcd_proxy_handled_total",
                "Counter of requests fully handled (by authoratitave servers)",
                ("method", "code"),
                (((m, str(c)), n) for (m, c), n in sorted(self.handled.items())),
            )  # fmt: skip
        if self.dropped:
            yield labelled(
                "counter", "etcd_proxy_dropped_total", "Counter of requests dropped on the proxy.",
                ("method", "proxying_error"),
                (((m, e), n) for (m, e), n in sorted(self.dropped.items())),
            )  # fmt: skip
        if self.durations:
            fam = HistogramMetricFamily(
                "etcd_proxy_handling_duration_seconds",
                "Bucketed histogram of handling time of successful events (non-watches), by "
                "method (GET/PUT etc.).",
                labels=["method"],
            )
            for m, h in sorted(self.durations.items()):
                h.add_to(fam, (m,))
            yield fam
