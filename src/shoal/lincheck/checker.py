"""Is a history linearizable? The Wing-Gong search with Lowe's memoisation, as porcupine does it.

The history becomes a list of call and return entries in time order. The search walks the list
from the front: at a call entry it tries to linearize that operation next (the model must accept
its output in the current state); at a return entry of an operation not yet linearized it is stuck
(that operation had to take effect before it returned) and backtracks. Linearizing an operation
unlinks its two entries from the doubly linked list (and backtracking links them back, in reverse
order), so the front of the list is always the earliest operation not yet placed.

Lowe's memoisation: the pair (set of operations linearized, model state) fully determines what can
follow, so a pair seen before is not explored again. The set is kept as Python ints used as
bitsets, relative to the oldest operation not yet placed, so that it stays small on long histories.

Beyond porcupine: a read-only operation (a read, a failed compare) that fits the current state is
placed at once with no alternative tried (see _search); on histories where reads dominate this cuts
the configurations searched ten- to twentyfold.

Unknown outcomes: such an operation's return is at +infinity, so it never blocks anything; the
search may place it anywhere after its call, and placing it last (after every operation whose
outcome is known) is the same as it never taking effect, so a write that never happened cannot
make a history illegal.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Hashable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Generic, TypeAlias, TypeVar

from shoal.lincheck.history import Operation
from shoal.lincheck.model import Model

S = TypeVar("S", bound=Hashable)
In = TypeVar("In")
Out = TypeVar("Out")

_HEAD = 0
# Search steps between pauses (to read the clock, or to let another partition's search run).
_SLICE = 4096


class CheckResult(StrEnum):
    OK = "ok"  # linearizable
    ILLEGAL = "illegal"  # not linearizable
    UNKNOWN = "unknown"  # the search ran out of time before deciding


@dataclass(frozen=True, slots=True)
class PartitionResult(Generic[S, In, Out]):
    """The verdict on one sub-history and what the search learned about it.

    `longest` is the longest sequence of operations (indices into `operations`) the search could
    linearize: the whole linearization when OK. When ILLEGAL, `state` is the model state after
    `longest`, `blocked` is the operation whose return the search could not get past (it had to be
    linearized before it returned but could not be), and `pending` are the operations that had
    been called but not yet placed at that point (the candidates for the next place, `blocked`
    among them).
    """

    label: str
    operations: tuple[Operation[In, Out], ...]
    result: CheckResult
    longest: tuple[int, ...]
    state: S
    blocked: int | None
    pending: tuple[int, ...]
    explored: int  # distinct (linearized set, state) pairs visited
    seconds: float


@dataclass(frozen=True, slots=True)
class Result(Generic[S, In, Out]):
    result: CheckResult
    partitions: tuple[PartitionResult[S, In, Out], ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return self.result is CheckResult.OK

    @property
    def failures(self) -> tuple[PartitionResult[S, In, Out], ...]:
        return tuple(p for p in self.partitions if p.result is CheckResult.ILLEGAL)


def check(
    model: Model[S, In, Out],
    history: Sequence[Operation[In, Out]],
    timeout: float | None = None,
    all_failures: bool = False,
) -> Result[S, In, Out]:
    """Check `history` against `model`, each partition on its own.

    ILLEGAL if a partition is not linearizable, UNKNOWN if time ran out before an answer was
    found, else OK. `timeout` is in seconds for the whole check.

    Partitions are searched side by side, a slice at a time (as porcupine runs one goroutine per
    partition): one key that fails quickly is found even when another key's search is
    exponential. The first failure ends the check, and the partitions not yet decided are UNKNOWN,
    unless `all_failures` asks to search them all (which may then take much longer).
    """
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    parts = model.partition(history)
    searches = [_search(model, part, model.describe_partition(part)) for part in parts]
    for search in searches:
        next(search)  # to the first pause, so that send() may follow
    done: dict[int, PartitionResult[S, In, Out]] = {}
    spent = [0.0] * len(parts)
    stop = False
    while len(done) < len(parts):
        for idx, search in enumerate(searches):
            if idx in done:
                continue
            t = time.monotonic()
            stop = stop or (deadline is not None and t > deadline)
            try:
                # Sending True asks the search to give up and return what it found so far.
                search.send(stop)
            except StopIteration as finished:
                spent[idx] += time.monotonic() - t
                done[idx] = replace(finished.value, seconds=spent[idx])
                if done[idx].result is CheckResult.ILLEGAL and not all_failures:
                    stop = True
                continue
            spent[idx] += time.monotonic() - t
    results = tuple(done[i] for i in range(len(parts)))
    if any(p.result is CheckResult.ILLEGAL for p in results):
        verdict = CheckResult.ILLEGAL
    elif any(p.result is CheckResult.UNKNOWN for p in results):
        verdict = CheckResult.UNKNOWN
    else:
        verdict = CheckResult.OK
    return Result(verdict, results, time.monotonic() - start)


def check_partition(
    model: Model[S, In, Out],
    history: Sequence[Operation[In, Out]],
    timeout: float | None = None,
    label: str = "",
) -> PartitionResult[S, In, Out]:
    """The search on one sub-history as it stands (no partitioning)."""
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    search = _search(model, history, label)
    try:
        next(search)
        while True:
            search.send(deadline is not None and time.monotonic() > deadline)
    except StopIteration as finished:
        result: PartitionResult[S, In, Out] = finished.value
        return replace(result, seconds=time.monotonic() - start)


def _search(
    model: Model[S, In, Out], history: Sequence[Operation[In, Out]], label: str
) -> Generator[None, bool, PartitionResult[S, In, Out]]:
    """The search, pausing every `_SLICE` steps; send it True to make it give up (UNKNOWN).

    It pauses once before starting, so that every later resumption can be a send().
    """
    if (yield):
        return PartitionResult(
            label, tuple(history), CheckResult.UNKNOWN, (), model.init(), None, (), 0, 0.0
        )
    ops = tuple(history)
    n = len(ops)

    # Entries in time order: 1..2n; 0 is the head sentinel and 2n+1 the tail. At equal times
    # calls come first, so operations that merely touch count as concurrent.
    order = sorted(
        [(op.call, 0, i) for i, op in enumerate(ops)] + [(op.end, 1, i) for i, op in enumerate(ops)]
    )
    tail = 2 * n + 1
    nxt = list(range(1, tail + 2))
    prv = list(range(-1, tail))
    op_at = [-1] * (tail + 1)
    ret_of = [-1] * (tail + 1)  # for a call entry: its return entry; -1 for return entries
    call_entry = [0] * n
    for pos, (_, is_return, i) in enumerate(order, 1):
        op_at[pos] = i
        if is_return:
            ret_of[call_entry[i]] = pos
        else:
            call_entry[i] = pos

    step = model.step
    inputs = [op.input for op in ops]
    outputs = [op.output for op in ops]
    pure = [model.read_only(op.input, op.output) for op in ops]
    # The set of operations placed, for the memo, in a form that stays small however long the
    # history: operations whose outcome is known, numbered in call order, are "all below `base`"
    # plus a `window` bitset above it (those placed are mostly the oldest ones); operations with an
    # unknown outcome, which may stay unplaced to the end, are bits of `extra`.
    rank = [0] * n  # known: number in call order; unknown: its bit in `extra`
    unknown = [op.ret is None for op in ops]
    counts = [0, 0]
    for i in sorted(range(n), key=call_entry.__getitem__):
        rank[i] = 1 << counts[1] if unknown[i] else counts[0]
        counts[unknown[i]] += 1

    state = model.init()
    base = window = extra = 0
    # The operations placed, as a linked stack (see _Stack) so that remembering the deepest dead
    # end costs no copy.
    stack: _Stack[S] = None
    depth = 0
    seen: set[tuple[int, int, int, S]] = set()
    best: tuple[int, _Stack[S], S, int] | None = None  # depth, stack, state, blocked entry
    result = CheckResult.OK
    budget = _SLICE

    # Each configuration is searched in two passes over its candidates (the calls before the first
    # return entry still linked). The first pass places any read-only operation that fits the
    # state as a forced move: it changes nothing and every operation it could wait for is free to
    # follow it, so if any order works, one with it placed now works too, and its alternatives need
    # no search. The second pass branches over the operations that do change the state.
    forcing = True
    e = nxt[_HEAD]
    while nxt[_HEAD] != tail:
        budget -= 1
        if not budget:
            budget = _SLICE
            if (yield):
                result = CheckResult.UNKNOWN
                break
        r = ret_of[e]
        if r >= 0:
            i = op_at[e]
            if pure[i] != forcing:  # the other pass's business
                e = nxt[e]
                continue
            ok, after = step(state, inputs[i], outputs[i])
            if not ok:
                e = nxt[e]
                continue
            if unknown[i]:
                key = (base, window, extra | rank[i], after)
            elif rank[i] != base:
                key = (base, window | (1 << (rank[i] - base)), extra, after)
            else:  # the oldest unplaced: move the base past every placed one above it
                w = window | 1
                t = ((w + 1) & ~w).bit_length() - 1
                key = (base + t, w >> t, extra, after)
            if key not in seen:
                seen.add(key)
                stack = (e, state, forcing, base, window, extra, stack)
                depth += 1
                base, window, extra, state = key
                # Unlink the call and its return.
                p, q = prv[e], nxt[e]
                nxt[p] = q
                prv[q] = p
                p, q = prv[r], nxt[r]
                nxt[p] = q
                prv[q] = p
                e = nxt[_HEAD]
                forcing = True
                continue
            if not forcing:
                e = nxt[e]
                continue
            # A forced move into a configuration already searched in vain: this one fails too.
        elif forcing:
            forcing = False
            e = nxt[_HEAD]
            continue
        elif best is None or depth > best[0]:
            # A return entry whose operation is not linearized: this branch is dead.
            best = (depth, stack, state, e)
        # Backtrack to the last choice that was not forced, and try its next sibling.
        while stack is not None:
            e, state, forced, base, window, extra, stack = stack
            depth -= 1
            r = ret_of[e]
            # Relink in the reverse order of unlinking.
            nxt[prv[r]] = r
            prv[nxt[r]] = r
            nxt[prv[e]] = e
            prv[nxt[e]] = e
            if not forced:
                break
        else:
            result = CheckResult.ILLEGAL
            break
        e = nxt[e]
        forcing = False

    if result is CheckResult.OK:
        done = _placed(stack, op_at)
        return PartitionResult(label, ops, result, done, state, None, (), len(seen), 0.0)
    if best is None:  # gave up before the first dead end
        return PartitionResult(label, ops, result, (), model.init(), None, (), len(seen), 0.0)
    _, placed_stack, at, blocked_ret = best
    prefix = _placed(placed_stack, op_at)
    # The operations not placed whose call precedes the blocked return: at that dead end these
    # were exactly the call entries linked before it.
    placed_set = set(prefix)
    pending = tuple(
        sorted(
            (i for i in range(n) if i not in placed_set and call_entry[i] < blocked_ret),
            key=call_entry.__getitem__,
        )
    )
    blocked = op_at[blocked_ret]
    return PartitionResult(label, ops, result, prefix, at, blocked, pending, len(seen), 0.0)


# (call entry, state before it, forced, base, window, extra before it, the rest)
_Stack: TypeAlias = "tuple[int, S, bool, int, int, int, _Stack[S]] | None"


def _placed(stack: _Stack[S], op_at: list[int]) -> tuple[int, ...]:
    """The operations on a linked stack, in the order they were placed."""
    found = []
    while stack is not None:
        found.append(op_at[stack[0]])
        stack = stack[6]
    return tuple(reversed(found))
