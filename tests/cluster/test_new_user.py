"""What a new user trips over (issue 19), typed as they typed it: each test runs `shoal ...` in a
subprocess and checks what they saw. The cluster here runs `/bin/sleep` as its etcd, so it boots
in a second and the commands under test (systemctl, journal, ssh) have a machine to talk to."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
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
    assert r.stdout.count("\n") == 1 and "etcd2[42]: entry " in r.stdout, r.stdout[:300]
    assert r.stderr == "", r.stderr


def test_journalctl_into_head_inside_shoal_ssh_ends_quietly(sleepy: Path) -> None:
    r = shoal("ssh", "--dir", str(sleepy), "1", "--", "journalctl -n 3000 | head -1")
    assert r.stdout.count("\n") == 1 and "etcd2[42]: entry " in r.stdout, r.stdout[:300]
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


# --- rows 10 and 11: shoal ssh reads its arguments as ssh does, and ends as ssh ends --------------


def test_ssh_takes_options_after_the_node(sleepy: Path) -> None:
    r = shoal("ssh", "coreos-01", "--dir", str(sleepy), "--", "echo $SHOAL_HOME $SHOAL_MACHINE")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(sleepy), "coreos-01"]
    r = shoal("ssh", "1", "--dir", str(sleepy), "echo", "no", "dashes")
    assert r.stdout == "no dashes\n", r.stderr


def test_bare_ssh_says_only_the_node_is_required() -> None:
    r = shoal("ssh")
    assert r.returncode == 2
    assert "usage: shoal ssh [-h] [--dir DIR] NODE [[--] COMMAND [ARGS...]]" in r.stderr
    assert "required: NODE\n" in r.stderr, r.stderr


def test_sudo_shutdown_inside_ssh_closes_the_connection_as_ssh_does(tmp_path: Path) -> None:
    d = tmp_path / "c"
    try:
        r = shoal("up", "--dir", str(d), "--subnet", free_subnet((10,)), "--size", "1",
                  "--no-wait", "--etcd-command", SLEEPY_ETCD)  # fmt: skip
        assert r.returncode == 0, r.stderr
        line = f"{sys.executable} -m shoal.cli ssh --dir {d} 1 -- sudo shutdown -h now; echo $?"
        r = subprocess.run(["/bin/sh", "-c", line], capture_output=True, text=True, timeout=120)
        assert "Connection to coreos-01 closed by remote host." in r.stderr, r.stderr
        assert "Killed" not in r.stderr
        assert r.stdout.splitlines() == ["coreos-01: shutting down", "coreos-01: stopped", "255"]
        assert "stopped" in shoal("status", "--dir", str(d)).stdout
    finally:
        cleanup(d)


# --- rows 1 and 8: a failed `up` leaves nothing behind; bad sizes and subnets are refused ---------


def test_up_on_taken_addresses_leaves_nothing_and_the_suggested_retry_works(
    tmp_path: Path,
) -> None:
    d = tmp_path / "c"
    taken = free_subnet((10,))
    holder = socket.socket()
    holder.bind((taken.rsplit(".", 1)[0] + ".10", 2379))
    holder.listen()
    try:
        r = shoal("up", "--dir", str(d), "--subnet", taken, "--size", "1", "--no-wait")
    finally:
        holder.close()
    try:
        assert r.returncode == 1 and "--subnet 127.0.1.0" in r.stderr, r.stderr
        assert not d.exists(), sorted(p.name for p in d.iterdir())
        r = shoal("up", "--dir", str(d), "--subnet", free_subnet((10,)), "--size", "1",
                  "--no-wait", "--etcd-command", SLEEPY_ETCD)  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert "coreos-01: started on" in r.stdout
    finally:
        cleanup(d)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "0"], "--size must be at least 1"),
        (["--size", "-2"], "--size must be at least 1"),
        (["--subnet", "10.0.0.0"], "--subnet 10.0.0.0: machines are processes on this computer"),
        (["--subnet", "192.168.0.0"], "need a subnet inside 127.0.0.0/8, e.g. --subnet 127.0.1.0"),
        (["--subnet", "127.255.255.250"], "need a subnet inside 127.0.0.0/8"),
        (["--subnet", "banana"], "--subnet 'banana' is not an IPv4 address"),
    ],
)
def test_up_refuses_a_bad_size_or_subnet_and_creates_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    d = tmp_path / "c"
    r = shoal("up", "--dir", str(d), *args, "--no-wait", "--etcd-command", SLEEPY_ETCD)
    assert r.returncode == 1
    assert r.stderr == f"shoal: {r.stderr.removeprefix('shoal: ')}" and message in r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert not d.exists()
    assert owned(d) == []


# --- rows 7 and 14: a user's own cloud-config: its hostname names the machine, no fleet wait ------

SOLO = """#cloud-config
hostname: solo
coreos:
  etcd2:
    name: solo
    heartbeat-interval: 50
    election-timeout: 500
    advertise-client-urls: http://{ip}:2379
    initial-advertise-peer-urls: http://{ip}:2380
    listen-client-urls: http://{ip}:2379
    listen-peer-urls: http://{ip}:2380
    initial-cluster: solo=http://{ip}:2380
  units:
  - name: etcd2.service
    command: start
