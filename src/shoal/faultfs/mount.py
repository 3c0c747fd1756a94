"""Driving a fault file system from a test or the torture harness: mount, command, unmount.

    with FaultMount(backing, mountpoint) as fs:     # mounted when the block starts
        ... run a member with its data dir under `mountpoint` ...
        fs.cut()                                    # after killing the member
    # unmounted, and the daemon gone, even when the block raised

Needs root (or fuse group access), /dev/fuse and fusermount3 (Debian's `fuse3`), and mfusepy.
`available()` says why not, for a test to skip with.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

PR_SET_PDEATHSIG = 1


def _term_with_parent() -> None:
    """preexec_fn: SIGTERM when the parent dies. Not SIGKILL: on SIGTERM libfuse leaves its loop
    and the daemon unmounts, so a harness killed -9 leaves no dead mount behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


FUSERMOUNT = "fusermount3"


class FaultFSError(Exception):
    pass


def available() -> str | None:
    """None when a fault file system can be mounted here, else why not."""
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if shutil.which(FUSERMOUNT) is None:
        return f"no {FUSERMOUNT} (apt-get install fuse3)"
    try:
        import mfusepy  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: F401
    except (ImportError, OSError) as e:
        return f"mfusepy cannot load libfuse3: {e}"
    return None


def unmount(mountpoint: Path) -> None:
    """Lazy unmount (works while a killed member's files are still being closed)."""
    if os.path.ismount(mountpoint):
        subprocess.run(
            [FUSERMOUNT, "-u", "-z", str(mountpoint)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )


class FaultMount:
    def __init__(self, backing: Path, mountpoint: Path, seed: int = 0) -> None:
        self.backing = backing
        self.mountpoint = mountpoint
        self.socket = backing / "control.sock"
        self.seed = seed
        self.log = backing / "faultfs.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> None:
        self.backing.mkdir(parents=True, exist_ok=True)
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        unmount(self.mountpoint)  # a stale mount left by a harness killed -9
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "shoal.faultfs.daemon", str(self.backing),
                 str(self.mountpoint), str(self.socket), "--seed", str(self.seed)],
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                preexec_fn=_term_with_parent,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not (os.path.ismount(self.mountpoint) and self.socket.exists()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log.read_text(errors="replace")[-2000:]
                raise FaultFSError(f"fault file system did not mount at {self.mountpoint}: {tail}")
            time.sleep(0.05)

    def command(self, line: str, timeout: float = 30.0) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(self.socket))
            s.sendall(line.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        reply = data.decode().strip()
        if not reply.startswith("ok"):
            raise FaultFSError(f"faultfs {line!r}: {reply or 'no answer'}")
        return reply.removeprefix("ok").strip()

    def cut(self) -> str:
        """Power cut: drop everything not synced. Kill every writer first."""
        return self.command("cut")

    def stop(self) -> None:
        unmount(self.mountpoint)
        p = self.proc
        if p is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)
            if p.poll() is None:
                p.kill()
                p.wait(timeout=5)
        self.proc = None

    def __enter__(self) -> FaultMount:
        self.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
