"""Scale bench (not a test): 1,000 units across 10 fleetd processes against a 3-member etcd.

    .venv/bin/python bench/fleet_scale.py [--units 1000] [--machines 10] [--rest 30]

Prints: time to submit and launch all units, `fleetctl list-units` wall time, and etcd requests
per second at rest (from each member's etcd_http_received_total). Everything runs on loopback
and is killed at the end.

Measured 2026-11-25 on the shared 2-core build machine (other sessions' jobs running), real etcd
3.4.23 x 3, 10 fleetd with fleet's default timings (agent_ttl 30s, reconcile 2s):

    10 fleetd registered in 7.3s
    fleetctl start --no-block of 1000 units returned in 63.5s
    all 1000 units active 64.4s after the start command
    units per machine: min 100 max 100
    fleetctl list-units (1000 rows), wall incl. process start: best 0.18s, worst 0.44s
    etcd requests at rest: 0.90/s (GET 0.00, PUT 0.90, QGET 0.00) over 30s

At rest the only writes are machine heartbeats (TTL refreshes every agent_ttl/2) and the engine
lease renewal; neither wakes a watcher. fleet itself re-published every unit's state with a TTL.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

# It starts fleetd processes with the fleet tests' process helpers (tests/fleet/fleet_procs.py),
# which stand on the shared ones in tests/support.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fleet"))
from fleet_procs import PYTHON, FleetCluster

from support import ETCD, free_port, stop_process, wait_until


def start_etcd_cluster(workdir: Path, n: int) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    names = [f"b{i}" for i in range(n)]
    peers = {nm: f"http://127.0.0.1:{free_port()}" for nm in names}
    clients = {nm: f"http://127.0.0.1:{free_port()}" for nm in names}
    initial = ",".join(f"{nm}={peers[nm]}" for nm in names)
    procs = []
    for nm in names:
        log = open(workdir / f"{nm}.log", "ab")  # noqa: SIM115
        procs.append(
            subprocess.Popen(
                [
                    ETCD,
                    f"--name={nm}",
                    f"--data-dir={workdir / nm}",
                    "--enable-v2",
                    f"--listen-client-urls={clients[nm]}",
                    f"--advertise-client-urls={clients[nm]}",
                    f"--listen-peer-urls={peers[nm]}",
                    f"--initial-advertise-peer-urls={peers[nm]}",
                    f"--initial-cluster={initial}",
                    "--initial-cluster-state=new",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        log.close()
    urls = list(clients.values())

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(urls[0] + "/v2/keys/?quorum=true", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    wait_until(healthy, 60, "the etcd cluster")
    return procs, urls


def received(urls: list[str]) -> dict[str, int]:
    """etcd's own count of v2 requests received, by method, summed over the members."""
    total: dict[str, int] = {}
    for u in urls:
        with urllib.request.urlopen(u + "/metrics", timeout=5) as r:
            text = r.read().decode()
        pattern = r'^etcd_http_received_total\{method="(\w+)"\} (\S+)$'
        for m in re.finditer(pattern, text, re.M):
            total[m.group(1)] = total.get(m.group(1), 0) + int(float(m.group(2)))
    return total


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1000)
    ap.add_argument("--machines", type=int, default=10)
    ap.add_argument("--rest", type=float, default=30.0)
    a = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="shoal-fleet-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    cluster = None
    try:
        procs, urls = start_etcd_cluster(workdir, 3)
        machines = {f"{i:08x}" + "b" * 24: f"rack={i % 3}" for i in range(a.machines)}
        # fleet's default timings (the tests shorten them).
        cluster = FleetCluster(
            ",".join(urls), machines, agent_ttl="30s", engine_reconcile_interval="2"
        )
        t0 = time.monotonic()
        cluster.start()
        print(f"{a.machines} fleetd registered in {time.monotonic() - t0:.1f}s")
        files = [cluster.unit_file(f"u{i:04d}.service") for i in range(a.units)]
        ep = cluster.any().endpoint
        t0 = time.monotonic()
        r = subprocess.run(
            [
                PYTHON,
                "-m",
                "shoal.cli",
                "fleetctl",
                f"--endpoint={ep}",
                "start",
                "--no-block",
                *files,
            ],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        submitted = time.monotonic() - t0
        assert r.returncode == 0, r.stderr[-2000:]
        print(f"fleetctl start --no-block of {a.units} units returned in {submitted:.1f}s")

        def active() -> int:
            rc, out, _ = cluster.ctl("list-units", "--no-legend", "--fields=active")
            return out.split().count("active") if rc == 0 else 0

        wait_until(lambda: active() == a.units, 1800, "all units active", every=0.5)
        launched = time.monotonic() - t0
        print(f"all {a.units} units active {launched:.1f}s after the start command")
        per = {}
        for _unit, (mid, _) in cluster.placement().items():
            per[mid] = per.get(mid, 0) + 1
        print(f"units per machine: min {min(per.values())} max {max(per.values())}")
        times = []
        for _ in range(5):
            t1 = time.monotonic()
            r = subprocess.run(
                [PYTHON, "-m", "shoal.cli", "fleetctl", f"--endpoint={ep}", "list-units"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            times.append(time.monotonic() - t1)
            assert r.returncode == 0 and len(r.stdout.splitlines()) == a.units + 1
        print(
            f"fleetctl list-units ({a.units} rows), wall incl. process start: "
            f"best {min(times):.2f}s, worst {max(times):.2f}s"
        )
        time.sleep(5)  # let the launch's last writes settle before measuring rest
        n0 = received(urls)
        time.sleep(a.rest)
        n1 = received(urls)
        rates = {k: (v - n0.get(k, 0)) / a.rest for k, v in n1.items()}
        detail = ", ".join(f"{k} {v:.2f}" for k, v in sorted(rates.items()))
        print(
            f"etcd requests at rest: {sum(rates.values()):.2f}/s ({detail}) over {a.rest:.0f}s "
            f"(3 members, {a.machines} fleetd, {a.units} units)"
        )
        return 0
    finally:
        if cluster is not None:
            cluster.close()
        for p in procs:
            with contextlib.suppress(Exception):
                stop_process(p, signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
