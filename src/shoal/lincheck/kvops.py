"""The key-value vocabulary of histories: the register and key-value models understand it.

It follows etcd v2 single-key usage: a read returns the value or "missing" (etcd's error 100, key
not found), a write always succeeds, compare-and-swap succeeds iff the current value equals the
expected one (etcd's error 101, compare failed, is an observation: the value differed).
`kv_operation` is the one place a request's outcome becomes an operation (or nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

from shoal.lincheck.history import Operation

Value: TypeAlias = int | str | None
"""A register or key value; None means empty register / missing key."""


class OpKind(StrEnum):
    READ = "read"  # GET (quorum=true): output.value is the value, None when the key is missing
    WRITE = "write"  # PUT: set the value unconditionally
    CAS = "cas"  # PUT with prevValue: output.ok says whether it swapped
    # Concatenate to the string value (missing counts as empty). It also models etcd's in-order
    # keys: a POST to a directory appends "<value>;" and a sorted GET of the directory reads the
    # children's values joined the same way.
    APPEND = "append"
    DELETE = "delete"  # DELETE: output.ok False means the key was missing (etcd error 100)


# Names other tools use for the same operations (porcupine's kv test data, etcd's verbs).
_KIND_ALIASES: dict[str, OpKind] = {
    "get": OpKind.READ,
    "put": OpKind.WRITE,
    "set": OpKind.WRITE,
    "compare-and-swap": OpKind.CAS,
}


def op_kind(name: str) -> OpKind:
    name = name.lower()
    if name in _KIND_ALIASES:
        return _KIND_ALIASES[name]
    try:
        return OpKind(name)
    except ValueError:
        known = sorted({*(k.value for k in OpKind), *_KIND_ALIASES})
        raise ValueError(f"unknown operation {name!r}; expected one of {known}") from None


@dataclass(frozen=True, slots=True)
class KvInput:
    kind: OpKind
    key: str = ""
    value: Value = None  # write/append: the value; cas: the new value
    expected: Value = None  # cas: the value it must find (None: the key must be missing)


@dataclass(frozen=True, slots=True)
class KvOutput:
    ok: bool = True  # cas: swapped; delete: the key existed
    value: Value = None  # read: the value seen (None: missing)


KvOperation: TypeAlias = Operation[KvInput, KvOutput]


class Outcome(StrEnum):
    """How a request ended, in Jepsen's terms."""

    OK = "ok"  # returned; took effect; its output is known
    # Returned; surely did not take effect. For cas and delete this is an observation: the store
    # evaluated the condition and it did not hold (compare failed, key not found).
    FAIL = "fail"
    UNKNOWN = "unknown"  # timed out or lost: may take effect at any later time, or never


def kv_operation(
    client: int,
    call: float,
    ret: float | None,
    outcome: Outcome,
    inp: KvInput,
    result: Value = None,
) -> KvOperation | None:
    """The operation a request contributes to a history, or None when it can tell nothing.

    A failed cas or delete is an observation (etcd evaluated the compare and found another value,
    or no key). Any other failed request did not happen, and a read whose outcome is unknown
    neither changed anything nor told us anything: both are left out, which keeps the search small.
    """
    if outcome is Outcome.UNKNOWN:
        return None if inp.kind is OpKind.READ else Operation(client, call, None, inp, None)
    if ret is None:
        raise ValueError(f"a request with outcome {outcome.value!r} needs a return time")
    if outcome is Outcome.FAIL:
        if inp.kind in (OpKind.CAS, OpKind.DELETE):
            return Operation(client, call, ret, inp, KvOutput(ok=False))
        return None
    # Only a read's result is an observation; other kinds may echo their value, which means nothing.
    seen = result if inp.kind is OpKind.READ else None
    return Operation(client, call, ret, inp, KvOutput(ok=True, value=seen))


# --- harness records -----------------------------------------------------------------------------
