"""`/metrics` on the client port: etcd 3.4's names, types and labels (compared with a real etcd
3.4 after the same requests), a scrape that Prometheus's parser reads, values that move with
what the cluster does, and --listen-metrics-urls / --metrics as etcd takes them."""

from __future__ import annotations

import re
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shoal.etcd.flags import USAGE, FlagError, load_config
from support import ETCD, HAVE_ETCD, SHOAL_ETCD, SKIP_REASON, EtcdMember, Procs, wait_until
from support.cluster import EtcdCluster
from support.etcd import start_etcd

# What issue 15 lists as shoal's share of etcd 3.4's metrics.
REQUIRED = {
    "etcd_server_has_leader",
    "etcd_server_is_leader",
    "etcd_server_leader_changes_seen_total",
    "etcd_server_proposals_committed_total",
    "etcd_server_proposals_applied_total",
    "etcd_server_proposals_failed_total",
    "etcd_server_proposals_pending",
    "etcd_server_heartbeat_send_failures_total",
    "etcd_server_slow_apply_total",
    "etcd_server_read_indexes_failed_total",
    "etcd_server_id",
    "etcd_server_version",
    "etcd_server_health_success",
    "etcd_server_health_failures",
    "etcd_disk_wal_fsync_duration_seconds",
    "etcd_disk_wal_write_bytes_total",
    "etcd_network_peer_sent_bytes_total",
    "etcd_network_peer_received_bytes_total",
    "etcd_network_peer_round_trip_time_seconds",
    "etcd_http_received_total",
    "etcd_http_failed_total",
    "etcd_http_successful_duration_seconds",
    "etcd_debugging_store_reads_total",
    "etcd_debugging_store_writes_total",
    "etcd_debugging_store_expires_total",
    "etcd_debugging_store_watchers",
    "etcd_debugging_store_watch_requests_total",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_open_fds",
}
# Counters etcd names without `_total`: prometheus_client cannot announce them as counters
# under their own name, so shoal exposes them untyped (shoal.metrics.families).
UNTYPED_COUNTERS = {"etcd_server_health_success", "etcd_server_health_failures"}
# etcd creates these series on the first failure only; a healthy run shows none of them.
ON_FAILURE = {"etcd_network_peer_sent_failures_total", "etcd_network_disconnected_peers_total"}

_TYPE = re.compile(r"^# TYPE (\S+) (\S+)$")
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"')


def families(text: str) -> dict[str, tuple[str, frozenset[str]]]:
    """name -> (type, label names of its samples, `le` left out), from the text format."""
    types: dict[str, str] = {}
    labels: dict[str, set[str]] = {}
    for line in text.splitlines():
        if m := _TYPE.match(line):
            types[m[1]] = m[2]
            labels.setdefault(m[1], set())
        elif line and not line.startswith("#"):
            s = _SAMPLE.match(line)
            assert s, f"not a sample line: {line!r}"
            name = s[1]
            if name not in types:
                name = re.sub(r"_(bucket|sum|count)$", "", name)
            names = {k for k in _LABEL.findall(s[2] or "") if k != "le"}
            labels.setdefault(name, set()).update(names)
    return {n: (types.get(n, "untyped"), frozenset(labels[n])) for n in labels}


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return int(r.status), r.read()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read()


def put(url: str, value: str) -> None:
    req = urllib.request.Request(url, data=f"value={value}".encode(), method="PUT")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()


def scrape(client_url: str) -> str:
    status, body = get(client_url + "/metrics")
    assert status == 200
    return body.decode()


def value(text: str, name: str, **labels: str) -> float:
    """The value of the sample `name` with exactly these labels (0 when absent)."""
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    return 0.0


def workload(url: str) -> None:
    """The same requests for both programs: a write, reads (plain, quorum, missing), a watch
    answered from history, a health check."""
    put(url + "/v2/keys/metrics-test", "1")
    assert get(url + "/v2/keys/metrics-test")[0] == 200
    assert get(url + "/v2/keys/metrics-test?quorum=true")[0] == 200
    assert get(url + "/v2/keys/?recursive=true")[0] == 200
    assert get(url + "/v2/keys/no-such-key")[0] == 404
    assert get(url + "/v2/keys/metrics-test?wait=true&waitIndex=1")[0] == 200
    assert get(url + "/health")[0] == 200


