"""The search agrees with brute force (every order allowed by real time) on small random histories.

The search prunes: memoised configurations, read-only operations placed as forced moves. A
mistake there shows up as a disagreement with plain enumeration on some small history.
"""

from __future__ import annotations

import itertools
import random

from shoal.lincheck import CasRegister, CheckResult, KvInput, KvOutput, Operation, OpKind, check
from shoal.lincheck.kvops import Value

MODEL = CasRegister()
VALUES: list[Value] = [None, 1, 2, 3]


def brute_force(history: list[Operation]) -> bool:
    n = len(history)
    for order in itertools.permutations(range(n)):
        placed: set[int] = set()
        state = MODEL.init()
        for i in order:
            op = history[i]
            # Every operation that returned before this one was called must already be placed.
            if any(o.ret is not None and o.ret < op.call and j not in placed
                   for j, o in enumerate(history)):  # fmt: skip
                break
            ok, state = MODEL.step(state, op.input, op.output)
            if not ok:
                break
            placed.add(i)
        else:
            return True
    return False


def random_history(rng: random.Random) -> list[Operation]:
    """A few operations with random times, from a real execution with some outputs corrupted."""
    ops = []
    state: Value = None
    points = sorted(rng.uniform(0, 10) for _ in range(rng.randint(1, 6)))
    for client, point in enumerate(points):
        call = point - rng.uniform(0, 3)
        ret = point + rng.uniform(0, 3)
        kind = rng.choice([OpKind.READ, OpKind.WRITE, OpKind.CAS, OpKind.CAS])
        value, expected = rng.choice(VALUES[1:]), rng.choice(VALUES)
        inp = KvInput(kind, value=value, expected=expected)
        if kind is OpKind.READ:
            out = KvOutput(value=state)
        elif kind is OpKind.WRITE:
            state, out = value, KvOutput()
        else:
            out = KvOutput(ok=state == expected)
            state = value if out.ok else state
        if rng.random() < 0.25:  # a lie
            out = KvOutput(ok=not out.ok, value=rng.choice(VALUES))
        if kind is not OpKind.READ and rng.random() < 0.2:
            ops.append(Operation(client, call, None, inp, None))  # outcome unknown
            continue
        ops.append(Operation(client, call, ret, inp, out))
    return ops


def test_the_search_agrees_with_brute_force_on_random_small_histories() -> None:
    rng = random.Random(20261125)
    verdicts = {True: 0, False: 0}
    for _ in range(1500):
        history = random_history(rng)
        want = brute_force(history)
        got = check(MODEL, history).result
        assert got is (CheckResult.OK if want else CheckResult.ILLEGAL), history
        verdicts[want] += 1
    # Both answers are well represented, or the comparison would prove little.
    assert min(verdicts.values()) > 300
