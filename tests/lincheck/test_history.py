"""Readers of recorded histories: Jepsen logs, EDN key-value logs, events and harness records."""

from __future__ import annotations

import pytest

from shoal.lincheck import KvInput, KvOutput, Operation, OpKind, parse_jepsen_log, parse_kv_log
from shoal.lincheck.history import CallEvent, ReturnEvent, operations_from_events
from shoal.lincheck.records import operation_from_record

JEPSEN = (
    "2014-01-01 some other log line\n"
    "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n"
    "INFO  jepsen.util - 1   :invoke :cas    [1 2]\n"  # some logs use spaces
    "INFO  jepsen.util - 2\t:invoke\t:write\t3\n"
    "INFO  jepsen.util - 0\t:ok\t:read\tnil\n"
    "\n"
    "INFO  jepsen.util - 1\t:fail\t:cas\t[1 2]\n"
    "INFO  jepsen.util - 2\t:info\t:write\t3\n"
    "INFO  jepsen.util - 7\t:invoke\t:write\t4\n"
)


def test_jepsen_log_pairs_invokes_with_completions_in_line_order() -> None:
    ops = sorted(parse_jepsen_log(JEPSEN), key=lambda op: op.call)
    assert ops == [
        Operation(0, 0, 3, KvInput(OpKind.READ), KvOutput(value=None)),
        Operation(1, 1, 4, KvInput(OpKind.CAS, value=2, expected=1), KvOutput(ok=False)),
        Operation(2, 2, None, KvInput(OpKind.WRITE, value=3), None),  # :info: unknown
        Operation(7, 6, None, KvInput(OpKind.WRITE, value=4), None),  # never completed
    ]


def test_jepsen_log_with_a_completion_but_no_invoke_is_refused_with_its_line() -> None:
    with pytest.raises(ValueError, match="line 1: :ok :read without a matching :invoke"):
        parse_jepsen_log("INFO  jepsen.util - 3\t:ok\t:read\t1\n")


def test_kv_log_reads_get_put_append_with_escapes() -> None:
    text = (
        '{:process 0, :type :invoke, :f :put, :key "k", :value "a \\"q\\""}\n'
        '{:process 1, :type :invoke, :f :get, :key "k", :value nil}\n'
        '{:process 0, :type :ok, :f :put, :key "k", :value "a \\"q\\""}\n'
        '{:process 1, :type :ok, :f :get, :key "k", :value ""}\n'
        '{:process 0, :type :invoke, :f :append, :key "k", :value "z"}\n'
    )
    assert parse_kv_log(text) == [
        Operation(0, 0, 2, KvInput(OpKind.WRITE, "k", 'a "q"'), KvOutput()),
        Operation(1, 1, 3, KvInput(OpKind.READ, "k"), KvOutput(value="")),
        Operation(0, 4, None, KvInput(OpKind.APPEND, "k", "z"), None),
    ]


def test_kv_log_refuses_a_line_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="line 1: not a key-value event"):
        parse_kv_log("{:process 0, :type :invoke}\n")


def test_events_become_operations_and_a_call_without_return_is_unknown() -> None:
    events: list[CallEvent[str] | ReturnEvent[int]] = [
        CallEvent(0, 10, "a"),
        CallEvent(1, 11, "b"),
        ReturnEvent(0, 10, 5),
    ]
    assert operations_from_events(events) == [
        Operation(0, 0, 2, "a", 5),
        Operation(1, 1, None, "b", None),
    ]


def test_records_follow_the_harness_outcomes() -> None:
    base = {"client": 1, "key": "/k", "call": 100.5}
    ok_read = operation_from_record({**base, "op": "get", "return": 100.7, "result": "v"})
    assert ok_read == Operation(1, 100.5, 100.7, KvInput(OpKind.READ, "/k"), KvOutput(value="v"))
    unknown_write = operation_from_record({**base, "op": "put", "value": "v", "outcome": "unknown"})
    assert unknown_write is not None and unknown_write.unknown
    failed_cas = {**base, "op": "cas", "ret": 101.0, "outcome": "fail", "expected": "a"}
    assert operation_from_record(failed_cas) == Operation(
        1, 100.5, 101.0, KvInput(OpKind.CAS, "/k", None, "a"), KvOutput(ok=False)
    )
    # A failed write did not happen and an unknown read told nothing: both are left out.
    assert operation_from_record({**base, "op": "write", "ret": 101.0, "outcome": "fail"}) is None
    assert operation_from_record({**base, "op": "read", "outcome": "unknown"}) is None


def test_a_bad_record_says_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="outcome must be one of"):
        operation_from_record({"client": 1, "op": "get", "call": 1, "ret": 2, "outcome": "meh"})
    with pytest.raises(ValueError, match="unknown operation 'frob'"):
        operation_from_record({"client": 1, "op": "frob", "call": 1, "ret": 2})
    with pytest.raises(ValueError, match="unknown fields"):
        operation_from_record({"client": 1, "op": "get", "call": 1, "when": 2})
    with pytest.raises(ValueError, match=r"returns .* before it is called"):
        operation_from_record({"client": 1, "op": "get", "call": 5, "ret": 2})
