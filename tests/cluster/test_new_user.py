"""What a new user trips over (issue 19), typed as they typed it: each test runs `shoal ...` in a
subprocess and checks what they saw. The cluster here runs `/bin/sleep` as its etcd, so it boots
in a second and the commands under test (systemctl, journal, ssh) have a machine to talk to."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal.systemd.control import ControlError, call, socket_path
from shoal.systemd.journal import Journal
from support.ports import free_subnet
from support.wait import wait_until

pytestmark = pytest.mark.timeout(180)

SLEEPY_ETCD = "/bin/sleep 600"


def shoal(
    *args: str, timeout: float = 90, stdout: int = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SHOAL_ROOT", "SHOAL_HOME")}
    return subprocess.run(
        [sys.executable, "-m", "shoal.cli", *args],
        stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=timeout, env=env,
    )  # fmt: skip


def into_closed_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    """`shoal ARGS | head -0`: stdout is a pipe whose reader has already gone."""
    r, w = os.pipe()
    os.close(r)
    try:
        return shoal(*args, stdout=w)
    finally:
        os.close(w)


def owned(d: Path) -> list[int]:
    want = f"SHOAL_ROOT={d}/".encode()
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{e}/environ", "rb") as f:
                if any(v.startswith(want) for v in f.read().split(b"\0")):
                    out.append(int(e))
    return out


def cleanup(d: Path) -> None:
    if (d / "cluster.json").exists():
        shoal("down", "--dir", str(d))
    for pid in owned(d):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def sleepy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A one-machine cluster whose etcd2.service is a sleep, with 3000 more journal entries."""
    d = tmp_path_factory.mktemp("sleepy") / "c"
    try:
        r = shoal("up", "--dir", str(d), "--subnet", free_subnet((10,)), "--size", "1",
                  "--no-wait", "--etcd-command", SLEEPY_ETCD)  # fmt: skip
        assert r.returncode == 0, r.stderr
        root = d / "coreos-01"

        def etcd2_started() -> bool:
            # A sleep never notifies readiness: "activating" is as far as it gets.
            u = call(socket_path(root), {"op": "status", "unit": "etcd2.service"}, timeout=2)
            return bool(u["unit"]["main_pid"])

        wait_until(etcd2_started, 60, "etcd2.service (a sleep) started", ignore=(ControlError,))
        journal = Journal(root)
        for i in range(3000):
            journal.write("etcd2.service", 42, f"entry {i} " + "x" * 80)
        yield d
    finally:
        cleanup(d)


# --- row 6: broken pipes end quietly -------------------------------------------------------------


def test_systemctl_status_into_a_closed_pipe_ends_quietly(sleepy: Path) -> None:
    r = into_closed_pipe("systemctl", "-M", "1", "--dir", str(sleepy), "status", "etcd2")
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr
    assert r.stderr == ""
    assert r.returncode == 141  # as a Go program (etcdctl) killed by SIGPIPE


def test_journal_of_3000_lines_into_head_ends_quietly(sleepy: Path) -> None:
    line = f"{sys.executable} -m shoal.cli journal -M 1 --dir {sleepy} -n 3000 | head -1"
    r = subprocess.run(["/bin/sh", "-c", line], capture_output=True, text=True, timeout=60)
    assert r.stdout.count("\n") == 1 and "entry 0 xxx" in r.stdout, r.stdout[:300]
    assert r.stderr == "", r.stderr


def test_journalctl_into_head_inside_shoal_ssh_ends_quietly(sleepy: Path) -> None:
    r = shoal("ssh", "--dir", str(sleepy), "1", "--", "journalctl -n 3000 | head -1")
    assert r.stdout.count("\n") == 1 and "entry 0 xxx" in r.stdout, r.stdout[:300]
    assert r.stderr == "", r.stderr


# --- row 12: a --dir that cannot be a directory --------------------------------------------------


def test_up_with_a_dir_under_a_file_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "passwd"
    blocker.write_text("root:x:0:0\n")
    r = shoal("up", "--dir", str(blocker / "x"), "--size", "1", "--no-wait")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"{blocker}/x" in r.stderr and "Not a directory" in r.stderr, r.stderr
    assert blocker.read_text() == "root:x:0:0\n"
