"""`shoal bench`: a 3-member shoal cluster and a 3-member etcd 3.4 side by side under the same load.

See src/shoal/bench/README.md for what each row measures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from shoal.bench.cluster import ETCD_BINARY, ClusterError
from shoal.bench.loadgen import default_workers
from shoal.bench.runner import ROWS, Figure, Options, as_json, measure_ceiling, run_all, table


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="shoal bench",
        description="Benchmark a 3-member shoal cluster against a 3-member etcd 3.4 (v2 API) "
        "on loopback, with the same settings and the same load, one after the other.",
    )
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds per row (5)")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before (1)")
    p.add_argument(
        "--rows",
        default=",".join(ROWS),
        help=f"comma-separated rows to run (default all: {','.join(ROWS)})",
    )
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--no-etcd", action="store_true", help="run shoal only")
    p.add_argument("--no-ceiling", action="store_true", help="skip the load generator check")
    p.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="load generator processes (default: cores, at most 4)",
    )
    p.add_argument("--heartbeat-interval", type=int, default=100, help="ms, both clusters (100)")
    p.add_argument("--election-timeout", type=int, default=1000, help="ms, both clusters (1000)")
    p.add_argument("--keys", type=int, default=100_000, help="keys for the rss/restart rows")
    p.add_argument("--watchers", type=int, default=1000, help="watchers for the watch row")
    p.add_argument("--watch-rounds", type=int, default=10, help="writes in the watch row")
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each load row N times per cluster (alternating) and keep the median (1)",
    )
    p.add_argument("--data-root", help="where the data dirs go (default: a new temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the data dirs and logs")
    return p


def _clean(x: object) -> object:
    """NaN is not JSON: write null."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x


def main(argv: list[str]) -> int:
    a = _parser().parse_args(argv)
    rows = [r.strip() for r in a.rows.split(",") if r.strip()]
    bad = [r for r in rows if r not in ROWS]
    if bad:
        print(
            f"shoal bench: unknown rows {', '.join(bad)} (known: {', '.join(ROWS)})",
            file=sys.stderr,
        )
        return 2
    root = Path(a.data_root) if a.data_root else Path(tempfile.mkdtemp(prefix="shoal-bench-"))
    root.mkdir(parents=True, exist_ok=True)

    def log(s: str) -> None:
        print(s, file=sys.stderr, flush=True)

    opts = Options(
        duration=a.duration,
        warmup=a.warmup,
        workers=a.workers,
        heartbeat_ms=a.heartbeat_interval,
        election_ms=a.election_timeout,
        big_keys=a.keys,
        watchers=a.watchers,
        watch_rounds=a.watch_rounds,
        repeat=a.repeat,
        root=root,
        log=log,
    )
    with_etcd = not a.no_etcd and os.path.exists(ETCD_BINARY)
    if not a.no_etcd and not with_etcd:
        log(f"shoal bench: {ETCD_BINARY} not found: running shoal only (no ratios)")
    ceiling: Figure | None = None
    load_before = os.getloadavg()[0]
    try:
        if not a.no_ceiling:
            log("load generator ceiling ...")
            ceiling = measure_ceiling(opts)
        log("clusters ...")
        results = run_all(["shoal", "etcd"] if with_etcd else ["shoal"], rows, opts)
        shoal = results["shoal"]
        etcd = results.get("etcd")
    except ClusterError as e:
        print(f"shoal bench: {e}", file=sys.stderr)
        return 1
    finally:
        if not a.keep and not a.data_root:
            shutil.rmtree(root, ignore_errors=True)
    header = (
        f"shoal bench: {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, duration {a.duration:g}s/row, "
        f"heartbeat {a.heartbeat_interval} ms, election {a.election_timeout} ms, "
        f"load generator {a.workers} processes, repeat {a.repeat}\n"
        f"machine load average (1 min): {load_before:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end"
    )
    print(table(shoal, etcd, ceiling, header))
    if a.json:
        meta: dict[str, object] = {
            "command": "shoal bench " + " ".join(argv),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "etcd": with_etcd,
        }
        Path(a.json).write_text(json.dumps(_clean(as_json(shoal, etcd, ceiling, meta)), indent=2))
    return 0
