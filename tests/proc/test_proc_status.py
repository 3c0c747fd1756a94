"""shoal.proc: a zombie counts as gone, reaping collects it, and children die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from shoal.proc.spawn import popen, with_death_signal
from shoal.proc.status import is_zombie, pgid_alive, pid_alive, reap, state, wait_gone
from support import wait_until


def test_a_running_child_is_alive_and_an_exited_unreaped_one_is_a_zombie() -> None:
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert pid_alive(p.pid) and state(p.pid) in ("R", "S")
        os.kill(p.pid, signal.SIGKILL)
        wait_until(lambda: is_zombie(p.pid))
        assert not pid_alive(p.pid)  # exited: gone, though not yet reaped
        assert reap(p.pid) is not None
        assert state(p.pid) is None and not pid_alive(p.pid)
    finally:
        p.kill()
        p.wait()


def test_a_process_group_of_zombies_is_gone() -> None:
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                         start_new_session=True)  # fmt: skip
    try:
        assert pgid_alive(p.pid)
        os.killpg(p.pid, signal.SIGKILL)
        wait_until(lambda: is_zombie(p.pid))
        assert not pgid_alive(p.pid)
    finally:
        p.kill()
        p.wait()


def test_wait_gone_reaps_our_children_and_times_out_on_live_ones() -> None:
    quick = subprocess.Popen([sys.executable, "-c", "pass"])
    slow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert wait_gone([quick.pid], timeout=20)
        assert not wait_gone([slow.pid], timeout=0.2)
    finally:
        slow.kill()
        slow.wait()
        quick.poll()


def test_pid_alive_of_a_pid_that_does_not_exist() -> None:
    assert not pid_alive(2**22 + 12345)


def test_reap_of_a_process_that_is_not_our_child() -> None:
    assert reap(1) is None


# A parent that starts a sleeping grandchild with the death signal, prints its pid, then waits.
_PARENT = """
import sys, time
from shoal.proc.spawn import popen, with_death_signal
argv = [sys.executable, "-c", "import time; time.sleep(60)"]
child = popen(argv) if sys.argv[1] == "preexec" else __import__("subprocess").Popen(
    with_death_signal(argv))
print(child.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("how", ["preexec", "setpriv"])
def test_a_child_dies_with_its_parent(how: str) -> None:
    if how == "setpriv" and with_death_signal(["x"]) == ["x"]:
        pytest.skip("no setpriv(1) here")
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, how], stdout=subprocess.PIPE)
    grandchild = 0
    try:
        assert parent.stdout is not None
        grandchild = int(parent.stdout.readline())
        # setpriv sets the signal after its own exec, then execs the command: wait for that.
        # (/proc/PID/cmdline reads empty while an exec is under way.)
        cmdline = Path(f"/proc/{grandchild}/cmdline")
        wait_until(lambda: cmdline.read_bytes().split(b"\0")[0] == sys.executable.encode())
        assert pid_alive(grandchild)
        parent.kill()
        parent.wait()
        wait_until(lambda: not pid_alive(grandchild))
    finally:
        parent.kill()
        parent.wait()
        if grandchild and pid_alive(grandchild):
            os.kill(grandchild, signal.SIGKILL)


def test_popen_passes_its_arguments_on() -> None:
    p = popen([sys.executable, "-c", "print('hi')"], stdout=subprocess.PIPE)
    out, _ = p.communicate(timeout=30)
    assert out == b"hi\n"
