"""Profile the leader of a 3-member shoal cluster under one `shoal bench` load, with py-spy.

    .venv/bin/python bench/profile_member.py --row put64 [--seconds 8] [--py-spy PATH]

Writes the collapsed stacks (py-spy --format raw) and prints the top functions by self time and
by total time, plus the share of each layer (etcd/http, raft, wal, transport, store, aiohttp,
asyncio, other). py-spy is not a project dependency: install it in a separate venv.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import tempfile
import threading
from pathlib import Path

from shoal.bench.cluster import HOST, Cluster
from shoal.bench.loadgen import run_load
from shoal.bench.runner import ROWS, _get, _put, fill

LAYERS = [
    ("shoal/etcd/v2http", "http"),
    ("shoal/etcd/", "member"),
    ("shoal/raft/codec", "codec"),
    ("shoal/raft", "raft"),
    ("shoal/wal", "wal"),
    ("shoal/transport", "transport"),
    ("shoal/store", "store"),
    ("aiohttp", "aiohttp"),
    ("msgpack", "msgpack"),
    ("asyncio", "asyncio"),
    ("uvloop", "uvloop"),
]


def layer(frame: str) -> str:
    for needle, name in LAYERS:
        if needle in frame:
            return name
    return "other"


def report(raw: Path, top: int) -> None:
    self_t: collections.Counter[str] = collections.Counter()
    total_t: collections.Counter[str] = collections.Counter()
    layers: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    n = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        c = int(count)
        frames = stack.split(";")
        n += c
        threads[frames[0]] += c
        leaf = frames[-1]
        self_t[leaf] += c
        for f in set(frames[1:]):
            total_t[f] += c
        # The innermost shoal/aiohttp frame decides the layer (a leaf in the stdlib is
        # charged to its caller's layer).
        lay = "other"
        for f in reversed(frames[1:]):
            lay = layer(f)
            if lay not in ("other", "asyncio"):
                break
        layers[lay] += c
    print(f"{n} samples")
    print("threads:", ", ".join(f"{t} {100 * c / n:.0f}%" for t, c in threads.most_common()))
    print("layers (innermost shoal/aiohttp frame):")
    for k, c in layers.most_common():
        print(f"  {k:<10} {100 * c / n:5.1f}%")
    print("self:")
    for k, c in self_t.most_common(top):
        print(f"  {100 * c / n:5.1f}%  {k}")
    print("total:")
    for k, c in total_t.most_common(top):
        print(f"  {100 * c / n:5.1f}%  {k}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--row", default="put64", choices=["put1", "put64", "get64", "qget64"])
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--py-spy", default="/tmp/profenv/bin/py-spy")
    p.add_argument("--rate", type=int, default=250)
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--out", default="")
    a = p.parse_args()
    what, conns, _ = ROWS[a.row]
    root = Path(tempfile.mkdtemp(prefix="shoal-prof-"))
    out = Path(a.out) if a.out else root / f"{a.row}.raw"
    with Cluster("shoal", root) as c:
        lead = c.leader()
        host = f"{HOST}:{lead.client_port}"
        fill(lead.client_port, host)
        build = _put(host) if what == "put" else _get(host, what == "qget")
        spy = [a.py_spy, "record", "-p", str(lead.pid), "-r", str(a.rate), "-d"]
        spy += [str(int(a.seconds)), "-f", "raw", "-o", str(out), "--threads", "--nonblocking"]
        result: list[object] = []
        t = threading.Thread(
            target=lambda: result.append(
                run_load(HOST, [lead.client_port], conns, build, a.seconds + 2, 0.5)
            )
        )
        t.start()
        subprocess.run(spy, check=True, capture_output=True)
        t.join()
        res = result[0]
        print(f"{a.row}: {res.rate:,.0f} ops/s, errors {res.errors}")  # type: ignore[attr-defined]
    report(out, a.top)
    print(f"raw stacks: {out}")


if __name__ == "__main__":
    main()
