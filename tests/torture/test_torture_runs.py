"""The CI-sized torture runs: real `shoal torture` processes, a fixed set of seeds, every fault
kind at least once across them, and the planted bug caught.

Each run is a subprocess in its own session (started by support's launcher), killed with every
member it started when the test ends, whatever happened; members also die with the harness
(PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from shoal.faultfs.mount import available as faultfs_unavailable
from shoal.torture.clocks import available as clocks_unavailable
from shoal.torture.diskfaults import DISK_KINDS
from shoal.torture.nemesis import KINDS
from support import Procs

# Three runs share the fault kinds between them: crashes and torn logs, network and membership,
# then the disk and clock faults (members on fault file systems, with libfaketime).
CI_RUNS = [
    (11, "kill-leader,kill-follower,kill-majority,pause,truncate-wal,snapshot-catchup"),
    (12, "partition-halves,partition-leader,partition-bridge,lossy-net,member-replace"),
    (13, "power-cut,disk-error,disk-full,slow-disk,bit-flip,clock-jump"),
]
NO_FUSE = faultfs_unavailable()
NO_FAKETIME = clocks_unavailable()
MUTANT = Path(__file__).parent / "mutants" / "shoal_etcd.py"
RUN_DEADLINE = 300  # seconds; a run takes about 1-2 minutes on a busy 2-core machine


def run_torture(args: list[str], keep: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run `shoal torture`; its exit status and everything it printed. The harness and every
    member it started share its process group, which the launcher kills however this ends."""
    cmd = [sys.executable, "-m", "shoal.cli", "torture", *args, "--keep", str(keep)]
    with Procs(keep.parent / "procs") as procs:
        procs.start("torture", cmd, env=env)
        try:
            code = procs.wait_exit("torture", RUN_DEADLINE)
            return code, procs.log("torture")
        except subprocess.TimeoutExpired:
            return -1, procs.log("torture") + "\n(timed out)"


def kinds_run(report: str) -> set[str]:
    m = re.search(r"^  ran: (.*)$", report, re.M)
    assert m, report
    return {part.split(" x")[0] for part in m.group(1).split(", ")}


def test_the_ci_runs_cover_every_fault_kind() -> None:
    covered = {k for _, faults in CI_RUNS for k in faults.split(",")}
    assert covered == set(KINDS)


@pytest.mark.timeout(RUN_DEADLINE + 60)
@pytest.mark.parametrize(("seed", "faults"), CI_RUNS)
def test_a_torture_run_under_faults_ends_with_verdict_ok(
    seed: int, faults: str, tmp_path: Path
) -> None:
    if NO_FUSE and set(faults.split(",")) & set(DISK_KINDS):
        pytest.skip(f"disk faults need FUSE: {NO_FUSE}")
    if NO_FAKETIME and "clock-jump" in faults:
        pytest.skip(f"clock-jump needs libfaketime: {NO_FAKETIME}")
    code, report = run_torture(
        ["--duration", "20", "--seed", str(seed), "--faults", faults, "--hold", "1.5,3"],
        tmp_path / "run",
    )
    assert report.rstrip().endswith("verdict: ok"), report
    assert code == 0
    assert kinds_run(report) >= set(faults.split(","))
    ops = re.search(r"^operations: (\d+) \(ok (\d+), failed (\d+), unknown (\d+)\)", report, re.M)
    assert ops and int(ops.group(2)) > 100, report
    if "snapshot-catchup" in faults:
        assert re.search(r"snapshot catch-ups: [1-9]\d* of", report), report
    for check in ("linearizable: ok", "converged: ok", "acknowledged writes: ok"):
        assert check in report, report
    # --keep keeps what a person would look at.
    for name in ("history.json", "lincheck.jsonl", "report.txt", "logs/n1.log"):
        assert (tmp_path / "run" / name).exists(), name


