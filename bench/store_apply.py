"""Throughput of the store's hot paths (not a test):

    .venv/bin/python bench/store_apply.py

Applies PUTs the way a member applies its log (decode, apply, encode the response), then
reads, snapshots and hashes the result. Figures are per second on one core.
"""

from __future__ import annotations

import time

from shoal.store import Request, Store, keys_path

N = 100_000
NOW = 1_800_000_000.0


def rate(label: str, n: int, t0: float) -> None:
    print(f"{label:<44} {n / (time.perf_counter() - t0):>10,.0f}/s")


def main() -> None:
    s = Store()
    log = [
        Request("PUT", keys_path(f"/bench/k{i % 1000}/v{i}"), f"value-{i}").encode()
        for i in range(N)
    ]
    t0 = time.perf_counter()
    for b in log:
        s.apply(Request.decode(b), NOW)
    rate("decode + apply (new keys)", N, t0)
    t0 = time.perf_counter()
    for b in log:
        e = s.apply(Request.decode(b), NOW)
        assert e is not None
        e.to_json()
    rate("decode + apply + response JSON (replace)", N, t0)
    t0 = time.perf_counter()
    for i in range(N):
        s.get(keys_path(f"/bench/k{i % 1000}/v{i}"), now=NOW)
    rate("get", N, t0)
    t0 = time.perf_counter()
    data = s.save()
    print(f"save: {len(data):,} bytes in {(time.perf_counter() - t0) * 1000:.0f} ms")
    t0 = time.perf_counter()
    Store.from_snapshot(data)
    print(f"restore: {(time.perf_counter() - t0) * 1000:.0f} ms")
    t0 = time.perf_counter()
    s.hash()
    print(f"hash: {(time.perf_counter() - t0) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
