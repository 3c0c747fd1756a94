"""`shoal up` and friends refuse clearly: an address in use, an etcd that dies at boot, a
machine that does not exist, a directory with no cluster."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)


def shoal(d: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SHOAL_ROOT", "SHOAL_HOME")}
    return subprocess.run(
        [sys.executable, "-m", "shoal.cli", args[0], "--dir", str(d), *args[1:]],
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


def _owned(d: Path) -> list[int]:
    want = f"SHOAL_ROOT={d}/".encode()
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{e}/environ", "rb") as f:
                if any(v.startswith(want) for v in f.read().split(b"\0")):
                    out.append(int(e))
    return out


@pytest.fixture
def cdir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "c"
    try:
        yield d
    finally:
        if (d / "cluster.json").exists():
            shoal(d, "down")
        for pid in _owned(d):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def test_address_in_use_is_refused_before_anything_starts(cdir: Path) -> None:
    holder = socket.socket()
    holder.bind(("127.0.93.10", 2379))
    holder.listen()
    try:
        r = shoal(cdir, "up", "--subnet", "127.0.93.0", "--size", "1")
    finally:
        holder.close()
    assert r.returncode == 1
    assert "cannot use 127.0.93.10:2379" in r.stderr and "--subnet" in r.stderr, r.stderr
    assert _owned(cdir) == []


def test_etcd_that_dies_at_boot_shows_its_journal(cdir: Path) -> None:
    bad = "/bin/sh -c 'echo etcdmain: member has no data dir >&2; exit 1'"
    r = shoal(cdir, "up", "--subnet", "127.0.94.0", "--size", "1", "--etcd-command", bad)
    assert r.returncode == 1
    assert "etcd2.service failed on coreos-01" in r.stderr, r.stderr
    assert "etcdmain: member has no data dir" in r.stderr
    assert shoal(cdir, "down").returncode == 0
    assert _owned(cdir) == []


def test_unknown_machine_and_missing_cluster(cdir: Path) -> None:
    r = shoal(cdir, "status")
    assert r.returncode == 1 and "no cluster in" in r.stderr and "shoal up" in r.stderr
    r = shoal(cdir, "up", "--subnet", "127.0.95.0", "--size", "1", "--no-wait",
              "--etcd-command", "/bin/sleep 600")  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = shoal(cdir, "stop", "coreos-09")
    assert r.returncode == 1 and "no machine 'coreos-09'" in r.stderr
    r = shoal(cdir, "ssh", "1", "--", "echo $SHOAL_MACHINE $ETCDCTL_ENDPOINTS; hostname")
    assert r.stdout.split() == ["coreos-01", "http://127.0.95.10:2379", "coreos-01"]
    r = shoal(cdir, "kill", "1")
    assert r.returncode == 0 and "powered off" in r.stdout
    assert _owned(cdir) == []
