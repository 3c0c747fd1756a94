"""The one launcher for tests that start processes: `Procs` starts them on loopback with their
output in a log file per name, stops them (signal, then SIGKILL when they do not go), and at
`close` kills and reaps every one still running, whatever happened in the test.

Each process runs in its own session by default, so `close` kills what it started too (a unit, a
member) with one killpg. The group is only signalled while its leader is not yet reaped: until
then its pid cannot belong to anyone else (which is why `wait_exit` does not reap).

Every open `Procs` is listed in `OPEN`, so tests/conftest.py can attach the tail of each log to
the report of a failed test (a failure then shows what the processes said).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Literal, TypeVar

from support.wait import wait_until

T = TypeVar("T")

OPEN: list[Procs] = []
LOG_TAIL = 60  # lines of each log shown when a test fails
STARTUP = 60.0  # seconds for a process to become ready: generous on a shared 2-core machine


def stop_process(
    proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace: float = 10
) -> int:
    """Send sig, wait up to `grace` seconds, then SIGKILL; always reaps. Returns the exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(timeout=30)
    return proc.returncode


class Procs:
    """Processes by name, their logs under `dir` (a temp dir removed at close when not given)."""

    def __init__(
        self, dir: Path | None = None, *, prefix: str = "shoal-test-", tmp_root: str | None = None
    ) -> None:
        self.owns_dir = dir is None
        self.dir = Path(tempfile.mkdtemp(prefix=prefix, dir=tmp_root)) if dir is None else dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.every: list[subprocess.Popen[bytes]] = []  # earlier runs of a name too
        self.groups: set[int] = set()
        OPEN.append(self)

    def __enter__(self) -> Procs:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def log_path(self, name: str) -> Path:
        return self.dir / f"{name}.log"

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        replace_env: bool = False,
        cwd: Path | str | None = None,
        stdout: Literal["log", "pipe"] = "log",
        stdin: int | IO[bytes] | None = subprocess.DEVNULL,
        new_session: bool = True,
    ) -> subprocess.Popen[bytes]:
        """Start argv as `name`. Its stdout and stderr go to `<dir>/<name>.log` (appended, so a
        restarted process keeps one log), or with stdout="pipe" its stdout is `proc.stdout` and
        only stderr goes to the log. `env` adds to the environment (replaces it with
        replace_env)."""
        full_env = dict(env or {}) if replace_env else {**os.environ, **(env or {})}
        full_env.setdefault("PYTHONUNBUFFERED", "1")
        with open(self.log_path(name), "ab") as log:
            proc = subprocess.Popen(
                list(argv),
                stdin=stdin,
                stdout=subprocess.PIPE if stdout == "pipe" else log,
                stderr=log,
                cwd=cwd if cwd is not None else self.dir,
                env=full_env,
                start_new_session=new_session,
            )
        self.procs[name] = proc
        self.every.append(proc)
        if new_session:
            self.groups.add(proc.pid)
        return proc

    def __getitem__(self, name: str) -> subprocess.Popen[bytes]:
        return self.procs[name]

    def running(self, name: str) -> bool:
        p = self.procs.get(name)
        return p is not None and p.poll() is None

    def log(self, name: str) -> str:
        try:
            return self.log_path(name).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, name: str, sig: int = signal.SIGTERM, grace: float = 10) -> int | None:
        """Stop `name` (sig, then SIGKILL after `grace` s) and reap it; None if never started."""
        p = self.procs.get(name)
        return None if p is None else stop_process(p, sig, grace)

    def wait_exit(self, name: str, timeout: float = STARTUP) -> int:
        """Its exit code once it ends by itself (subprocess.TimeoutExpired if it does not). It
        is left unreaped, so that `close` can still kill what it left in its process group."""
        p = self.procs[name]
        deadline = time.monotonic() + timeout
        while p.returncode is None:
            try:
                info = os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:  # reaped meanwhile (poll): Popen has the code
                return p.wait()
            if info is not None:
                return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(p.args, timeout)
            time.sleep(0.02)
        return p.returncode

    def wait_ready(
        self, name: str, probe: Callable[[], T], timeout: float = STARTUP, what: str = ""
    ) -> T:
        """Wait until probe() is truthy while `name` runs (connection errors count as "not
        yet"); fail at once if it exits, with its log either way."""
        what = what or f"{name} to be ready"

        def ready() -> T:
            code = self.procs[name].poll()
            if code is not None:
                raise AssertionError(f"{name} exited with status {code} before {what}")
            return probe()

        try:
            return wait_until(ready, timeout, what, ignore=(OSError, ValueError))
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.tails([name])}") from None

    def tails(self, names: Sequence[str] | None = None, lines: int = LOG_TAIL) -> str:
        """The last lines of the logs (all of them by default), for a failure's message."""
        out = []
        for name in self.procs if names is None else names:
            text = self.log(name).splitlines()
            out.append(f"--- {self.log_path(name)} (last {min(lines, len(text))} lines)")
            out.extend(text[-lines:])
        return "\n".join(out)

    def close(self) -> None:
        """Kill (with its process group) every process not yet reaped, reap all, close pipes.
        Called while an exception is on its way (a fixture whose setup failed), it prints the
        logs first: pytest shows them with the error."""
        if sys.exc_info()[0] is not None and self.procs:
            print(self.tails(), file=sys.stderr)
        for p in self.every:
            if p.returncode is None:
                if p.pid in self.groups:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(p.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
        for p in self.every:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=30)
            for stream in (p.stdout, p.stderr):
                if stream is not None:
                    stream.close()
        if self in OPEN:
            OPEN.remove(self)
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


@atexit.register
def _close_forgotten() -> None:
    # Belt and braces for an interrupted run: nothing a test started outlives pytest.
    for procs in list(OPEN):
        procs.close()
