"""The benchmark rows, run against one cluster at a time, and the table comparing them."""

from __future__ import annotations

import contextlib
import http.client
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from shoal.bench import clitime
from shoal.bench.cluster import HOST, Cluster, cpu_seconds, http_get, rss_bytes
from shoal.bench.loadgen import Builder, LoadResult, percentile, run_load
from shoal.bench.trivial import TrivialServer
from shoal.bench.watch import run_watch, seed_key

KEYS = 1000
VALUE = b"v" * 64
BIG_PREFIX = "/v2/keys/bench/big/k"

# name -> (kind of measurement, connections, what it is)
ROWS: dict[str, tuple[str, int, str]] = {
    "put1": ("put", 1, "PUT 64 B to 1,000 keys, 1 connection"),
    "put16": ("put", 16, "PUT, 16 connections"),
    "put64": ("put", 64, "PUT, 64 connections"),
    "put256": ("put", 256, "PUT, 256 connections"),
    "get64": ("get", 64, "GET (local), 64 connections"),
    "qget64": ("qget", 64, "GET quorum=true, 64 connections"),
    "watch": ("watch", 0, "watch fan-out: write -> last of 1,000 watchers"),
    "cli": ("cli", 0, "etcdctl get/set/ls: one call, start to exit (ms; Go's etcdctl for etcd)"),
    "rss100k": ("rss", 0, "RSS of the leader holding 100,000 keys (MB)"),
    "restart100k": ("restart", 0, "restart a member with 100,000 keys and serve (s)"),
}

# row -> (which figure, bound on shoal/etcd): the targets.
TARGETS: dict[str, tuple[str, str, float]] = {
    "put64": ("value", ">=", 0.5),
    "qget64": ("value", ">=", 0.5),
    "get64": ("value", ">=", 0.3),
    "put1": ("p50", "<=", 2.0),
    "rss100k": ("value", "<=", 2.0),
    "cli": ("value", "<=", 3.0),
}


@dataclass
class Figure:
    """One row on one system. value: ops/s (or deliveries/s, MB, seconds); p50/p99 in ms."""

    value: float = float("nan")
    p50: float = float("nan")
    p99: float = float("nan")
    errors: int = 0
    note: str = ""
    cpu_us: float = float("nan")  # leader CPU (user + system) per operation, microseconds
    client_cpu_us: float = float("nan")  # the load generator's CPU per operation


@dataclass
class Options:
    duration: float = 5.0
    warmup: float = 1.0
    workers: int | None = None
    heartbeat_ms: int = 100
    election_ms: int = 1000
    big_keys: int = 100_000
    watchers: int = 1000
    watch_rounds: int = 10
    repeat: int = 1
    root: Path = field(default_factory=lambda: Path("/tmp"))
    log: Callable[[str], None] = print


# _put's key for (cid, 0) is cid * 7919 % KEYS; _INV inverts 7919 modulo KEYS.
_INV = pow(7919, -1, KEYS)


def _put(host: str) -> Builder:
    reqs = [
        (
            f"PUT /v2/keys/bench/k{i} HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {6 + len(VALUE)}\r\n\r\nvalue="
        ).encode()
        + VALUE
        for i in range(KEYS)
    ]
    return lambda cid, seq: reqs[(cid * 7919 + seq) % KEYS]


def _get(host: str, quorum: bool) -> Builder:
    q = "?quorum=true" if quorum else ""
    reqs = [
        f"GET /v2/keys/bench/k{i}{q} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode() for i in range(KEYS)
    ]
    return lambda cid, seq: reqs[(cid * 7919 + seq) % KEYS]


def _figure(res: LoadResult) -> Figure:
    lat = sorted(res.latencies)
    f = Figure(res.rate, percentile(lat, 0.5) * 1000, percentile(lat, 0.99) * 1000, res.errors)
    if res.ops:
        f.client_cpu_us = res.client_cpu / res.ops * 1e6
    if res.errors:
        f.note = f"{res.errors} errors, first: {res.first_error}"
    return f


def measure_ceiling(opts: Options) -> Figure:
    """The load generator against a trivial server: GET, 64 connections."""
    with TrivialServer() as srv:
        host = f"{HOST}:{srv.port}"
        res = run_load(
            HOST, [srv.port], 64, _get(host, False), opts.duration, opts.warmup, opts.workers
        )
    f = _figure(res)
    f.client_cpu_us = res.client_cpu / (res.rate * (opts.duration + opts.warmup)) * 1e6
    return f


