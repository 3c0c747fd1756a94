"""Shared by every test folder: tests/ on sys.path (so `from support import ...` works from any
folder; the folders' own helpers stay importable by their bare names, as pytest's default
"prepend" import mode puts each test's folder on sys.path), a `procs` launcher per test, and the
logs of the processes still running attached to the report of a failed test."""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from support import procs as support_procs  # noqa: E402 (needs the path above)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[support_procs.Procs]:
    """A launcher whose processes are killed and reaped when the test ends, whatever happened."""
    with support_procs.Procs(tmp_path / "procs") as p:
        yield p


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for launcher in support_procs.OPEN:
            if launcher.procs:
                report.sections.append((f"process logs ({launcher.dir})", launcher.tails()))
    return report