@pytest.fixture(scope="module")
def scraped() -> Iterator[dict[str, str]]:
    """Member 1's /metrics of a three-member cluster of each program after `workload`."""
    if not HAVE_ETCD:
        pytest.skip(SKIP_REASON)
    out = {}
    for kind, command in (("etcd", [ETCD]), ("shoal", SHOAL_ETCD)):
        cluster = EtcdCluster(command=command)
        try:
            workload(cluster.client_urls[0])
            # Round trips are sampled (every 30 s by etcd's prober, every ping by shoal's).
            wait_until(
                lambda url=cluster.client_urls[0]: (
                    "peer_round_trip_time_seconds_count" in scrape(url)
                ),
                40,
                f"{kind} to measure a peer round trip",
            )
            out[kind] = scrape(cluster.client_urls[0])
        finally:
            cluster.close()
    yield out


def test_every_family_shoal_serves_is_etcds_with_the_same_type_and_labels(
    scraped: dict[str, str],
) -> None:
    etcd, shoal = families(scraped["etcd"]), families(scraped["shoal"])
    wrong = []
    for name, (kind, labels) in sorted(shoal.items()):
        if name in ON_FAILURE:
            continue
        if name not in etcd:
            wrong.append(f"{name}: not served by etcd 3.4")
            continue
        want_kind, want_labels = etcd[name]
        if name in UNTYPED_COUNTERS:
            want_kind = "untyped" if want_kind == "counter" else want_kind
        if (kind, labels) != (want_kind, want_labels):
            got = f"{kind} {sorted(labels)}"
            wrong.append(f"{name}: shoal {got}, etcd {want_kind} {sorted(want_labels)}")
    assert not wrong, "\n".join(wrong)
    missing = REQUIRED - set(shoal)
    assert not missing, f"families issue 15 asks for that shoal does not serve: {sorted(missing)}"


def test_the_scrape_parses_and_carries_the_issues_names(scraped: dict[str, str]) -> None:
    names = {f.name for f in text_string_to_metric_families(scraped["shoal"])}
    # prometheus_client's parser names a counter family without its `_total`.
    bare = {n.removesuffix("_total") for n in REQUIRED}
    assert bare <= {n.removesuffix("_total") for n in names}
    text = scraped["shoal"]
    assert value(text, "etcd_server_has_leader") == 1
    assert value(text, "etcd_http_received_total", method="PUT") >= 1
    assert value(text, "etcd_http_received_total", method="QGET") >= 1
    assert value(text, "etcd_http_failed_total", method="GET", code="404") >= 1
    assert value(text, "etcd_debugging_store_reads_total", action="getRecursive") >= 1
    assert value(text, "etcd_debugging_store_watch_requests_total") >= 1
    assert value(text, "etcd_disk_wal_fsync_duration_seconds_count") >= 1


@pytest.fixture()
def shoal_cluster() -> Iterator[EtcdCluster]:
    cluster = EtcdCluster(command=SHOAL_ETCD)
    try:
        yield cluster
    finally:
        cluster.close()


def _leader(cluster: EtcdCluster) -> int:
    for i in cluster.running():
        if value(scrape(cluster.client_urls[i]), "etcd_server_is_leader") == 1:
            return i
    raise AssertionError("no member says it is the leader")


def test_a_write_raises_proposals_committed_and_the_wal_counters(
    shoal_cluster: EtcdCluster,
) -> None:
    urls = shoal_cluster.client_urls
    before = [scrape(u) for u in urls]
    put(urls[1] + "/v2/keys/moved", "yes")

    def committed_everywhere() -> bool:
        return all(
            value(scrape(u), "etcd_server_proposals_committed_total")
            > value(b, "etcd_server_proposals_committed_total")
            for u, b in zip(urls, before, strict=True)
        )

    wait_until(committed_everywhere, 10, "every member to count the write as committed")
    after = scrape(urls[1])
    for name in ("etcd_disk_wal_write_bytes_total", "etcd_server_proposals_applied_total"):
        assert value(after, name) > value(before[1], name), name
    assert value(after, "etcd_http_received_total", method="PUT") == 1 + value(
        before[1], "etcd_http_received_total", method="PUT"
    )


