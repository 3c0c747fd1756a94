"""Throughput of the v2 HTTP layer over the fake member, beside a real etcd 3.4 in the same run.

    .venv/bin/python bench/http_layer.py [--seconds 3] [--clients 32] [--uvloop]

The server runs in its own process (the fake member applies writes directly to its store, so
this measures the HTTP layer plus the store, not raft or the disk); the client is an aiohttp
session with keep-alive connections. The client is Python too, so figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

# The server under test is the compatibility tests' fake member (tests/compat/fake_server.py);
# the real etcd beside it comes from the tests' launcher (tests/support/etcd.py).
TESTS = Path(__file__).resolve().parents[1] / "tests"
FAKE_SERVER = TESTS / "compat" / "fake_server.py"
sys.path.insert(0, str(TESTS))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), for a figure the load of other
    processes on the machine does not distort."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pid_listening(port: int) -> int | None:
    """The etcd process serving `port` (found by its command line)."""
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes()
            except OSError:
                continue
            if b"etcd" in cmd and f":{port}".encode() in cmd:
                return int(d.name)
    return None


async def run(
    base: str, method: str, path: str, data: str | None, clients: int, secs: float
) -> tuple[float, int]:
    done = 0
    stop = time.monotonic() + secs
    conn = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=conn) as s:

        async def worker() -> None:
            nonlocal done
            hdrs = {"Content-Type": "application/x-www-form-urlencoded"} if data else None
            while time.monotonic() < stop:
                async with s.request(method, base + path, data=data, headers=hdrs) as r:
                    await r.read()
                    assert r.status < 300, r.status
                done += 1

        await asyncio.gather(*(worker() for _ in range(clients)))
    return done / secs, done


def bench(name: str, base: str, pid: int | None, clients: int, secs: float) -> None:
    asyncio.run(run(base, "PUT", "/v2/keys/bench/k", "value=v", 1, 0.2))
    for label, method, path, data in [
        ("GET  /v2/keys/bench/k", "GET", "/v2/keys/bench/k", None),
        ("PUT  /v2/keys/bench/k", "PUT", "/v2/keys/bench/k", "value=hello"),
        ("GET  quorum=true", "GET", "/v2/keys/bench/k?quorum=true", None),
    ]:
        cpu0 = cpu_seconds(pid) if pid else 0.0
        rate, n = asyncio.run(run(base, method, path, data, clients, secs))
        cpu = f"{(cpu_seconds(pid) - cpu0) / n * 1e6:6.0f} us server CPU/req" if pid else ""
        print(f"{name:<14} {label:<24} {rate:>7.0f} req/s {cpu}  ({clients} clients)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--uvloop", action="store_true")
    a = ap.parse_args()
    cmd = [sys.executable, str(FAKE_SERVER)] + (["--uvloop"] if a.uvloop else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        bench("shoal (fake)", base, proc.pid, a.clients, a.seconds)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if os.path.exists("/usr/bin/etcd"):
        from support import real_etcd

        with real_etcd() as etcd:
            pid = pid_listening(int(etcd.addr.rsplit(":", 1)[1]))
            bench("etcd 3.4.23", etcd.client_url, pid, a.clients, a.seconds)


if __name__ == "__main__":
    main()
