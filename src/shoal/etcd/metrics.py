"""A member's Prometheus metrics: etcd 3.4's names, types, help texts and labels for what shoal
has, served at `/metrics` on the client port (and on --listen-metrics-urls).

The names are etcd's facts, from release-3.4's etcdserver/metrics.go, etcdhttp/health.go,
wal/metrics.go, rafthttp/metrics.go, v2http/metrics.go and v2store/metrics.go (checked against
/usr/bin/etcd 3.4.23's /metrics by tests/etcd/test_metrics.py). Each part of the member counts
in plain numbers where the event happens (the raft node, the request path, the applier, the
WAL, the transport, the store, the keys handler); `MemberMetrics.registry` turns them into
metric families when scraped. A registry per member, never prometheus_client's global one:
members sharing a process (tests) keep their numbers apart.

What shoal leaves out: etcd's v3-only families (gRPC, mvcc, backend, lease, snap_db) and Go's
runtime (`go_*`). `--metrics extensive` only adds gRPC handling histograms in etcd, so it
changes nothing here. Counters that etcd names without `_total` are exposed untyped (see
`shoal.metrics.families`).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, ProcessCollector, generate_latest
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry

from shoal.etcd.ids import hexid
from shoal.metrics import Histogram, counter, exponential, gauge, labelled
from shoal.raft.types import StateType

if TYPE_CHECKING:
    from shoal.etcd.member import Member

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # what etcd's promhttp answers with
SERVER_VERSION = "3.4.23"  # etcd_server_version's label: the etcd version shoal speaks
HTTP_BUCKETS = exponential(0.0005, 2, 13)  # v2http: ExponentialBuckets(0.0005, 2, 13)
METRICS_LEVELS = ("basic", "extensive")

# v2store's action labels, from the store's stats fields (success, failure).
_READS = {"get": ("getsSuccess", "getsFail")}
_WRITES = {
    "set": ("setsSuccess", "setsFail"),
    "create": ("createSuccess", "createFail"),
    "update": ("updateSuccess", "updateFail"),
    "delete": ("deleteSuccess", "deleteFail"),
    "compareAndSwap": ("compareAndSwapSuccess", "compareAndSwapFail"),
    "compareAndDelete": ("compareAndDeleteSuccess", "compareAndDeleteFail"),
}


class HTTPMetrics:
    """etcd_http_*: the v2 keys API by method (GET, QGET, PUT, POST, DELETE, HEAD), counted by
    the keys handler: received (not watches), failed by status, durations of successes."""

    __slots__ = ("durations", "failed", "received")

    def __init__(self) -> None:
        self.received: dict[str, int] = {}
        self.failed: dict[tuple[str, int], int] = {}
        self.durations: dict[str, Histogram] = {}

    def request_received(self, method: str) -> None:
        self.received[method] = self.received.get(method, 0) + 1

    def request_failed(self, method: str, status: int) -> None:
        key = (method, status)
        self.failed[key] = self.failed.get(key, 0) + 1

    def request_completed(self, method: str, seconds: float) -> None:
        h = self.durations.get(method)
        if h is None:
            h = self.durations[method] = Histogram(HTTP_BUCKETS)
        h.observe(seconds)

    def collect(self) -> Iterator[Metric]:
        if self.received:
            yield labelled(
                "counter",
                "etcd_http_received_total",
                "Counter of requests received into the system (successfully parsed and authd).",
                ("method",),
                (((m,), n) for m, n in sorted(self.received.items())),
            )
        if self.failed:
            yield labelled(
                "counter",
                "etcd_http_failed_total",
                "Counter of handle failures of requests (non-watches), by method (GET/PUT etc.) "
                "and code (400, 500 etc.).",
                ("method", "code"),
                (((m, str(c)), n) for (m, c), n in sorted(self.failed.items())),
            )
        if self.durations:
            fam = HistogramMetricFamily(
                "etcd_http_successful_duration_seconds",
                "Bucketed histogram of processing time (s) of successfully handled requests "
                "(non-watches), by method (GET/PUT etc.).",
                labels=["method"],
            )
            for m, h in sorted(self.durations.items()):
                h.add_to(fam, (m,))
            yield fam


class MemberMetrics:
    """One member's registry. Built empty (the HTTP counters only, for a stand-in server);
    `bind(member)` adds the member's own families and the process's."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.http = HTTPMetrics()
        self.health_success = 0
        self.health_failures = 0
        self.registry.register(self.http)
        self.registry.register(_HealthCollector(self))

    def bind(self, member: Member) -> None:
        self.registry.register(_MemberCollector(member))
        ProcessCollector(registry=self.registry)

    def health_checked(self, ok: bool) -> None:
        if ok:
            self.health_success += 1
        else:
            self.health_failures += 1

    def exposition(self) -> bytes:
        """The text format a Prometheus scrape reads (served with CONTENT_TYPE)."""
        return generate_latest(self.registry)


