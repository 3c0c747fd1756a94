"""Histories recorded by a test harness: `KvRecord` structs, plain dicts with the same fields,
or one JSON object a line, read into key-value operations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shoal.lincheck.kvops import KvInput, KvOperation, Outcome, Value, kv_operation, op_kind


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
