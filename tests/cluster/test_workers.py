"""CoreOS's production cluster with central services, end to end: `shoal up --workers 2` makes
three central machines (etcd members, role=services) and two workers (etcd2 proxies, fleet with
role=worker). Then what its users rely on: etcdctl and fleetctl on a worker answer for the whole
cluster; units with MachineMetadata=role=worker land on workers only, global ones on every
worker; fleetd on a worker talks to etcd through its local proxy; with the central quorum lost,
fleet on a worker answers 503 while its units keep running and nothing is rescheduled until the
quorum is back; a worker partitioned from the central machines (`shoal partition worker-01`)
loses etcd until `shoal heal`; a killed worker's units move to the other worker, never to a
central machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal.cluster.layout import STATE_FILE
from support import free_subnet, wait_until

pytestmark = pytest.mark.timeout(480)

WEB = """[Unit]
Description=web %i

[Service]
ExecStart=/bin/sh -c 'while true; do echo "web %i on $(hostname)"; sleep 5; done'

[X-Fleet]
MachineMetadata=role=worker
"""
AGENT = """[Unit]
Description=an agent on every worker

[Service]
ExecStart=/bin/sh -c 'while true; do sleep 5; done'

[X-Fleet]
Global=true
MachineMetadata=role=worker
"""


class Cluster:
    def __init__(self, d: Path) -> None:
        self.dir = d

    def shoal(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("SHOAL_ROOT", "SHOAL_HOME")}
        return subprocess.run(
            [sys.executable, "-m", "shoal.cli", *args[:1], "--dir", str(self.dir), *args[1:]],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=self.dir.parent,
        )  # fmt: skip

    def on(self, node: str, command: str) -> subprocess.CompletedProcess[str]:
        return self.shoal("ssh", node, "--", command, timeout=90)

    def units(self, node: str = "worker-02") -> dict[tuple[str, str], str]:
        """fleetctl list-units on `node`: (unit, machine IP) -> sub state."""
        r = self.on(node, "fleetctl list-units --no-legend --fields unit,machine,sub")
        assert r.returncode == 0, r.stdout + r.stderr
        out = {}
        for line in r.stdout.splitlines():
            unit, machine, sub = line.split()
            out[(unit, machine.split("/")[-1])] = sub
        return out

    def processes(self) -> list[int]:
        want = f"SHOAL_ROOT={self.dir}/".encode()
        out = []
        for e in os.listdir("/proc"):
            if e.isdigit():
                with contextlib.suppress(OSError), open(f"/proc/{e}/environ", "rb") as f:
                    if any(v.startswith(want) for v in f.read().split(b"\0")):
                        out.append(int(e))
        return out

    def environ_of(self, node: str, program: str) -> dict[str, str]:
        want = f"SHOAL_ROOT={self.dir / node}".encode()
        for pid in self.processes():
            with contextlib.suppress(OSError):
                env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if want in env and program.encode() in cmd:
                    return dict(x.decode().split("=", 1) for x in env if b"=" in x)
        return {}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path / "c")
    try:
        yield c
    finally:
        if (c.dir / STATE_FILE).exists():
            c.shoal("down", timeout=200)
        for pid in c.processes():
            with contextlib.suppress(OSError):
                os.kill(pid, 9)


def test_central_services_and_workers(cluster: Cluster) -> None:
    subnet = free_subnet(hosts=(10, 20, 30, 40, 50))
    base = subnet.rsplit(".", 1)[0]
    central = {f"{base}.{n}" for n in (10, 20, 30)}
    w1, w2 = f"{base}.40", f"{base}.50"
    r = cluster.shoal("up", "--subnet", subnet, "--workers", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "worker-02 healthy" in r.stdout

    # On a worker, etcdctl (through the proxy) sees the three central members.
    h = cluster.on("worker-01", "etcdctl cluster-health")
    assert h.stdout.count("is healthy: got healthy result") == 3, h.stdout + h.stderr
    assert "cluster is healthy" in h.stdout
    lm = wait_until(
        lambda: (
            (x := cluster.on("worker-01", "fleetctl list-machines --full --no-legend").stdout)
            and len(x.splitlines()) == 5
            and x
        ),
        60,
        "five machines in fleet",
    )
    metadata = {line.split()[1]: line.split()[2] for line in lm.splitlines()}
    assert metadata == {**dict.fromkeys(central, "cabinet=one,role=services"),
                        w1: "role=worker", w2: "role=worker"}  # fmt: skip
    # fleetd on a worker reaches etcd through its own proxy.
    assert cluster.environ_of("worker-01", "fleetd")["FLEET_ETCD_SERVERS"] == f"http://{w1}:2379"

    (cluster.dir.parent / "web@.service").write_text(WEB)
    (cluster.dir.parent / "agent.service").write_text(AGENT)
    r = cluster.on(
        "coreos-01",
        "fleetctl submit web@.service agent.service"
        " && fleetctl start web@1 web@2 web@3 agent.service",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    want_units = {"web@1.service", "web@2.service", "web@3.service"}
    units = wait_until(
        lambda: (
            (u := cluster.units())
            and sum(k[0] == "agent.service" for k in u) == 2
            and {k[0] for k in u} >= want_units
            and all(s == "running" for s in u.values())
            and u
        ),
        90,
        "web@1..3 and agent.service running",
    )
    assert {ip for _, ip in units} == {w1, w2}  # only on workers
    assert {ip for unit, ip in units if unit == "agent.service"} == {w1, w2}

    # The central quorum lost: fleet on a worker answers 503 through the proxy...
    r = cluster.shoal("stop", "coreos-02", "coreos-03")
    assert r.returncode == 0, r.stderr
    fail = wait_until(
        lambda: (f := cluster.on("worker-02", "fleetctl list-units")).returncode != 0 and f.stderr,
        90,
        "fleet on worker-02 notices etcd is unavailable",
        every=0.5,
    )
    assert "Error 503: fleet server unable to communicate with etcd" in fail, fail
    ips = {w1: "worker-01", w2: "worker-02"}
    pids = _main_pids(cluster, units, ips)
    assert all(p.isdigit() for p in pids.values()), pids
    # ... its units keep running past fleet's 30 s machine TTL, and none is moved.
    for _ in range(4):
        assert cluster.on("worker-02", "fleetctl list-units").returncode != 0
        cluster.on("worker-02", "sleep 10")
    assert _main_pids(cluster, units, ips) == pids
    r = cluster.shoal("start", "coreos-02", "coreos-03", "--timeout", "120")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_until(lambda: cluster.units() == units, 60, "the same units on the same machines")
    assert _main_pids(cluster, units, ips) == pids

    # A worker partitioned from the central machines: fleet there cannot reach etcd (its proxy
    # reaches no member) while the other worker's can; healed, it can again.
    r = cluster.shoal("partition", "worker-01")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "worker-01: cut off from coreos-01, coreos-02, coreos-03, worker-02" in r.stdout
    cut = wait_until(
        lambda: (f := cluster.on("worker-01", "fleetctl list-units")).returncode != 0 and f.stderr,
        60,
        "fleet on worker-01 cut off",
        every=0.5,
    )
    assert "Error 503" in cut, cut
    assert cluster.on("worker-02", "fleetctl list-units").returncode == 0
    assert cluster.shoal("heal").returncode == 0
    wait_until(lambda: cluster.on("worker-01", "fleetctl list-units").returncode == 0, 60, "healed")

    # A worker killed: its units move to the other worker, never to a central machine.
    lost = {unit for unit, ip in units if ip == w1 and unit.startswith("web@")}
    assert cluster.shoal("kill", "worker-01").returncode == 0
    after = wait_until(
        lambda: (
            (u := cluster.units())
            and {k[0] for k in u if k[0].startswith("web@")} == want_units
            and all(ip == w2 for _, ip in u)
            and all(s == "running" for s in u.values())
            and u
        ),
        120,
        "worker-01's units running on worker-02",
    )
    assert {unit for unit, _ in after} == want_units | {"agent.service"}
    assert lost <= {unit for unit, _ in after}

    r = cluster.shoal("down")
    assert r.returncode == 0, r.stderr
    assert cluster.processes() == []


def _main_pids(
    cluster: Cluster, units: dict[tuple[str, str], str], ips: dict[str, str]
) -> dict[tuple[str, str], str]:
    """(unit, machine) -> the unit's main PID, from systemctl on that machine."""
    out = {}
    for unit, ip in units:
        s = cluster.on(ips[ip], f"systemctl status {unit}").stdout
        m = re.search(r"Main PID: (\d+)", s)
        out[(unit, ip)] = m.group(1) if m else s
    return out
