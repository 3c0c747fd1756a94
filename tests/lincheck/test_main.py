"""`python -m shoal.lincheck FILE...`: re-checking a history the harness kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoal.lincheck.__main__ import main

RECORDS = [
    {"client": 1, "op": "put", "key": "/a", "call": 10.0, "ret": 10.1, "value": "1"},
    {"client": 2, "op": "put", "key": "/a", "call": 10.2, "ret": 10.3, "value": "2"},
    {"client": 3, "op": "get", "key": "/a", "call": 10.4, "ret": 10.5, "result": "1"},
]


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_a_kept_history_with_a_stale_read_exits_1_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "history.jsonl", RECORDS)
    assert main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "NOT linearizable" in out and "key '/a'" in out and "read -> '1'" in out


def test_a_good_history_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_jsonl(tmp_path / "history.jsonl", RECORDS[:2])
    assert main([str(path)]) == 0
    assert "linearizable: 1 partition(s), 2 operations" in capsys.readouterr().out


def test_an_unreadable_file_exits_2_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text(json.dumps(RECORDS[0]) + "\n{not json\n")
    assert main([str(path)]) == 2
    assert "line 2: not JSON" in capsys.readouterr().err
