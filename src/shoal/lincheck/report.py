"""Explaining a verdict to a person: which part failed, where, and which operations are involved.

A failing partition is first shrunk in time. Cutting a history at time t (operations called after
t left out, those still running at t given an unknown outcome) only weakens it, so if the cut is
not linearizable neither is the whole, and a later cut fails whenever an earlier one does. A
binary search over return times finds the earliest cut that fails: the return of an operation
after which no order can explain what clients saw. The report shows that operation, the longest
order the search could build, the state it leaves, and the operations that could not come next.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Hashable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from shoal.lincheck.checker import CheckResult, PartitionResult, Result, check_partition
from shoal.lincheck.history import Operation
from shoal.lincheck.model import Model

S = TypeVar("S", bound=Hashable)
In = TypeVar("In")
Out = TypeVar("Out")

# Operations of the longest linearizable order shown before the point of failure.
_SHOW_PREFIX = 8
# At most this many operations that could not come next are listed.
_SHOW_PENDING = 20
# At most this many failing partitions are explained in full.
_SHOW_FAILURES = 3


def cut(history: Sequence[Operation[In, Out]], t: float) -> list[Operation[In, Out]]:
    """The history as known at time `t`: later calls dropped, unfinished outcomes unknown."""
    kept: list[Operation[In, Out]] = []
    for op in history:
        if op.call > t:
            continue
        if op.ret is not None and op.ret > t:
            op = Operation(op.client, op.call, None, op.input, None)
        kept.append(op)
    return kept


def earliest_failure(
    model: Model[S, In, Out], failed: PartitionResult[S, In, Out], budget: float = 10.0
) -> tuple[float | None, PartitionResult[S, In, Out]]:
    """The earliest cut of a failing partition that still fails, and the search result on it.

    Returns (None, `failed`) when no cut could be shown to fail within `budget` seconds. A probe
    costs about as much as the cut is long, so the search first looks for a short failing cut
    (at the return the full search could not get past, else growing from the start) and then
    bisects below it.
    """
    deadline = time.monotonic() + budget
    times = sorted({op.ret for op in failed.operations if op.ret is not None})
    best: tuple[float | None, PartitionResult[S, In, Out]] = (None, failed)

    def fails(index: int) -> bool:
        nonlocal best
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        t = times[index]
        probe = check_partition(model, cut(failed.operations, t), remaining, failed.label)
        if probe.result is CheckResult.ILLEGAL:  # not shown to fail in time counts as passing
            if best[0] is None or t < best[0]:
                best = (t, probe)
            return True
        return False

    # An upper bound: a cut known to fail; every cut before `lo` is known not to.
    lo, hi = 0, -1
    blocked_ret = None if failed.blocked is None else failed.operations[failed.blocked].ret
    if blocked_ret is not None:
        hint = bisect.bisect_left(times, blocked_ret)
        hi = hint if fails(hint) else -1
    step = 16
    while hi < 0 and lo < len(times) and time.monotonic() < deadline:
        probe_at = min(lo + step, len(times) - 1)
        if fails(probe_at):
            hi = probe_at
        else:
            lo, step = probe_at + 1, step * 2
    if hi < 0:
        return best
    # Bisect: the earliest failing cut is at an index in [lo, hi].
    while lo < hi and time.monotonic() < deadline:
        mid = (lo + hi) // 2
        if fails(mid):
            hi = mid
        else:
            lo = mid + 1
    return best


def describe(model: Model[S, In, Out], op: Operation[In, Out], clock: _Clock) -> str:
    """One operation on one line: client, call and return times, what it did."""
    ret = "never returned" if op.ret is None else clock.show(op.ret)
    span = f"{clock.show(op.call)} .. {ret}"
    return f"client {op.client:<4} {span:<24}  {model.describe_operation(op.input, op.output)}"


class _Clock:
    """Times as a person reads them: event numbers for logs without clocks, else seconds since
    the first call of the whole history (the same origin for every partition)."""

    def __init__(self, history: Iterable[Operation[In, Out]]) -> None:
        times = [t for op in history for t in (op.call, op.ret) if t is not None]
        self.origin = min(times, default=0.0)
        self.events = all(float(t).is_integer() and t < 1e9 for t in times)

    def legend(self) -> str:
        """What the times shown mean, with the origin as a UTC date when it looks like one."""
        if self.events:
            return "times: event numbers in the log"
        # Seconds since the epoch from about 2001 on: the harness's wall clock.
        if self.origin > 1e9:
            stamp = datetime.fromtimestamp(self.origin, UTC).isoformat(timespec="milliseconds")
            return f"times: seconds since the first call, made at {stamp}"
        return f"times: seconds since the first call, made at t={self.origin}"

    def show(self, t: float) -> str:
        if math.isinf(t):
            return "never"
        if self.events:
            return f"#{int(t)}"
        return f"{t - self.origin:.3f}s"


def explain_failure(
    model: Model[S, In, Out],
    failed: PartitionResult[S, In, Out],
    budget: float = 10.0,
    clock: _Clock | None = None,
) -> str:
    """A person's account of why one partition is not linearizable."""
    clock = clock or _Clock(failed.operations)
    at, part = earliest_failure(model, failed, budget)
    ops = part.operations
    lines = [f"{failed.label}: not linearizable ({len(failed.operations)} operations)"]
    if part.blocked is None:
        lines.append("  (the search found no operation that could be placed first)")
        return "\n".join(lines)
    if at is not None:
        lines.append(
            f"  By {clock.show(at)} no order explains what clients saw "
            f"({len(ops)} operations called by then; later ones left out)."
        )
    lines.append("  The search could not place this operation before it returned:")
    lines.append("    " + describe(model, ops[part.blocked], clock))
    shown = part.longest[-_SHOW_PREFIX:]
    lines.append(
        f"  Longest linearizable order found: {len(part.longest)} operations"
        + (f"; the last {len(shown)}:" if len(shown) < len(part.longest) else ":")
    )
    if not shown:
        lines.append("    (none)")
    for i in shown:
        lines.append("    " + describe(model, ops[i], clock))
    lines.append(f"  State after it: {model.describe_state(part.state)}")
    lines.append(
        f"  Operations called and not yet placed; none can come next ({len(part.pending)}):"
    )
    shown_pending = part.pending[:_SHOW_PENDING]
    if part.blocked not in shown_pending:
        shown_pending = (*shown_pending[:-1], part.blocked)
    for i in shown_pending:
        ok, _ = model.step(part.state, ops[i].input, ops[i].output)
        why = "possible here, but every order after it fails" if ok else "impossible in this state"
        mark = " <- returned here" if i == part.blocked else ""
        lines.append(f"    {describe(model, ops[i], clock)}   [{why}]{mark}")
    if len(part.pending) > len(shown_pending):
        lines.append(f"    ... and {len(part.pending) - len(shown_pending)} more")
    return "\n".join(lines)


