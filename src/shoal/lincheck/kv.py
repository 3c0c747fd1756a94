"""The one call a test harness makes: is this recorded etcd key-value history linearizable?

Records are `KvRecord` structs or dicts with the same fields (see `shoal.lincheck.records`), with
wall-clock call and return times. Each key is checked as a compare-and-set register on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shoal.lincheck.checker import CheckResult, Result, check
from shoal.lincheck.kvops import KvInput, KvOutput, Value
from shoal.lincheck.model import KvMap
from shoal.lincheck.records import KvRecord, operations_from_records
from shoal.lincheck.report import report


@dataclass(frozen=True, slots=True)
class Verdict:
    """`result` is ok, illegal or unknown (out of time); `text` explains it to a person."""

    result: CheckResult
    summary: str  # one line
    text: str  # the full report (for an illegal history: the failing key and operations)
    detail: Result[Value, KvInput, KvOutput]

    @property
    def ok(self) -> bool:
        return self.result is CheckResult.OK


def check_kv(
    history: Iterable[KvRecord | Mapping[str, object]],
    timeout: float | None = 300.0,
    explain_budget: float = 30.0,
) -> Verdict:
    """Check a harness history key by key; `timeout` bounds the search (seconds), after which
    the verdict is unknown, and `explain_budget` bounds the search for the smallest failure."""
    model = KvMap()
    result = check(model, operations_from_records(history), timeout=timeout)
    text = report(model, result, explain_budget)
    return Verdict(result.result, text.splitlines()[0], text, result)
