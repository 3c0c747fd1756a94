"""`/metrics` on fleetd's API listener: coreos/fleet's metric names (fleet_engine_*,
fleet_registry_*) in a scrape Prometheus's parser reads, moving as the engine schedules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fleet_procs import Etcd, FleetCluster, fleet_cluster
from prometheus_client.parser import text_string_to_metric_families
from test_fleet_api import HELLO, UnixHTTP, call

from support import wait_until

M1 = "7" * 8 + "0" * 24


@pytest.fixture(scope="module")
def fleet(one_etcd: Etcd) -> Iterator[FleetCluster]:
    with fleet_cluster(one_etcd.url, {M1: "role=web"}, public_ip="127.0.0.7") as c:
        yield c


def scrape(c: FleetCluster) -> tuple[str, dict[str, float]]:
    conn = UnixHTTP(c.any().socket)
    conn.request("GET", "/metrics")
    r = conn.getresponse()
    text = r.read().decode()
    ctype = r.getheader("Content-Type") or ""
    conn.close()
    values = {
        s.name + "".join(f"|{k}={v}" for k, v in sorted(s.labels.items())): float(s.value)
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    return ctype, values


def test_fleet_metrics_have_fleets_names_and_move_with_the_engine(fleet: FleetCluster) -> None:
    ctype, before = scrape(fleet)
    assert ctype.startswith("text/plain; version=0.0.4")
    for name in (
        "fleet_engine_leader_start_time",
        "fleet_engine_reconcile_count_total",
        "fleet_engine_reconcile_duration_second_count",
        "process_cpu_seconds_total",
    ):
        assert name in before, sorted(before)
    wait_until(
        lambda: scrape(fleet)[1]["fleet_engine_leader_start_time"] > 0, 30, "an engine leader"
    )
    assert call(fleet, "PUT", "/fleet/v1/units/m.service", {"options": HELLO})[0] == 201
    assert call(fleet, "PUT", "/fleet/v1/units/m.service", {"desiredState": "launched"})[0] == 204

    def scheduled() -> dict[str, float] | None:
        v = scrape(fleet)[1]
        return v if v.get("fleet_engine_task_count_total|type=attemptscheduleunit", 0) else None

    after = wait_until(scheduled, 30, "the engine to schedule m.service")
    assert (
        after["fleet_engine_reconcile_count_total"] > before["fleet_engine_reconcile_count_total"]
    )
    assert after["fleet_registry_operation_count_total|type=set"] >= 1
    assert after["fleet_registry_operation_count_total|type=get_all"] >= 1
