"""The simulator: healthy clusters pass, runs replay from their seed, planted bugs are found."""

from __future__ import annotations

import pytest

from shoal.sim.cli import main
from shoal.sim.mutants import (
    BUG_APPEND_WITHOUT_TRUNCATE,
    BUG_COMMIT_OLD_TERM,
    BUG_READ_WITHOUT_LEADERSHIP,
    BUG_VOTE_WITHOUT_PERSIST,
)
from shoal.sim.raft_sim import RunResult, SimConfig, run_seed


def _first_failure(bug: str, seeds: range, nodes: int = 3, steps: int = 600) -> RunResult:
    for seed in seeds:
        res = run_seed(SimConfig(seed, nodes, steps, frozenset({bug})))
        if not res.ok:
            return res
    raise AssertionError(f"planted bug {bug!r} went unnoticed over seeds {seeds}")


@pytest.mark.parametrize(("nodes", "seeds"), [(3, range(1, 41)), (5, range(1, 13))])
def test_a_correct_core_passes_every_invariant_under_faults(nodes: int, seeds: range) -> None:
    for seed in seeds:
        res = run_seed(SimConfig(seed, nodes, 1000))
        assert res.ok, f"seed {seed}: {res.violation}\n" + "\n".join(res.trace)
        # The run really exercised faults and traffic.
        assert res.stats["crashes"] > 0 and res.stats["writes_acked"] > 0
        assert res.stats["reads_ok"] > 0 and res.stats["elections"] > 0


def test_a_seed_replays_exactly() -> None:
    a = run_seed(SimConfig(7, 3, 500))
    b = run_seed(SimConfig(7, 3, 500))
    assert a.stats == b.stats and a.trace == b.trace


def test_planted_bug_vote_without_persist_is_found_as_two_leaders_in_a_term() -> None:
    res = _first_failure(BUG_VOTE_WITHOUT_PERSIST, range(1, 60))
    assert res.violation.startswith("election safety")


def test_planted_bug_append_without_truncate_is_found() -> None:
    res = _first_failure(BUG_APPEND_WITHOUT_TRUNCATE, range(1, 60))
    assert res.violation.startswith(("state machine safety", "log matching", "leader complete"))


def test_planted_bug_read_without_leadership_is_found_as_a_stale_read() -> None:
    res = _first_failure(BUG_READ_WITHOUT_LEADERSHIP, range(1, 60))
    assert res.violation.startswith("stale read")


def test_cli_reports_the_seed_and_the_command_that_replays_a_failure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed = _first_failure(BUG_READ_WITHOUT_LEADERSHIP, range(1, 60)).seed
    argv = ["raft", "--seed", str(seed), "--seeds", "1", "--steps", "600"]
    assert main([*argv, "--bug", BUG_READ_WITHOUT_LEADERSHIP]) == 1
    out = capsys.readouterr().out
    replay = f"shoal sim raft --seed {seed} --seeds 1 --nodes 3 --steps 600"
    assert f"FAIL seed {seed}: stale read" in out
    assert f"replay: {replay} --bug {BUG_READ_WITHOUT_LEADERSHIP}" in out
    assert out.rstrip().endswith("0 passed, 1 failed")
    assert main(argv) == 0
    assert capsys.readouterr().out.rstrip().endswith("1 passed, 0 failed")


def test_cli_refuses_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["raft", "--nodes", "4"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["raft", "--seeds", "0"])
    assert "--seeds and --steps must be at least 1" in capsys.readouterr().err


def test_planted_bug_commit_old_term_is_found() -> None:
    # Figure 8 of the Raft paper needs a long chain of crashes; with the no-op entry each new
    # leader appends, about 1 seed in 100 of 3 nodes gets there. The scan starts at one that does
    # (seed 1142, found with `shoal sim raft --seeds 1500 --seed 1000 --steps 1000 --bug
    # commit-old-term`) and goes on if a change to the simulator moves it.
    res = _first_failure(BUG_COMMIT_OLD_TERM, range(1142, 1542), steps=1000)
    assert res.violation.startswith(("leader completeness", "state machine safety"))
    assert run_seed(SimConfig(res.seed, 3, 1000)).ok  # the same schedule without the bug is fine
