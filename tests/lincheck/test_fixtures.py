"""The checker gives the known answer on every public fixture history (porcupine's test data).

The fixtures live in the shared folder beside the repository: <repo>/../shared in development and
in CI, or wherever SHOAL_SHARED points.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shoal.lincheck import (
    CasRegister,
    CheckResult,
    KvMap,
    WholeKvMap,
    check,
    parse_jepsen_log,
    parse_kv_log,
    report,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SHOAL_SHARED") or REPO.parent / "shared")
# SHOAL_SHARED names the shared folder; the fixtures folder itself is accepted too.
FIXTURES = SHARED if (SHARED / "expected.tsv").is_file() else SHARED / "linearizability-fixtures"
ABSENT = f"linearizability fixtures not found at {FIXTURES} (set SHOAL_SHARED to the shared folder)"

# Per fixture: enough for the slowest on this 2-core machine many times over; a hang fails, it
# does not stall the suite.
TIMEOUT = 60.0


def expected() -> list[tuple[str, bool]]:
    """(path relative to the fixtures, linearizable?) for every fixture with a known answer."""
    if not FIXTURES.is_dir():
        return []
    cases = []
    for line in (FIXTURES / "expected.tsv").read_text().splitlines()[1:]:
        if line.strip():
            name, answer = line.split("\t")
            cases.append((name, answer.strip() == "true"))
    # The README: -ok files are linearizable, -bad files are not.
    for path in sorted((FIXTURES / "kv").glob("*.txt")):
        cases.append((f"kv/{path.name}", path.stem.endswith("-ok")))
    return cases


CASES = expected() or [pytest.param("", False, marks=pytest.mark.skip(reason=ABSENT))]


@pytest.mark.parametrize(("name", "linearizable"), CASES, ids=[str(c[0]) for c in CASES])
def test_fixture_gives_the_known_answer(name: str, linearizable: bool) -> None:
    text = (FIXTURES / name).read_text()
    if name.startswith("jepsen/"):
        model: CasRegister = CasRegister()
        ops = parse_jepsen_log(text)
    else:
        model = KvMap(initial="")  # these logs read a missing key as ""
        ops = parse_kv_log(text)
    result = check(model, ops, timeout=TIMEOUT)
    want = CheckResult.OK if linearizable else CheckResult.ILLEGAL
    assert result.result is want, report(model, result)


@pytest.mark.skipif(not FIXTURES.is_dir(), reason=ABSENT)
# c10-bad as one history takes an exhaustive search of ~220k configurations (several seconds, far
# more on a loaded machine), and the c50 ones do not finish: per key is the way to check them.
@pytest.mark.parametrize("name", ["c01-ok", "c01-bad", "c10-ok"])
def test_checking_key_by_key_gives_the_same_answer_as_the_whole_map(name: str) -> None:
    ops = parse_kv_log((FIXTURES / "kv" / f"{name}.txt").read_text())
    by_key = check(KvMap(initial=""), ops, timeout=TIMEOUT)
    whole = check(WholeKvMap(initial=""), ops, timeout=TIMEOUT)
    assert by_key.result is whole.result
    assert by_key.result is (CheckResult.OK if name.endswith("-ok") else CheckResult.ILLEGAL)


@pytest.mark.skipif(not FIXTURES.is_dir(), reason=ABSENT)
def test_the_fixtures_cover_what_the_readme_says() -> None:
    cases = dict(expected())
    jepsen = {n: ok for n, ok in cases.items() if n.startswith("jepsen/")}
    assert len(jepsen) == 102
    assert sum(jepsen.values()) == 23
    assert len(cases) - len(jepsen) == 6
