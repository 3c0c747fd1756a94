"""fleet through an etcd outage: fleetctl's 503 line, units kept running, reconciled after."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet_procs import (
    BACKENDS,
    HAVE_ETCD,
    ONE_BACKEND,
    SKIP_REASON,
    Etcd,
    etcd_member,
    fleet_cluster,
)

from support import wait_until

M1, M2 = "1" * 8 + "e" * 24, "2" * 8 + "f" * 24
LINE_503 = (
    "Error retrieving list of active machines: googleapi: Error 503: "
    "fleet server unable to communicate with etcd\n"
)


@pytest.fixture(params=BACKENDS)
def own_etcd(request: pytest.FixtureRequest) -> Iterator[Etcd]:
    """An etcd this test may stop and restart (same data dir and ports)."""
    if request.param == "etcd" and not HAVE_ETCD:
        pytest.skip(SKIP_REASON)
    e = Etcd(request.param)
    try:
        e.start()
        yield e
    finally:
        e.close()


def pids_running(marker: str) -> set[int]:
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if f"sleep {marker}" in cmd:
                out.add(int(d.name))
    return out


def test_units_survive_an_etcd_outage_without_moving(own_etcd: Etcd) -> None:
    with fleet_cluster(own_etcd.url, {M1: "", M2: ""}) as c:
        files = [c.unit_file(f"u{i}.service") for i in range(4)]
        rc, _, err = c.ctl("start", "--block-attempts=10", *files)
        assert rc == 0, err
        wait_until(lambda: len(c.placement()) == 4, 10, "four units running")
        before = c.placement()
        pids = pids_running(c.marker)
        assert len(pids) == 4

        own_etcd.stop()
        stopped = time.monotonic()
        rc, _, err = c.ctl("list-machines")
        assert (rc, err) == (1, LINE_503)
        rc, _, err = c.ctl("list-units")
        assert rc == 1 and err.startswith("Error retrieving list of units from repository: ")
        for f in c.fleetds.values():
            wait_until(lambda f=f: "heartbeat failed" in f.log(), 10, "agents to notice")
        # An outage longer than agent_ttl (2s): the machine keys expire in etcd meanwhile.
        wait_until(lambda: time.monotonic() - stopped > 3.5, 5, "the outage to outlast the TTL")
        assert pids_running(c.marker) == pids, "units kept running while etcd was away"

        own_etcd.start()
        wait_until(lambda: set(c.machine_ids()) == {M1, M2}, 20, "machines to re-register")
        wait_until(lambda: c.placement() == before, 15, "the same placement to be reported again")
        assert pids_running(c.marker) == pids, "no unit was restarted or moved"


def test_a_fleetd_without_etcd_answers_503_from_the_start() -> None:
    with etcd_member(ONE_BACKEND) as own, fleet_cluster(own.url, {M1: ""}) as c:
        f = c.add("late", machine_id=M2)
        own.stop()
        f.start()
        wait_until(lambda: os.path.exists(f.socket), 15, "the API socket")
        from fleet_procs import fleetctl

        rc, _, err = fleetctl(f.endpoint, "list-machines")
        assert (rc, err) == (1, LINE_503)
        f.stop(signal.SIGKILL)
