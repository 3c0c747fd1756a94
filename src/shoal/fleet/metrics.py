"""fleetd's Prometheus metrics, served at `/metrics` on its API listener, with the names, types,
help texts and labels of coreos/fleet's `metrics` package (metrics/metrics.go): the engine's
leader start time, reconcile rounds and their failures, tasks by type, and the registry's
operations. Counted in plain numbers where they happen (engine, registry) and turned into
families when scraped, in a registry of this fleetd's own.

fleet 1.0 registers only the engine's leader, task and reconcile counters; its registry
operation counters and the two duration histograms are defined but never registered, so a real
fleetd does not serve them. shoal serves them, under fleet's names. fleet has no `fleet_agent_*`
metrics."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, ProcessCollector, generate_latest
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry

from shoal.metrics import Histogram, counter, gauge, labelled

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# Go's prometheus.DefBuckets: what fleet's histograms use (they set no buckets).
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# fleet's engine failure reasons and registry operations (metrics.go's constants).
MACHINE_AWAY, RUN_FAILURE, SCHEDULE_FAILURE = "machine_away", "run", "schedule"
GET, SET, GET_ALL = "get", "set", "get_all"
# fleet's task types, lowercased as ReportEngineTask does, by shoal's task kind.
TASK_TYPES = {"schedule": "attemptscheduleunit", "unschedule": "unscheduleunit"}


class FleetMetrics:
    def __init__(self) -> None:
        self.leader_start_time = 0.0
        self.tasks: dict[str, int] = {}
        self.task_failures: dict[str, int] = {}
        self.reconciles = 0
        self.reconcile_seconds = Histogram(DEFAULT_BUCKETS)
        self.reconcile_failures: dict[str, int] = {}
        self.registry_ops: dict[str, int] = {}
        self.registry_failures: dict[str, int] = {}
        self.registry_seconds: dict[str, Histogram] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        ProcessCollector(registry=self.registry)

    def task(self, kind: str, ok: bool = True) -> None:
        t = TASK_TYPES.get(kind, kind)
        self.tasks[t] = self.tasks.get(t, 0) + 1
        if not ok:
            self.task_failures[t] = self.task_failures.get(t, 0) + 1

    def reconciled(self, seconds: float) -> None:
        self.reconciles += 1
        self.reconcile_seconds.observe(seconds)

    def reconcile_failed(self, reason: str) -> None:
        self.reconcile_failures[reason] = self.reconcile_failures.get(reason, 0) + 1

    def registry_op(self, op: str, seconds: float | None) -> None:
        """A registry operation that succeeded in `seconds`, or failed (None)."""
        if seconds is None:
            self.registry_failures[op] = self.registry_failures.get(op, 0) + 1
            return
        self.registry_ops[op] = self.registry_ops.get(op, 0) + 1
        h = self.registry_seconds.get(op)
        if h is None:
            h = self.registry_seconds[op] = Histogram(DEFAULT_BUCKETS)
        h.observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        e, r = "fleet_engine_", "fleet_registry_"
        yield gauge(
            e + "leader_start_time",
            "Start time of becoming an engine leader since epoch in seconds.",
            self.leader_start_time,
        )
        yield _by_type(e + "task_count_total", "Counter of engine schedule tasks.", self.tasks)
        yield _by_type(
            e + "task_failure_count_total",
            "Counter of engine schedule task failures.",
            self.task_failures,
        )
        yield counter(e + "reconcile_count_total", "Counter of reconcile rounds.", self.reconciles)
        yield self.reconcile_seconds.family(
            e + "reconcile_duration_second",
            "Histogram of time (in seconds) each schedule round takes.",
        )
        yield _by_type(
            e + "reconcile_failure_count_total",
            "Counter of scheduling failures.",
            self.reconcile_failures,
        )
        yield _by_type(
            r + "operation_count_total", "Counter of registry operations.", self.registry_ops
        )
        fam = HistogramMetricFamily(
            r + "operation_duration_second",
            "Histogram of time (in seconds) each schedule round takes.",
            labels=["ops"],
        )
        for op, h in sorted(self.registry_seconds.items()):
            h.add_to(fam, (op,))
        yield fam
        yield _by_type(
            r + "operation_failed_count_total",
            "Counter of failed registry operations.",
            self.registry_failures,
        )


def _by_type(name: str, doc: str, counts: dict[str, int]) -> Metric:
    return labelled("counter", name, doc, ("type",), (((k,), v) for k, v in sorted(counts.items())))
