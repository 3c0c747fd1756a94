"""Recorded histories of other tools, read into key-value operations:

- Jepsen logs of a compare-and-set register (`parse_jepsen_log`),
- EDN-style key-value logs as in porcupine's test data (`parse_kv_log`).

Line order is time in both; an invocation never completed is an operation whose outcome is
unknown.
"""

from __future__ import annotations

import re

from shoal.lincheck.kvops import KvInput, KvOperation, OpKind, Outcome, Value, kv_operation, op_kind

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

    def finish(process: int, t_ret: int | None, outcome: Outcome, value: str | None) -> None:
        t_call, kind, key, invoked = pending.pop(process)
        inp = KvInput(kind, key, None if kind is OpKind.READ else invoked)
        op = kv_operation(process, t_call, t_ret, outcome, inp, value)
        if op is not None:
            ops.append(op)

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
            outcome = _JEPSEN_TYPES[typ]
            finish(process, None if outcome is Outcome.UNKNOWN else t, outcome, value)
        else:
            raise ValueError(f"line {lineno}: unknown type :{typ}")
        t += 1
    for process in sorted(pending):
        finish(process, None, Outcome.UNKNOWN, None)
    return ops