def fill(port: int, host: str) -> None:
    """Every one of the 1,000 keys exists (GET rows need them)."""
    reqs = _put(host)
    conns = 10

    def build(cid: int, seq: int) -> bytes:
        n = cid + seq * conns  # every key exactly once
        return reqs((n * _INV) % KEYS, 0)

    run_load(HOST, [port], conns, build, 0, 0, 1, limit=KEYS // conns)


def _big_put(host: str, connections: int) -> Builder:
    def build(cid: int, seq: int) -> bytes:
        n = cid + seq * connections
        return (
            f"PUT {BIG_PREFIX}{n} HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {6 + len(VALUE)}\r\n\r\nvalue="
        ).encode() + VALUE

    return build


def _one_row(c: Cluster, r: str, opts: Options, filled: set[str]) -> Figure:
    what, conns, _ = ROWS[r]
    lead = c.leader()
    port = lead.client_port
    host = f"{HOST}:{port}"
    if what == "watch":
        return _watch(port, opts)
    if what == "cli":
        return _cli(c.kind, lead.client_url, opts)
    if what in ("get", "qget") and c.kind not in filled:
        fill(port, host)
        filled.add(c.kind)
    build = _put(host) if what == "put" else _get(host, what == "qget")
    cpu0 = cpu_seconds(lead.pid)
    res = run_load(HOST, [port], conns, build, opts.duration, opts.warmup, opts.workers)
    f = _figure(res)
    # The whole run (warm-up included) over every request completed in it.
    took = cpu_seconds(lead.pid) - cpu0
    done = f.value * (opts.duration + opts.warmup)
    f.cpu_us = took / done * 1e6 if done else float("nan")
    return f


def _median(figs: list[Figure]) -> Figure:
    """The run with the median value (ops/s; for watch the median delivery rate)."""
    ok = sorted((f for f in figs if f.value == f.value), key=lambda f: f.value)
    f = ok[(len(ok) - 1) // 2] if ok else figs[0]
    if len(figs) > 1:
        runs = ", ".join(_num(x.value) for x in figs)
        f.note = (f.note + "; " if f.note else "") + f"median of {len(figs)} runs: {runs}"
    return f


def run_all(kinds: list[str], rows: list[str], opts: Options) -> dict[str, dict[str, Figure]]:
    """Every row against every cluster kind. The load rows run with the clusters of all kinds
    up at once (an idle member costs about 1% of a core), each row against one kind right
    after the other, the order alternating from row to row and from repeat to repeat, so a
    change in the machine's load hits both sides alike. The 100k rows get fresh clusters, one
    kind after the other."""
    out: dict[str, dict[str, Figure]] = {k: {} for k in kinds}
    small = [r for r in rows if ROWS[r][0] not in ("rss", "restart")]
    big = [r for r in rows if ROWS[r][0] in ("rss", "restart")]
    if small:
        with contextlib.ExitStack() as stack:
            clusters = {
                k: stack.enter_context(Cluster(k, opts.root, opts.heartbeat_ms, opts.election_ms))
                for k in kinds
            }
            filled: set[str] = set()
            turn = 0
            for r in small:
                runs: dict[str, list[Figure]] = {k: [] for k in kinds}
                for _ in range(max(1, opts.repeat)):
                    order = kinds if turn % 2 == 0 else kinds[::-1]
                    turn += 1
                    for k in order:
                        opts.log(f"  {k} {r} ...")
                        f = _one_row(clusters[k], r, opts, filled)
                        opts.log(f"  {k} {r}: {_fmt_fig(f)}")
                        runs[k].append(f)
                for k in kinds:
                    out[k][r] = _median(runs[k])
    if big:
        for k in kinds:
            with Cluster(k, opts.root, opts.heartbeat_ms, opts.election_ms) as c:
                out[k].update(_big(c, big, opts))
    # Rows in the order asked for.
    return {k: {r: out[k][r] for r in rows if r in out[k]} for k in kinds}


def _watch(port: int, opts: Options) -> Figure:
    seed_key(HOST, port)
    res = run_watch(HOST, port, opts.watchers, opts.watch_rounds)
    if not res.rounds:
        return Figure(errors=res.errors, note=res.first_error or "no round completed")
    ms = sorted(x * 1000 for x in res.rounds)
    med = statistics.median(ms)
    f = Figure(res.watchers / (med / 1000), med, percentile(ms, 0.99), res.errors)
    f.note = f"{len(ms)} rounds" + (f"; {res.first_error}" if res.errors else "")
    return f


CLI_RUNS = 5
"""Rounds of get, set and ls per side in the cli row."""


def _cli(kind: str, endpoint: str, opts: Options) -> Figure:
    times = clitime.time_calls(clitime.client_argv(kind, endpoint), CLI_RUNS)
    ms = sorted(t * 1000 for t in times)
    med = clitime.median_ms(times)
    return Figure(med, med, percentile(ms, 0.99), note=f"{len(ms)} calls")


def _big(c: Cluster, rows: list[str], opts: Options) -> dict[str, Figure]:
    out: dict[str, Figure] = {}
    lead = c.leader()
    host = f"{HOST}:{lead.client_port}"
    conns = 64
    per = -(-opts.big_keys // conns)
    opts.log(f"  {c.kind}: writing {per * conns} keys ...")
    t0 = time.monotonic()
    res = run_load(HOST, [lead.client_port], conns, _big_put(host, conns), 0, 0, opts.workers, per)
    took = time.monotonic() - t0
    note = f"loaded {res.ops} keys in {took:.1f}s"
    if res.errors:
        note += f", {res.errors} errors: {res.first_error}"
    time.sleep(1.0)
    last = f"{BIG_PREFIX}{per * conns - 1}"
    if "rss100k" in rows:
        rss = rss_bytes(lead.pid) / 2**20
        others = [rss_bytes(m.pid) / 2**20 for m in c.members if m is not lead]
        out["rss100k"] = Figure(
            rss,
            errors=res.errors,
            note=note + f"; followers {', '.join(f'{x:.0f}' for x in others)} MB",
        )
        opts.log(f"  {c.kind} rss100k: {_fmt_fig(out['rss100k'])}")
    if "restart100k" in rows:
        m = c.follower()
        m.stop()
        t0 = time.monotonic()
        m.start()
        served = False
        while time.monotonic() - t0 < 120:
            try:
                code, _ = http_get(m.client_url + last, 1.0)
                if code == 200:
                    served = True
                    break
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.01)
        took = time.monotonic() - t0
        out["restart100k"] = Figure(
            took if served else float("nan"),
            note=f"follower {m.name}; RSS after {rss_bytes(m.pid) / 2**20:.0f} MB",
        )
        opts.log(f"  {c.kind} restart100k: {_fmt_fig(out['restart100k'])}")
    return out


def _fmt_fig(f: Figure) -> str:
    s = f"{f.value:,.1f}  p50 {f.p50:.2f} ms  p99 {f.p99:.2f} ms  leader CPU/op {f.cpu_us:.0f} us"
    return s + (f"  ({f.note})" if f.note else "")


def ratio(a: float, b: float) -> float:
    return a / b if b and b == b and a == a else float("nan")


def _num(x: float, unit: str = "") -> str:
    if x != x:
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}{unit}"
    if abs(x) >= 10:
        return f"{x:.1f}{unit}"
    return f"{x:.2f}{unit}"


def target_text(row: str, shoal: Figure, etcd: Figure | None) -> str:
    t = TARGETS.get(row)
    if t is None or etcd is None:
        return ""
    which, op, bound = t
    r = ratio(getattr(shoal, which), getattr(etcd, which))
    if r != r:
        return f"{which} {op}{bound}x: ?"
    ok = r >= bound if op == ">=" else r <= bound
    return f"{which} {op}{bound}x: {'ok' if ok else 'MISS'}"


def table(
    shoal: dict[str, Figure], etcd: dict[str, Figure] | None, ceiling: Figure | None, header: str
) -> str:
    lines = [header]
    if ceiling is not None:
        lines.append(
            f"load generator ceiling (trivial server, GET, 64 conns): {ceiling.value:,.0f} ops/s, "
            f"p50 {ceiling.p50:.2f} ms; generator CPU {ceiling.client_cpu_us:.0f} us/request"
        )
    cols = ["row", "shoal", "p50 ms", "p99 ms", "cpu us"]
    if etcd is not None:
        cols += ["etcd", "p50 ms", "p99 ms", "cpu us", "ratio", "p50 ratio", "target"]
    body = []
    for r, f in shoal.items():
        cells = [r, _num(f.value), _num(f.p50), _num(f.p99), _num(f.cpu_us)]
        if etcd is not None:
            e = etcd.get(r, Figure())
            cells += [
                _num(e.value),
                _num(e.p50),
                _num(e.p99),
                _num(e.cpu_us),
                _num(ratio(f.value, e.value), "x"),
                _num(ratio(f.p50, e.p50), "x"),
                target_text(r, f, e),
            ]
        body.append(cells)
    widths = [max(len(c[i]) for c in [cols, *body]) for i in range(len(cols))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i in (0, len(cols) - 1) else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines.append(fmt(cols))
    lines += [fmt(c) for c in body]
    lines.append("")
    lines.append("value: ops/s; watch: deliveries/s, p50/p99 = write -> last delivery;")
    lines.append("rss100k: MB; restart100k: seconds to serve the last key. ratio = shoal/etcd.")
    lines.append("cli: median ms of one etcdctl get/set/ls call (shoal etcdctl; Go etcdctl).")
    lines.append("cpu us: the leader's CPU time (user + system) per request, warm-up included.")
    notes = [
        (f"{r} ({k})", f.note)
        for k, d in (("shoal", shoal), ("etcd", etcd or {}))
        for r, f in d.items()
        if f.note
    ]
    for who, n in notes:
        lines.append(f"  {who}: {n}")
    return "\n".join(lines)


def as_json(
    shoal: dict[str, Figure],
    etcd: dict[str, Figure] | None,
    ceiling: Figure | None,
    meta: dict[str, object],
) -> dict[str, object]:
    rows = {}
    for r, f in shoal.items():
        d: dict[str, object] = {"what": ROWS[r][2], "shoal": asdict(f)}
        if etcd is not None and r in etcd:
            e = etcd[r]
            d["etcd"] = asdict(e)
            d["ratio"] = ratio(f.value, e.value)
            d["p50_ratio"] = ratio(f.p50, e.p50)
            d["target"] = target_text(r, f, e)
        rows[r] = d
    return {
        "meta": meta,
        "ceiling": asdict(ceiling) if ceiling else None,
        "rows": rows,
    }
