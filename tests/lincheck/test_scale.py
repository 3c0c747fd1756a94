"""Long, busy histories like the torture harness records: decided in seconds, and a single stale
read buried among thousands of operations is found and pointed at."""

from __future__ import annotations

import dataclasses
import random
import time

from shoal.lincheck import CheckResult, KvInput, KvMap, KvOutput, Operation, OpKind, check, report
from shoal.lincheck.kvops import Value


def atomic_store_history(
    seed: int, clients: int, count: int, keys: int, unknown: float
) -> list[Operation]:
    """What clients of a correct store see: each operation takes effect at one instant between
    its call and return; one with an unknown outcome takes effect there, or never."""
    rng = random.Random(seed)
    free = [0.0] * clients
    planned = []
    for n in range(count):
        client = min(range(clients), key=free.__getitem__)
        call = free[client]
        ret = call + rng.expovariate(1.0)
        free[client] = ret + rng.uniform(0, 0.1)
        kind = rng.choice([OpKind.READ, OpKind.READ, OpKind.WRITE, OpKind.CAS])
        key = f"/k{rng.randrange(keys)}"
        planned.append((rng.uniform(call, ret), client, call, ret, kind, key, n))
    values: dict[str, Value] = {}
    history = []
    for _, client, call, ret, kind, key, n in sorted(planned):
        lost = kind is not OpKind.READ and rng.random() < unknown
        current = values.get(key)
        if kind is OpKind.READ:
            inp, out = KvInput(kind, key), KvOutput(value=current)
        elif kind is OpKind.WRITE:
            inp, out = KvInput(kind, key, n), KvOutput()
        else:
            expected = current if rng.random() < 0.7 else -1
            inp, out = KvInput(kind, key, n, expected), KvOutput(ok=current == expected)
        if out.ok and kind is not OpKind.READ and not (lost and rng.random() < 0.5):
            values[key] = n
        history.append(Operation(client, call, None, inp, None) if lost else
                       Operation(client, call, ret, inp, out))  # fmt: skip
    return history


def plant_stale_read(history: list[Operation]) -> int:
    """Make one read return a value overwritten before it was called; returns its index."""
    writes = [op for op in history if op.input.kind is OpKind.WRITE and not op.unknown]
    for i, op in enumerate(history):
        if op.input.kind is not OpKind.READ:
            continue
        for old in writes:
            if old.input.key != op.input.key or old.input.value == op.output.value:
                continue
            newer = [
                w for w in writes
                if w.input.key == old.input.key and old.ret < w.call and w.ret < op.call
            ]  # fmt: skip
            if newer:
                history[i] = dataclasses.replace(op, output=KvOutput(value=old.input.value))
                return i
    raise AssertionError("no read to make stale")


def test_a_long_busy_history_of_a_correct_store_is_linearizable() -> None:
    history = atomic_store_history(1, clients=16, count=20_000, keys=2, unknown=0.03)
    start = time.monotonic()
    result = check(KvMap(), history, timeout=60)
    assert result.result is CheckResult.OK, report(KvMap(), result)
    assert time.monotonic() - start < 30


def test_one_stale_read_among_thousands_is_found_and_named() -> None:
    history = atomic_store_history(2, clients=10, count=5_000, keys=5, unknown=0.03)
    stale = history[plant_stale_read(history)]
    result = check(KvMap(), history, timeout=60)
    assert result.result is CheckResult.ILLEGAL
    text = report(KvMap(), result)
    assert f"key '{stale.input.key}': not linearizable" in text
    assert f"read -> {stale.output.value}" in text
