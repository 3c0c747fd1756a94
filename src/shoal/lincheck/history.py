"""What clients observed: operations with call and return times, and readers for recorded histories.

An `Operation` is one client request as seen from outside: when it was called, when it returned
(`ret is None` when the outcome is unknown: a timeout, a dropped connection), what was asked and
what came back. The checker never looks inside inputs and outputs; models do.

The key-value vocabulary (`KvInput`, `KvOutput`) is the one the register and key-value models
understand. It follows etcd v2 single-key usage: a read returns the value or "missing" (etcd's
error 100, key not found), a write always succeeds, compare-and-swap succeeds iff the current value
equals the expected one (etcd's error 101, compare failed, is an observation: the value differed).

Readers here turn three recorded forms into operations:
- Jepsen logs of a compare-and-set register (`parse_jepsen_log`),
- EDN-style key-value logs as in porcupine's test data (`parse_kv_log`),
- records made by a test harness, as `KvRecord` structs or plain dicts (`operation_from_record`),
  or one JSON object a line (`parse_records_jsonl`),
plus porcupine-style call/return event lists (`operations_from_events`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeAlias, TypeVar

Value: TypeAlias = int | str | None
"""A register or key value; None means empty register / missing key."""

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True, slots=True)
class Operation(Generic[In, Out]):
    """One request as observed by a client.

    `ret is None` (and then `output is None`) means the outcome is unknown: the request may take
    effect at any time after `call`, or never. Times are any monotone numbers (wall-clock seconds,
    or event positions for logs without clocks); only their order matters.
    """

    client: int
    call: float
    ret: float | None
    input: In
    output: Out | None

    def __post_init__(self) -> None:
        if (self.ret is None) != (self.output is None):
            raise ValueError(
                "an operation needs both a return time and an output (outcome known), "
                f"or neither (outcome unknown); got ret={self.ret!r}, output={self.output!r}"
            )
        if math.isnan(self.call) or (self.ret is not None and math.isnan(self.ret)):
            raise ValueError("an operation's times must be numbers, not NaN")
        if self.ret is not None and self.ret < self.call:
            raise ValueError(f"operation returns ({self.ret}) before it is called ({self.call})")

    @property
    def unknown(self) -> bool:
        return self.ret is None

    @property
    def end(self) -> float:
        """Return time for ordering: an unknown outcome may take effect arbitrarily late."""
        return math.inf if self.ret is None else self.ret


@dataclass(frozen=True, slots=True)
class CallEvent(Generic[In]):
    client: int
    id: int
    input: In


@dataclass(frozen=True, slots=True)
class ReturnEvent(Generic[Out]):
    client: int
    id: int
    output: Out


def operations_from_events(
    events: Sequence[CallEvent[In] | ReturnEvent[Out]],
) -> list[Operation[In, Out]]:
    """Pair call and return events by id; a position in the list is the event's time.

    A call with no return event is an operation whose outcome is unknown.
    """
    calls: dict[int, tuple[int, CallEvent[In]]] = {}
    returns: dict[int, tuple[int, ReturnEvent[Out]]] = {}
    for t, ev in enumerate(events):
        if ev.id in (calls if isinstance(ev, CallEvent) else returns):
            raise ValueError(f"event {t}: a second {type(ev).__name__} for operation id {ev.id}")
        if isinstance(ev, CallEvent):
            calls[ev.id] = (t, ev)
        else:
            returns[ev.id] = (t, ev)
    ops: list[Operation[In, Out]] = []
    for op_id, (t_call, call) in calls.items():
        if op_id in returns:
            t_ret, ret = returns[op_id]
            if t_ret < t_call:
                raise ValueError(f"operation id {op_id} returns (event {t_ret}) before its call")
            ops.append(Operation(call.client, t_call, t_ret, call.input, ret.output))
        else:
            ops.append(Operation(call.client, t_call, None, call.input, None))
    orphans = sorted(set(returns) - set(calls))
    if orphans:
        raise ValueError(f"return events without a call for operation ids {orphans}")
    return ops


# --- the key-value vocabulary --------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class KvRecord:
    """One request as a test harness records it (times from one clock for all clients, in
    seconds; wall-clock time lets a report be matched with fault logs).

    op: read (get), write (put, set), cas, append, delete. `value` is what a write, append or cas
    stores, `expected` what a cas compares with (None: the key must not exist), `result` what a
    read returned. How etcd v2 answers map onto `outcome`:
    - "ok": 2xx; a read of a missing key (error 100 on GET) is also "ok", with result None;
    - "fail": cas answered 101 "Compare failed" or 100 "Key not found" (or, for a create-only
      cas with expected None, 105 "Key already exists"); delete answered 100;
      for other kinds, any answer saying the request was refused (it is then ignored);
    - "unknown": no answer (timeout, connection reset), or a 5xx: it may still take effect.
    """

    client: int
    op: str
    key: str
    call: float
    ret: float | None
    outcome: str = "ok"
    value: Value = None
    expected: Value = None
    result: Value = None


_RECORD_FIELDS = ("client", "op", "key", "call", "ret", "outcome", "value", "expected", "result")


def record_from_mapping(raw: Mapping[str, object]) -> KvRecord:
    """A `KvRecord` from a dict (as a harness may write it to JSON); "return" may stand for ret."""
    d = dict(raw)
    if "return" in d and "ret" not in d:
        d["ret"] = d.pop("return")
    unknown = sorted(set(d) - set(_RECORD_FIELDS))
    if unknown:
        raise ValueError(f"record {raw!r}: unknown fields {unknown}; known: {list(_RECORD_FIELDS)}")
    missing = [f for f in ("client", "op", "call") if f not in d]
    if missing:
        raise ValueError(f"record {raw!r}: missing fields {missing}")

    def number(name: str) -> float | None:
        v = d.get(name)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"record {raw!r}: {name} must be a number, not {v!r}")
        return float(v)

    def value(name: str) -> Value:
        v = d.get(name)
        if v is None or isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)):
            return v
        raise ValueError(f"record {raw!r}: {name} must be a string, an integer or null")

    client = d["client"]
    if isinstance(client, bool) or not isinstance(client, int):
        raise ValueError(f"record {raw!r}: client must be an integer")
    call = number("call")
    if call is None:
        raise ValueError(f"record {raw!r}: call must be a number, not null")
    outcome = str(d.get("outcome", "ok" if d.get("ret") is not None else "unknown"))
    return KvRecord(
        client=client,
        op=str(d["op"]),
        key=str(d.get("key", "")),
        call=call,
        ret=number("ret"),
        outcome=outcome,
        value=value("value"),
        expected=value("expected"),
        result=value("result"),
    )


def operation_from_record(record: KvRecord | Mapping[str, object]) -> KvOperation | None:
    """The operation a harness record contributes (None: it tells nothing, see `kv_operation`)."""
    rec = record if isinstance(record, KvRecord) else record_from_mapping(record)
    try:
        outcome = Outcome(rec.outcome)
    except ValueError:
        raise ValueError(
            f"record {rec!r}: outcome must be one of {[o.value for o in Outcome]}"
        ) from None
    inp = KvInput(op_kind(rec.op), rec.key, rec.value, rec.expected)
    ret = None if outcome is Outcome.UNKNOWN else rec.ret
    return kv_operation(rec.client, rec.call, ret, outcome, inp, rec.result)


def operations_from_records(
    records: Iterable[KvRecord | Mapping[str, object]],
) -> list[KvOperation]:
    return [op for op in map(operation_from_record, records) if op is not None]


def parse_records_jsonl(text: str) -> list[KvOperation]:
    """Harness records written one JSON object a line (blank lines ignored)."""
    records = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"line {lineno}: not JSON: {err}") from None
        if not isinstance(raw, dict):
            raise ValueError(f"line {lineno}: expected a JSON object, got {line[:80]!r}")
        try:
            records.append(record_from_mapping(raw))
        except ValueError as err:
            raise ValueError(f"line {lineno}: {err}") from None
    return operations_from_records(records)


# --- Jepsen register logs ------------------------------------------------------------------------

# `INFO  jepsen.util - <process>\t<type>\t<f>\t<value>` (some logs use spaces instead of tabs).
_JEPSEN_LINE = re.compile(r"^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(\w+)\s+:(\w+)\s+(.*?)\s*$")
_JEPSEN_TYPES = {"ok": Outcome.OK, "fail": Outcome.FAIL, "info": Outcome.UNKNOWN}


def _jepsen_value(text: str, where: str) -> Value | tuple[Value, Value]:
    text = text.strip()
    if text == "nil":
        return None
    if text.startswith("[") and text.endswith("]"):
        parts = text[1:-1].split()
        if len(parts) != 2:
            raise ValueError(f"{where}: expected a pair [from to], got {text!r}")
        a, b = (_jepsen_value(p, where) for p in parts)
        if isinstance(a, tuple) or isinstance(b, tuple):
            raise ValueError(f"{where}: nested pair in {text!r}")
        return (a, b)
    try:
        return int(text)
    except ValueError:
        return text


def parse_jepsen_log(text: str) -> list[KvOperation]:
    """Operations on one compare-and-set register from a Jepsen log.

    Line order is time. `:info` (and an invoke never completed) is an unknown outcome; `:fail` is
    a request that did not take effect, which for cas is an observed compare failure.
    """
    pending: dict[int, tuple[int, str, Value | tuple[Value, Value]]] = {}
    ops: list[KvOperation] = []
    t = 0

    def finish(
        process: int,
        t_ret: int | None,
        outcome: Outcome,
        value: Value | tuple[Value, Value],
        where: str,
    ) -> None:
        t_call, f, invoked = pending.pop(process)
        kind = op_kind(f)
        if kind is OpKind.CAS:
            if not isinstance(invoked, tuple):
                raise ValueError(f"{where}: cas needs a pair [from to], got {invoked!r}")
            inp = KvInput(kind, value=invoked[1], expected=invoked[0])
        elif kind is OpKind.WRITE:
            if isinstance(invoked, tuple):
                raise ValueError(f"{where}: write of a pair {invoked!r}")
            inp = KvInput(kind, value=invoked)
        elif kind is OpKind.READ:
            inp = KvInput(kind)
        else:
            raise ValueError(f"{where}: a register has no operation {f!r}")
        result: Value = None
        if kind is OpKind.READ:
            if isinstance(value, tuple):
                raise ValueError(f"{where}: a read returned a pair {value!r}")
            result = value
        op = kv_operation(process, t_call, t_ret, outcome, inp, result)
        if op is not None:
            ops.append(op)

    for lineno, line in enumerate(text.splitlines(), 1):
        m = _JEPSEN_LINE.match(line)
        if m is None:
            continue
        where = f"line {lineno}"
        process, typ, f, raw = int(m[1]), m[2], m[3], m[4]
        value = _jepsen_value(raw, where)
        if typ == "invoke":
            if process in pending:
                raise ValueError(f"{where}: process {process} invokes while an operation is open")
            pending[process] = (t, f, value)
        elif typ in _JEPSEN_TYPES:
            if process not in pending or pending[process][1] != f:
                raise ValueError(f"{where}: :{typ} :{f} without a matching :invoke")
            outcome = _JEPSEN_TYPES[typ]
            finish(process, None if outcome is Outcome.UNKNOWN else t, outcome, value, where)
        else:
            raise ValueError(f"{where}: unknown type :{typ}")
        t += 1
    for process in sorted(pending):
        finish(process, None, Outcome.UNKNOWN, None, "end of log")
    return ops


# --- EDN key-value logs --------------------------------------------------------------------------

_EDN_STRING = r'"((?:[^"\\]|\\.)*)"'
_KV_LINE = re.compile(
    r"^\{:process (\d+), :type :(\w+), :f :(\w+), :key " + _EDN_STRING
    + r", :value (?:nil|" + _EDN_STRING + r")\}$"
)  # fmt: skip
_EDN_ESCAPES = re.compile(r"\\(.)")


def _edn_unescape(s: str) -> str:
    return _EDN_ESCAPES.sub(lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), s)


def parse_kv_log(text: str) -> list[KvOperation]:
    """Key-value operations from one-EDN-map-a-line logs; line order is time.

    `{:process P, :type :invoke|:ok|:fail|:info, :f :get|:put|:append, :key "K", :value "V"|nil}`;
    a get's value on `:ok` is what it read.
    """
    pending: dict[int, tuple[int, OpKind, str, str | None]] = {}
    ops: list[KvOperation] = []
    t = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _KV_LINE.match(line.strip())
        if m is None:
            raise ValueError(f"line {lineno}: not a key-value event: {line[:100]!r}")
        process, typ, key = int(m[1]), m[2], _edn_unescape(m[4])
        value = None if m[5] is None else _edn_unescape(m[5])
        kind = op_kind(m[3])
        if typ == "invoke":
            if process in pending:
                raise ValueError(f"line {lineno}: process {process} invokes while one is open")
            pending[process] = (t, kind, key, value)
        elif typ in _JEPSEN_TYPES:
            if process not in pending:
                raise ValueError(f"line {lineno}: :{typ} without a matching :invoke")
            t_call, kind, key, invoked = pending.pop(process)
            outcome = _JEPSEN_TYPES[typ]
            inp = KvInput(kind, key, None if kind is OpKind.READ else invoked)
            ret = None if outcome is Outcome.UNKNOWN else t
            op = kv_operation(process, t_call, ret, outcome, inp, value)
            if op is not None:
                ops.append(op)
        else:
            raise ValueError(f"line {lineno}: unknown type :{typ}")
        t += 1
    for process in sorted(pending):
        t_call, kind, key, invoked = pending.pop(process)
        inp = KvInput(kind, key, None if kind is OpKind.READ else invoked)
        op = kv_operation(process, t_call, None, Outcome.UNKNOWN, inp)
        if op is not None:
            ops.append(op)
    return ops