"""


def test_own_cloud_config_without_fleet_is_named_by_its_hostname_and_not_waited_for(
    tmp_path: Path,
) -> None:
    d = tmp_path / "c"
    one = tmp_path / "one.yml"
    one.write_text(SOLO.format(ip=free_subnet((10,)).rsplit(".", 1)[0] + ".10"))
    try:
        t0 = time.monotonic()
        r = shoal("up", "--dir", str(d), str(one), "--timeout", "60")
        took = time.monotonic() - t0
        assert r.returncode == 0, r.stdout + r.stderr
        assert "solo healthy" in r.stdout, r.stdout
        assert_shaped_like_the_readme(r.stdout)
        assert "fleetctl list-machines" not in r.stdout  # no 45 s wait for a fleet never started
        assert took < 40, f"`shoal up` took {took:.1f}s"
        assert sorted(p.name for p in d.glob("*.yml")) == ["solo.yml"]
        assert shoal("ssh", "--dir", str(d), "solo", "--", "hostname").stdout == "solo\n"
        for node in ("solo", "1"):  # by name, or by number as for coreos-01
            r = shoal("systemctl", "--dir", str(d), "-M", node, "is-active", "etcd2")
            assert r.stdout == "active\n", r.stdout + r.stderr
        status = shoal("status", "--dir", str(d)).stdout
        assert "solo " in status and "coreos-01" not in status, status
    finally:
        cleanup(d)


def test_errors_in_an_own_cloud_config_name_the_users_file(tmp_path: Path) -> None:
    d = tmp_path / "c"
    bad = tmp_path / "one.yml"
    bad.write_text("#cloud-config\nhostname: solo\ncoreos:\n  etcd2:\n    heartbeat-interval: x\n")
    r = shoal("up", "--dir", str(d), str(bad), "--no-wait")
    assert r.returncode == 1
    assert f"{bad} is not a valid cloud-config" in r.stderr and "line 5" in r.stderr, r.stderr
    assert "solo.yml" not in r.stderr and "coreos-01.yml" not in r.stderr
    assert not d.exists()


def test_two_machines_may_not_share_a_hostname(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yml", tmp_path / "b.yml"
    for f, n in ((a, 10), (b, 20)):
        f.write_text(SOLO.replace("{ip}", f"127.0.0.{n}"))
    r = shoal("up", "--dir", str(tmp_path / "c"), str(a), str(b), "--no-wait")
    assert r.returncode == 1 and "several cloud-configs set hostname 'solo'" in r.stderr, r.stderr
    assert not (tmp_path / "c").exists()


# --- row 17: the cluster README shows what `shoal up` prints ----------------------------------

README = Path(__file__).resolve().parents[2] / "src" / "shoal" / "cluster" / "README.md"
_STATE = r"(booting|healthy|down|etcd2 failed|booting \((etcd2 [a-z-]+/[a-z-]+|\.\.\.)\))"
PROGRESS = re.compile(rf"^\[ *\d+\.\ds\] [a-z0-9.-]+ {_STATE}(, [a-z0-9.-]+ {_STATE})*$")
STARTED = re.compile(r"^[a-z0-9.-]+: started on [0-9.]+ \(pid \d+; (etcd: .+; log .+|\.\.\.)\)$")


def assert_shaped_like_the_readme(printed: str) -> None:
    """Each progress and "started" line `shoal up` printed has the shape of the README's."""
    readme = README.read_text().splitlines()
    for pattern in (PROGRESS, STARTED):
        shown = [x for x in readme if pattern.match(x)]
        assert len(shown) >= 3, f"the README shows no {pattern.pattern} lines"
        kind = "[" if pattern is PROGRESS else ": started on"
        lines = [x for x in printed.splitlines() if kind in x]
        assert lines, printed
        for x in lines:
            assert pattern.match(x), f"printed {x!r}, not the README's shape"
    assert "opens a shell there; `shoal status`, `shoal down` when done." in README.read_text()


def test_the_generated_cloud_config_says_what_machine_it_is(sleepy: Path) -> None:
    head = (sleepy / "coreos-01.yml").read_text().split("\n\n", 1)[0]
    assert "{{" not in head and "fills in" not in head, head
    assert "# coreos-01: machine 1 of 1 of a local shoal cluster, on 127." in head, head
