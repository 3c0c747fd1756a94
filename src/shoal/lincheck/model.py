"""Sequential specifications the checker tests a history against.

A model is a deterministic state machine over hashable states: `step(state, input, output)` says
whether the operation could have returned `output` in `state`, and the state after it. An output
of None means the outcome is unknown, so any output is acceptable (the state still changes as the
operation would change it). `partition` splits a history into parts that can be checked apart:
linearizability is compositional (Herlihy & Wing), so a key-value history is linearizable iff each
key's sub-history is, and the search on one key is exponentially cheaper than on all of them.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Protocol, TypeAlias, TypeVar

from shoal.lincheck.history import Operation
from shoal.lincheck.kvops import KvInput, KvOutput, OpKind, Value

S = TypeVar("S", bound=Hashable)
In = TypeVar("In")
Out = TypeVar("Out")


class Model(Protocol[S, In, Out]):
    def init(self) -> S:
        """The state before any operation."""
        ...

    def step(self, state: S, input: In, output: Out | None) -> tuple[bool, S]:
        """(could `input` return `output` in `state`, the state after it). None output: unknown."""
        ...

    def read_only(self, input: In, output: Out | None) -> bool:
        """True if, in every state where `step` accepts this operation, it leaves the state as it
        is (a read, a failed compare). The checker places such operations as soon as they fit."""
        ...

    def partition(self, history: Sequence[Operation[In, Out]]) -> list[list[Operation[In, Out]]]:
        """Independent sub-histories (each keeps the order of `history`)."""
        ...

    def describe_partition(self, history: Sequence[Operation[In, Out]]) -> str:
        """How a person names one sub-history (for example the key)."""
        ...

    def describe_operation(self, input: In, output: Out | None) -> str: ...

    def describe_state(self, state: S) -> str: ...


def _show(v: Value) -> str:
    return "nil" if v is None else repr(v)


class CasRegister:
    """One etcd v2 key used as a compare-and-set register; every operation is on the same cell.

    State: the value, None when the key is missing. read returns it; write sets it; cas(expected,
    new) swaps iff the value equals `expected` (None: the key must be missing), and a failed cas
    is an observation that it did not; append concatenates to a string; delete removes the key
    (ok False: it was already missing, etcd error 100).
    """

    def __init__(self, initial: Value = None) -> None:
        # The key-value fixtures read a missing key as "", etcd reads it as "missing" (None).
        self.initial = initial

    def init(self) -> Value:
        return self.initial

    def step(self, state: Value, input: KvInput, output: KvOutput | None) -> tuple[bool, Value]:
        kind = input.kind
        if kind is OpKind.READ:
            return (output is None or output.value == state), state
        if kind is OpKind.WRITE:
            return True, input.value
        if kind is OpKind.CAS:
            swapped = state == input.expected
            after = input.value if swapped else state
            return (output is None or output.ok == swapped), after
        if kind is OpKind.APPEND:
            if state is None:
                return True, input.value
            if not isinstance(state, str) or not isinstance(input.value, str):
                return False, state
            return True, state + input.value
        if kind is OpKind.DELETE:
            return (output is None or output.ok == (state is not None)), None
        raise ValueError(f"unknown operation kind {kind!r}")

    def read_only(self, input: KvInput, output: KvOutput | None) -> bool:
        if input.kind is OpKind.READ:
            return True
        # A failed compare, a delete of a missing key: accepted only where they change nothing.
        return input.kind in (OpKind.CAS, OpKind.DELETE) and output is not None and not output.ok

    def partition(
        self, history: Sequence[Operation[KvInput, KvOutput]]
    ) -> list[list[Operation[KvInput, KvOutput]]]:
        return [list(history)] if history else []

    def describe_partition(self, history: Sequence[Operation[KvInput, KvOutput]]) -> str:
        return "register"

    def describe_operation(self, input: KvInput, output: KvOutput | None) -> str:
        kind = input.kind
        if kind is OpKind.READ:
            what = "read"
        elif kind is OpKind.CAS:
            what = f"cas {_show(input.expected)} -> {_show(input.value)}"
        elif kind is OpKind.DELETE:
            what = "delete"
        else:
            what = f"{kind.value} {_show(input.value)}"
        if output is None:
            return f"{what}: outcome unknown"
        if kind is OpKind.READ:
            return f"{what} -> {_show(output.value)}"
        if kind is OpKind.CAS:
            return f"{what}: {'swapped' if output.ok else 'compare failed'}"
        if kind is OpKind.DELETE:
            return f"{what}: {'ok' if output.ok else 'key not found'}"
        return f"{what}: ok"

    def describe_state(self, state: Value) -> str:
        return "missing" if state is None else repr(state)


class KvMap(CasRegister):
    """A map of independent keys, each a `CasRegister`: checked key by key."""

    def partition(
        self, history: Sequence[Operation[KvInput, KvOutput]]
    ) -> list[list[Operation[KvInput, KvOutput]]]:
        by_key: dict[str, list[Operation[KvInput, KvOutput]]] = {}
        for op in history:
            by_key.setdefault(op.input.key, []).append(op)
        return [by_key[k] for k in sorted(by_key)]

    def describe_partition(self, history: Sequence[Operation[KvInput, KvOutput]]) -> str:
        return f"key {history[0].input.key!r}" if history else "no key"

    def describe_operation(self, input: KvInput, output: KvOutput | None) -> str:
        return f"{input.key!r}: {super().describe_operation(input, output)}"


KvState: TypeAlias = tuple[Value, ...]
"""The whole map: the value of each key by the key's number, trailing initial values left out."""


class WholeKvMap:
    """The same map checked as one history (state: every key). Exponentially slower than `KvMap`;
    it exists to show that checking key by key gives the same answers."""

    def __init__(self, initial: Value = None) -> None:
        self.cell = CasRegister(initial)
        # Keys are numbered as first seen, so that a state is a short tuple (fast to hash and to
        # copy); a number never changes, so equal maps are equal tuples.
        self.keys: dict[str, int] = {}

    def init(self) -> KvState:
        return ()

    def step(self, state: KvState, input: KvInput, output: KvOutput | None) -> tuple[bool, KvState]:
        at = self.keys.setdefault(input.key, len(self.keys))
        initial = self.cell.initial
        before = state[at] if at < len(state) else initial
        ok, after = self.cell.step(before, input, output)
        if after == before:
            return ok, state
        if at >= len(state):
            return ok, (*state, *(initial,) * (at - len(state)), after)
        changed = (*state[:at], after, *state[at + 1 :])
        while changed and changed[-1] == initial:
            changed = changed[:-1]
        return ok, changed

    def read_only(self, input: KvInput, output: KvOutput | None) -> bool:
        return self.cell.read_only(input, output)

    def partition(
        self, history: Sequence[Operation[KvInput, KvOutput]]
    ) -> list[list[Operation[KvInput, KvOutput]]]:
        return [list(history)] if history else []

    def describe_partition(self, history: Sequence[Operation[KvInput, KvOutput]]) -> str:
        return "all keys"

    def describe_operation(self, input: KvInput, output: KvOutput | None) -> str:
        return f"{input.key!r}: {self.cell.describe_operation(input, output)}"

    def describe_state(self, state: KvState) -> str:
        values = {k: state[at] for k, at in self.keys.items() if at < len(state)}
        shown = ", ".join(f"{k!r}: {self.cell.describe_state(values[k])}" for k in sorted(values))
        return "{" + shown + "}"
