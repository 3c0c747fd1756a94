"""Processes for fleet's tests: a real etcd on loopback and fleetd instances, always cleaned up."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

ETCD = "/usr/bin/etcd"
HAVE_ETCD = os.path.exists(ETCD)
SKIP_REASON = "real etcd binary /usr/bin/etcd is not installed"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(cond: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def kill(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)


class Etcd:
    """One real etcd 3.4 member with the v2 API, on random loopback ports in a temp dir."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.client_port = free_port()
        self.peer_port = free_port()
        self.url = f"http://127.0.0.1:{self.client_port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        peer = f"http://127.0.0.1:{self.peer_port}"
        log = open(self.workdir / "etcd.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                ETCD,
                "--name=fleet-test",
                f"--data-dir={self.workdir / 'etcd-data'}",
                "--enable-v2",
                f"--listen-client-urls={self.url}",
                f"--advertise-client-urls={self.url}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=fleet-test={peer}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for(self.healthy, 30, "etcd to answer")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/v2/keys/?quorum=true", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            kill(self.proc)
            self.proc = None


@contextlib.contextmanager
def etcd_member() -> Iterator[Etcd]:
    workdir = Path(tempfile.mkdtemp(prefix="shoal-fleet-etcd-"))
    e = Etcd(workdir)
    try:
        e.start()
        yield e
    finally:
        e.stop()
        shutil.rmtree(workdir, ignore_errors=True)


PYTHON = sys.executable
