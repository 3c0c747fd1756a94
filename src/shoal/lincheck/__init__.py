"""A linearizability checker: the Wing-Gong search with Lowe's memoisation, as porcupine does it.

- `history`: operations (call/return times, unknown outcomes), from call/return event lists,
- `kvops`: the key-value vocabulary (read, write, cas, append, delete; outcomes),
- `records` / `logs`: readers for harness records (JSON lines) and Jepsen / EDN logs,
- `model`: sequential specifications (a compare-and-set register; a key-value map by key),
- `checker`: `check(model, history, timeout)` -> ok / illegal / unknown,
- `report`: the smallest failing part of an illegal history, for a person,
- `kv`: `check_kv(records)`, the face a test harness uses.
"""

from shoal.lincheck.checker import CheckResult, PartitionResult, Result, check, check_partition
from shoal.lincheck.history import Operation
from shoal.lincheck.kv import Verdict, check_kv
from shoal.lincheck.kvops import KvInput, KvOutput, OpKind, Outcome
from shoal.lincheck.logs import parse_jepsen_log, parse_kv_log
from shoal.lincheck.model import CasRegister, KvMap, Model, WholeKvMap
from shoal.lincheck.records import KvRecord, operations_from_records, parse_records_jsonl
from shoal.lincheck.report import report

__all__ = [
    "CasRegister",
    "CheckResult",
    "KvInput",
    "KvMap",
    "KvOutput",
    "KvRecord",
    "Model",
    "OpKind",
    "Operation",
    "Outcome",
    "PartitionResult",
    "Result",
    "Verdict",
    "WholeKvMap",
    "check",
    "check_kv",
    "check_partition",
    "operations_from_records",
    "parse_jepsen_log",
    "parse_kv_log",
    "parse_records_jsonl",
    "report",
]
