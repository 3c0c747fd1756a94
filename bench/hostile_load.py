"""Load limits: what one member does with many idle connections, many watchers, slow clients,
big bodies and headers, and a pipelined flood, while a control client keeps asking it.

    python bench/hostile_load.py [--idle 10000] [--watchers 10000] [--slow 200] [--etcd]

Starts one `shoal etcd` member (or, with --etcd, the real etcd 3.4 for comparison) on loopback
and prints, per phase, the control client's GET latency (p50 / p99 of 40 requests made while the
load is held), the member's RSS and open fds, and what the hostile clients got back. Needs a
file-descriptor limit above the connection counts (ulimit -n). Not a test: `make test` does
not run it; the figures go in bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.etcd import ETCD, SHOAL_ETCD, EtcdMember, real_etcd

HOST = "127.0.0.1"


def proc_stats(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rss = next(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS"))
        fds = len(list(Path(f"/proc/{pid}/fd").iterdir()))
    except (OSError, StopIteration):
        return "rss ? fds ?"
    return f"rss {rss / 1024:.0f} MiB, fds {fds}"


def member_pid(m: EtcdMember) -> int:
    port = m.client_url.rsplit(":", 1)[1]
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(f":{port}".encode() in c for c in cmd) and b"--listen-client-urls" in cmd:
            return int(p.name)
    return 0


async def request(port: int, raw: bytes, timeout: float = 10.0) -> tuple[int, float]:
    """(status or 0, seconds) for one request on a fresh connection."""
    t0 = time.perf_counter()
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout)
        w.write(raw)
        line = await asyncio.wait_for(r.readline(), timeout)
        w.close()
        status = int(line.split()[1]) if line.startswith(b"HTTP/") else 0
    except (OSError, TimeoutError, ValueError, IndexError):
        status = 0
    return status, time.perf_counter() - t0


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()


def put_w(v: int) -> bytes:
    return (
        b"PUT /v2/keys/w HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\nvalue=%d" % v
    )


async def control(port: int, n: int = 40) -> str:
    lat = []
    bad = 0
    for i in range(n):
        status, took = await request(port, get(f"/v2/keys/control{i % 4}"))
        lat.append(took * 1000)
        bad += status not in (200, 404)
        await asyncio.sleep(0.02)
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return f"control GET p50 {statistics.median(lat):.1f} ms, p99 {p99:.1f} ms, failed {bad}/{n}"


async def open_idle(port: int, n: int) -> list[asyncio.StreamWriter]:
    out = []
    for i in range(0, n, 500):
        batch = await asyncio.gather(
            *(asyncio.open_connection(HOST, port) for _ in range(min(500, n - i))),
            return_exceptions=True,
        )
        out += [w for x in batch if not isinstance(x, BaseException) for w in [x[1]]]
    return out


async def phase(name: str, port: int, pid: int, held: str) -> None:
    print(f"{name}: {held}; {await control(port)}; member {proc_stats(pid)}", flush=True)


async def main(a: argparse.Namespace) -> None:
    command = [ETCD] if a.etcd else SHOAL_ETCD
    with real_etcd(command=command, name="load") as m:
        port = int(m.client_url.rsplit(":", 1)[1])
        pid = member_pid(m)
        await request(port, put_w(0))
        await phase("baseline", port, pid, "nothing held")

        conns = await open_idle(port, a.idle)
        await asyncio.sleep(1)
        await phase("idle", port, pid, f"{len(conns)} of {a.idle} idle connections open")
        for w in conns:
            w.close()
        await asyncio.sleep(1)

        watchers = await open_idle(port, a.watchers)
        for w in watchers:
            w.write(get("/v2/keys/w?wait=true"))
        await asyncio.sleep(2)
        await phase("watchers", port, pid, f"{len(watchers)} watchers waiting on one key")
        t0 = time.perf_counter()
        await request(port, put_w(1))
        for w in watchers:
            w.close()
        print(f"  one PUT with the watchers waiting: {(time.perf_counter() - t0) * 1000:.0f} ms")
        await asyncio.sleep(1)

        slow = await open_idle(port, a.slow)
        for w in slow:
            w.write(b"GET /v2/keys/ HTTP/1.1\r\nHo")  # and never the rest
        body_slow = await open_idle(port, a.slow)
        for w in body_slow:
            w.write(b"PUT /v2/keys/s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nvalue=")
        await asyncio.sleep(2)
        await phase("slow", port, pid, f"{a.slow} slow-header + {a.slow} slow-body clients")
        for w in [*slow, *body_slow]:
            w.close()

        for size in (1 << 20, 3 << 19, 2 << 20):
            body = b"value=" + b"v" * size
            status, took = await request(
                port,
                b"PUT /v2/keys/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/"
                b"x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
            )
            print(f"  PUT of a {size / (1 << 20):.1f} MiB value: {status} in {took * 1000:.0f} ms")
        for size in (8 << 10, 100 << 10, 1 << 20):
            status, took = await request(
                port, b"GET /v2/keys/ HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * size + b"\r\n\r\n"
            )
            print(f"  GET with a {size >> 10} KiB header: {status} in {took * 1000:.0f} ms")

        r, w = await asyncio.open_connection(HOST, port)
        t0 = time.perf_counter()
        w.write(b"GET /v2/keys/w HTTP/1.1\r\nHost: x\r\n\r\n" * a.pipelined)
        got = 0
        try:
            while got < a.pipelined:
                line = await asyncio.wait_for(r.readline(), 10)
                if not line:
                    break
                got += line.startswith(b"HTTP/1.1 ")
        except TimeoutError:
            pass
        w.close()
        took = time.perf_counter() - t0
        print(
            f"  pipelined flood: {got} of {a.pipelined} answers in {took:.2f} s on one connection"
        )
        await asyncio.sleep(5)
        await phase("after", port, pid, "everything released 5 s ago")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--watchers", type=int, default=10000)
    ap.add_argument("--slow", type=int, default=200)
    ap.add_argument("--pipelined", type=int, default=10000)
    ap.add_argument("--etcd", action="store_true", help="measure the real etcd 3.4 instead")
    asyncio.run(main(ap.parse_args()))