class _HealthCollector:
    def __init__(self, m: MemberMetrics) -> None:
        self._m = m

    def collect(self) -> Iterator[Metric]:
        yield counter(
            "etcd_server_health_failures",
            "The total number of failed health checks",
            self._m.health_failures,
        )
        yield counter(
            "etcd_server_health_success",
            "The total number of successful health checks",
            self._m.health_success,
        )


class _MemberCollector:
    """Reads the member's parts at scrape time (on the member's loop, like every request)."""

    def __init__(self, member: Member) -> None:
        self._m = member

    def collect(self) -> Iterator[Metric]:
        yield from self._server()
        yield from self._disk()
        yield from self._network()
        yield from self._store()
        yield from _fds()

    def _server(self) -> Iterator[Metric]:
        m = self._m
        node, reqs = m.node, m.requests
        me = m.membership.members.get(m.member_id)
        ns = "etcd_server_"
        yield gauge(
            ns + "has_leader",
            "Whether or not a leader exists. 1 is existence, 0 is not.",
            1 if node.lead else 0,
        )
        yield gauge(
            ns + "is_leader",
            "Whether or not this member is a leader. 1 if is, 0 otherwise.",
            1 if node.role is StateType.LEADER else 0,
        )
        yield gauge(
            ns + "is_learner",
            "Whether or not this member is a learner. 1 if is, 0 otherwise.",
            1 if me is not None and me.is_learner else 0,
        )
        yield counter(
            ns + "leader_changes_seen_total",
            "The number of leader changes seen.",
            node.leader_changes,
        )
        yield counter(
            ns + "heartbeat_send_failures_total",
            "The total number of leader heartbeat send failures (likely overloaded from slow "
            "disk).",
            node.heartbeat_send_failures,
        )
        yield counter(
            ns + "slow_apply_total",
            "The total number of slow apply requests (likely overloaded from slow disk).",
            m.applier.slow_applies,
        )
        yield gauge(
            ns + "proposals_committed_total",
            "The total number of consensus proposals committed.",
            node.committed,
        )
        yield gauge(
            ns + "proposals_applied_total",
            "The total number of consensus proposals applied.",
            m.applied,
        )
        yield gauge(
            ns + "proposals_pending",
            "The current number of pending proposals to commit.",
            reqs.proposals_pending,
        )
        yield counter(
            ns + "proposals_failed_total",
            "The total number of failed proposals seen.",
            reqs.proposals_failed,
        )
        yield counter(
            ns + "slow_read_indexes_total",
            "The total number of pending read indexes not in sync with leader's or timed out "
            "read index requests.",
            reqs.slow_read_indexes,
        )
        yield counter(
            ns + "read_indexes_failed_total",
            "The total number of failed read indexes seen.",
            reqs.read_indexes_failed,
        )
        yield labelled(
            "gauge",
            ns + "version",
            "Which version is running. 1 for 'server_version' label with current version.",
            ("server_version",),
            [((SERVER_VERSION,), 1)],
        )
        yield labelled(
            "gauge",
            ns + "id",
            "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
            ("server_id",),
            [((hexid(m.member_id),), 1)],
        )
        cv = m.membership.cluster_version
        if cv:
            yield labelled(
                "gauge",
                "etcd_cluster_version",
                "Which version is running. 1 for 'cluster_version' label with current cluster "
                "version",
                ("cluster_version",),
                [((".".join(cv.split(".")[:2]),), 1)],
            )

    def _disk(self) -> Iterator[Metric]:
        wal = self._m.node.disk.metrics
        yield wal.fsync_seconds.family(
            "etcd_disk_wal_fsync_duration_seconds",
            "The latency distributions of fsync called by WAL.",
        )
        yield gauge(
            "etcd_disk_wal_write_bytes_total",
            "Total number of bytes written in WAL.",
            wal.write_bytes,
        )

    def _network(self) -> Iterator[Metric]:
        stats = sorted(self._m.node.transport.stats().items())
        if not stats:
            return
        local = hexid(self._m.member_id)
        ns = "etcd_network_"
        connected = [(hexid(i), s) for i, s in stats if s.connects]
        if connected:
            yield labelled(
                "gauge",
                ns + "active_peers",
                "The current number of active peer connections.",
                ("Local", "Remote"),
                (((local, p), 1 if s.active else 0) for p, s in connected),
            )
        lost = [(hexid(i), s.disconnects) for i, s in stats if s.disconnects]
        if lost:
            yield labelled(
                "counter",
                ns + "disconnected_peers_total",
                "The total number of disconnected peers.",
                ("Local", "Remote"),
                (((local, p), n) for p, n in lost),
            )
        yield labelled(
            "counter",
            ns + "peer_sent_bytes_total",
            "The total number of bytes sent to peers.",
            ("To",),
            (((hexid(i),), s.bytes_sent) for i, s in stats if s.bytes_sent),
        )
        yield labelled(
            "counter",
            ns + "peer_received_bytes_total",
            "The total number of bytes received from peers.",
            ("From",),
            (((hexid(i),), s.bytes_received) for i, s in stats if s.bytes_received),
        )
        failed = [(hexid(i), s.messages_failed) for i, s in stats if s.messages_failed]
        if failed:
            yield labelled(
                "counter",
                ns + "peer_sent_failures_total",
                "The total number of send failures from peers.",
                ("To",),
                (((p,), n) for p, n in failed),
            )
        rtt = HistogramMetricFamily(
            ns + "peer_round_trip_time_seconds",
            "Round-Trip-Time histogram between peers",
            labels=["To"],
        )
        for i, s in stats:
            if s.latency.count:
                s.latency.seconds.add_to(rtt, (hexid(i),))
        yield rtt

    def _store(self) -> Iterator[Metric]:
        store = self._m.store
        seen = store.stats.seen
        ns = "etcd_debugging_store_"
        rec = store.stats.recursive_gets
        gets = sum(seen[f] for f in _READS["get"])
        reads = [(("get",), gets - rec), (("getRecursive",), rec)]
        yield labelled(
            "counter",
            ns + "reads_total",
            "Total number of reads action by (get/getRecursive), local to this member.",
            ("action",),
            [r for r in reads if r[1]],
        )
        writes = [((a,), seen[ok] + seen[bad]) for a, (ok, bad) in _WRITES.items()]
        yield labelled(
            "counter",
            ns + "writes_total",
            "Total number of writes (e.g. set/compareAndDelete) seen by this member.",
            ("action",),
            sorted(w for w in writes if w[1]),
        )
        yield counter(ns + "expires_total", "Total number of expired keys.", seen["expireCount"])
        yield counter(
            ns + "watch_requests_total",
            "Total number of incoming watch requests (new or reestablished).",
            store.hub.requests,
        )
        yield gauge(ns + "watchers", "Count of currently active watchers.", store.hub.count)


def _fds() -> Iterator[Metric]:
    """os_fd_used / os_fd_limit (etcd samples them every 10 minutes; here at each scrape)."""
    try:
        used = len(os.listdir("/proc/self/fd"))
    except OSError:
        return
    yield gauge("os_fd_used", "The number of used file descriptors.", used)
    yield gauge(
        "os_fd_limit", "The file descriptor limit.", resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    )