def test_a_killed_leader_raises_leader_changes_on_the_survivors(
    shoal_cluster: EtcdCluster,
) -> None:
    leader = _leader(shoal_cluster)
    survivors = [i for i in range(3) if i != leader]
    urls = shoal_cluster.client_urls
    before = {i: value(scrape(urls[i]), "etcd_server_leader_changes_seen_total") for i in survivors}
    shoal_cluster.stop(leader, signal.SIGKILL)

    def new_leader_seen() -> bool:
        now = {i: scrape(urls[i]) for i in survivors}
        return all(
            value(now[i], "etcd_server_leader_changes_seen_total") > before[i]
            and value(now[i], "etcd_server_has_leader") == 1
            for i in survivors
        )

    wait_until(new_leader_seen, 20, "the survivors to see a new leader")
    # The survivors also notice the dead peer's link going down.
    text = scrape(urls[survivors[0]])
    lost = [
        s
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "etcd_network_disconnected_peers_total"
    ]
    assert lost and all(s.value >= 1 for s in lost)


def test_listen_metrics_urls_serves_metrics_and_health_only() -> None:
    member = EtcdMember.on("m1")
    metrics_url = EtcdMember.on("x").client_url
    with Procs(prefix="shoal-metrics-") as procs:
        start_etcd(
            procs,
            member,
            command=SHOAL_ETCD,
            cluster=[member],
            flags=["--listen-metrics-urls", metrics_url, "--metrics", "extensive"],
        )
        procs.wait_ready(
            "m1", lambda: get(metrics_url + "/health")[0] == 200, 30, "the metrics listener"
        )
        status, body = get(metrics_url + "/metrics")
        assert status == 200 and b"etcd_server_is_leader 1.0" in body
        assert get(metrics_url + "/v2/keys/")[0] == 404
        assert get(member.client_url + "/metrics")[0] == 200


def test_the_metrics_flags_are_etcds() -> None:
    cfg = load_config(["--listen-metrics-urls", "http://127.0.0.1:9000", "--metrics", "basic"], {})
    assert cfg.listen_metrics_urls == ["http://127.0.0.1:9000"] and cfg.metrics == "basic"
    assert load_config([], {"ETCD_METRICS": "extensive"}).metrics == "extensive"
    assert "--listen-metrics-urls ''" in USAGE and "--metrics 'basic'" in USAGE
    assert "Profiling and Monitoring:" in USAGE
    with pytest.raises(FlagError):
        load_config(["--listen-metrics-urls", "127.0.0.1:9000"], {})


def test_a_histogram_counts_each_observation_in_the_first_bucket_at_or_above_it() -> None:
    from prometheus_client.core import HistogramMetricFamily

    from shoal.metrics import Histogram, exponential

    h = Histogram(exponential(0.001, 2, 3))  # 0.001, 0.002, 0.004 (etcd's WAL buckets start so)
    for v in (0.0005, 0.001, 0.0015, 0.004, 0.5):
        h.observe(v)
    fam = HistogramMetricFamily("x_seconds", "x")
    h.add_to(fam)
    got = {s.labels.get("le", s.name): s.value for s in fam.samples}
    # `le` is inclusive and cumulative; +Inf holds everything.
    assert got == {"0.001": 2, "0.002": 3, "0.004": 4, "+Inf": 5, "x_seconds_count": 5,
                   "x_seconds_sum": pytest.approx(0.507)}  # fmt: skip


def test_members_in_one_process_keep_their_own_numbers(tmp_path: object) -> None:
    """Three members on one event loop: each registry counts its own member only."""
    import asyncio
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from member_harness import Cluster

    from shoal.store import Request
    from shoal.store import request as rq

    async def main() -> None:
        c = Cluster(str(tmp_path))
        await c.start_all()
        try:
            leader = await c.leader()
            await leader.do(Request(rq.PUT, "/1/own", value="x"))
            texts = {n: m.metrics.exposition().decode() for n, m in c.members.items()}
            ids = {
                n: value(t, "etcd_server_id", server_id=f"{m.member_id:x}")
                for (n, t), m in zip(texts.items(), c.members.values(), strict=True)
            }
            assert all(v == 1 for v in ids.values()), ids
            assert all(t.count("etcd_server_id{") == 1 for t in texts.values())
            leaders = [n for n, t in texts.items() if value(t, "etcd_server_is_leader") == 1]
            assert leaders == [leader.name]
        finally:
            await c.stop_all()

    asyncio.run(asyncio.wait_for(main(), 120))
