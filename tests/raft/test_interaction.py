"""Runs every transcript in testdata/: each step's output must be what the file says.

On a difference the test fails with a unified diff. To accept new output, rewrite the files
(then read the diff before committing: a transcript is only as good as its review):

    SHOAL_REWRITE=1 pytest tests/raft/test_interaction.py     (or: pytest tests/raft --rewrite)
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
from interaction_env import run_file

TESTDATA = Path(__file__).parent / "testdata"
FILES = sorted(TESTDATA.glob("*.txt"))


def _rewrite(config: pytest.Config) -> bool:
    try:
        opt = bool(config.getoption("--rewrite"))
    except ValueError:  # the option is registered only when tests/raft/conftest.py loads first
        opt = False
    return opt or os.environ.get("SHOAL_REWRITE") == "1"


def test_there_are_transcripts() -> None:
    assert len(FILES) >= 5


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_transcript(path: Path, pytestconfig: pytest.Config) -> None:
    want, got = run_file(path)
    if got == want:
        return
    if _rewrite(pytestconfig):
        path.write_text(got)
        return
    diff = difflib.unified_diff(
        want.splitlines(), got.splitlines(), f"{path.name} (expected)", "actual", lineterm=""
    )
    pytest.fail("transcript differs:\n" + "\n".join(diff), pytrace=False)
