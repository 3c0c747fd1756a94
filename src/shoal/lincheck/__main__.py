"""`python -m shoal.lincheck FILE...`: check recorded histories and explain any failure.

Formats, told apart by content: Jepsen register logs (`INFO  jepsen.util - ...` lines), EDN
key-value logs (`{:process ...}` lines, a missing key reads as ""), and harness records (one JSON
object a line, see `shoal.lincheck.records.KvRecord`; a missing key reads as missing). Exit
status: 0 all linearizable, 1 some history is not, 2 undecided in time or unreadable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shoal.lincheck.checker import CheckResult, check
from shoal.lincheck.kvops import KvOperation
from shoal.lincheck.logs import parse_jepsen_log, parse_kv_log
from shoal.lincheck.model import CasRegister, KvMap
from shoal.lincheck.records import parse_records_jsonl
from shoal.lincheck.report import report


def load(text: str) -> tuple[CasRegister, list[KvOperation]]:
    """The model and operations of one recorded history, by its format."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first.startswith("{:"):
        return KvMap(initial=""), parse_kv_log(text)
    if first.startswith("{"):
        return KvMap(), parse_records_jsonl(text)
    if "jepsen.util" in text:
        return CasRegister(), parse_jepsen_log(text)
    raise ValueError("not a Jepsen log, an EDN key-value log or JSON records")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shoal.lincheck", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per file")
    args = parser.parse_args(argv)
    worst = 0
    for path in args.files:
        try:
            model, ops = load(path.read_text())
        except (OSError, ValueError) as err:
            print(f"{path}: cannot read: {err}", file=sys.stderr)
            worst = max(worst, 2)
            continue
        result = check(model, ops, timeout=args.timeout)
        print(f"{path}: {report(model, result)}")
        code = {CheckResult.OK: 0, CheckResult.ILLEGAL: 1, CheckResult.UNKNOWN: 2}[result.result]
        worst = max(worst, code)
    return worst


if __name__ == "__main__":
    sys.exit(main())