def report(model: Model[S, In, Out], result: Result[S, In, Out], budget: float = 10.0) -> str:
    """The verdict and, when a history is not linearizable, the smallest failing part found."""
    ops = sum(len(p.operations) for p in result.partitions)
    head = (
        f"{len(result.partitions)} partition(s), {ops} operations, "
        f"searched in {result.seconds:.2f}s"
    )
    if result.result is CheckResult.OK:
        return f"linearizable: {head}"
    if result.result is CheckResult.UNKNOWN:
        undecided = [p for p in result.partitions if p.result is CheckResult.UNKNOWN]
        names = ", ".join(p.label for p in undecided[:10])
        return f"unknown: the search ran out of time ({head}); undecided: {names}" + (
            " ..." if len(undecided) > 10 else ""
        )
    failures = result.failures
    clock = _Clock(op for p in result.partitions for op in p.operations)
    lines = [f"NOT linearizable: {head}"]
    lines.append(
        "failing: "
        + ", ".join(p.label for p in failures[:10])
        + (" ..." if len(failures) > 10 else "")
    )
    undecided = [p for p in result.partitions if p.result is CheckResult.UNKNOWN]
    if undecided:
        lines.append(f"({len(undecided)} partition(s) not decided: the check stops at a failure)")
    lines.append(clock.legend())
    share = budget / max(1, min(len(failures), _SHOW_FAILURES))
    for failed in failures[:_SHOW_FAILURES]:
        lines.append("")
        lines.append(explain_failure(model, failed, share, clock))
    return "\n".join(lines)