@pytest.mark.timeout(RUN_DEADLINE + 60)
def test_a_planted_stale_read_bug_is_caught_as_not_linearizable(tmp_path: Path) -> None:
    # Quorum reads answered from the local store (etcd 0.4's stale reads), while a partition
    # leaves an old leader serving them.
    # The bug is planted by a test-only wrapper of `shoal etcd` (production code has none).
    args = ["--duration", "8", "--seed", "7", "--faults", "partition-leader", "--hold", "3,4"]
    code, report = run_torture(
        [*args, "--member-command", f"{sys.executable} {MUTANT}"],
        tmp_path / "run",
        env={"SHOAL_TEST_BUG": "local-quorum-reads"},
    )
    assert code == 1, report
    last = report.rstrip().splitlines()[-1]
    assert last.startswith("verdict: FAIL") and "linearizable" in last, report
    assert "NOT linearizable" in report
    assert re.search(r"^    key '/torture/[rq]\d+\.\d+': not linearizable", report, re.M), report
    assert "replay: SHOAL_TEST_BUG=local-quorum-reads shoal torture" in report
    assert "--seed 7" in report
    assert (tmp_path / "run" / "history.json").exists()


# A planted bug per family of disk faults, the fault that catches it, and a seed whose first
# fault shows it: seed 3's first power cut hits every member at once; seed 2's disk error fails
# fsyncs (not writes, which the member would not get past).
DISK_MUTANTS = [
    ("no-wal-sync", "power-cut", 3, "acknowledged writes"),
    ("no-dir-fsync", "power-cut", 3, "acknowledged writes"),
    ("ignore-fsync-errors", "disk-error", 2, "disk faults"),
]


@pytest.mark.skipif(NO_FUSE is not None, reason=f"disk faults need FUSE: {NO_FUSE}")
@pytest.mark.timeout(RUN_DEADLINE + 60)
@pytest.mark.parametrize(("bug", "faults", "seed", "failed_check"), DISK_MUTANTS)
def test_a_planted_durability_bug_is_caught_by_its_disk_fault(
    bug: str, faults: str, seed: int, failed_check: str, tmp_path: Path
) -> None:
    args = ["--duration", "4", "--seed", str(seed), "--faults", faults, "--hold", "1,2"]
    code, report = run_torture(
        [*args, "--member-command", f"{sys.executable} {MUTANT}"],
        tmp_path / "run",
        env={"SHOAL_TEST_BUG": bug},
    )
    assert code == 1, report
    last = report.rstrip().splitlines()[-1]
    assert last.startswith("verdict: FAIL") and failed_check in last, report
    assert f"replay: SHOAL_TEST_BUG={bug} shoal torture" in report


@pytest.mark.skipif(NO_FAKETIME is not None, reason=f"clock-jump needs libfaketime: {NO_FAKETIME}")
@pytest.mark.timeout(RUN_DEADLINE + 60)
def test_a_planted_clock_bug_is_caught_by_clock_jump(tmp_path: Path) -> None:
    # Every member, not only the leader, expires TTL keys with its own clock; seed 5's first
    # jump puts a follower an hour ahead, and the probe key goes before its TTL.
    args = ["--duration", "4", "--seed", "5", "--faults", "clock-jump", "--hold", "1.5,3"]
    code, report = run_torture(
        [*args, "--member-command", f"{sys.executable} {MUTANT}"],
        tmp_path / "run",
        env={"SHOAL_TEST_BUG": "every-member-syncs"},
    )
    assert code == 1, report
    last = report.rstrip().splitlines()[-1]
    assert last.startswith("verdict: FAIL") and "clock faults" in last, report
    assert re.search(r"a 3s TTL key expired after \d+\.\ds", report), report


@pytest.mark.timeout(RUN_DEADLINE + 60)
def test_a_tls_torture_run_ends_with_verdict_ok(tmp_path: Path) -> None:
    """--tls: members on https (both ports, peers by certificate); a member replaced joins over
    https and partitions reach the fault endpoints with the members' certificates."""
    faults = "partition-leader,kill-leader,member-replace"
    args = ["--tls", "--duration", "12", "--seed", "7", "--faults", faults, "--hold", "1.5,3"]
    code, report = run_torture(args, tmp_path / "run")
    assert report.rstrip().endswith("verdict: ok"), report
    assert code == 0
    assert kinds_run(report) >= set(faults.split(","))
    assert re.search(r"^  members: n1=https://", report, re.M), report
    assert "members serve https on both ports (--tls)" in report
