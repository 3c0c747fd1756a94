"""The supervisor: a service's processes from start to stop, as systemd.service(5) runs them.

What runs (systemd.service(5)): ExecStartPre, then ExecStart by Type (simple: active once spawned;
oneshot: every command to completion, active/exited with RemainAfterExit; forking: the parent's
exit, then PIDFile or the process group; notify: `READY=1` on NOTIFY_SOCKET), then ExecStartPost,
all within TimeoutStartSec. Stopping runs ExecStop, SIGTERMs the unit's process groups, SIGKILLs
them after TimeoutStopSec, then runs ExecStopPost. A main process exiting on its own goes through
the same stop steps, then Restart= decides (no / on-failure / always, after RestartSec), within
the start rate limit (StartLimitBurst starts per StartLimitInterval). Each command is its own
process group (the unit's processes die together) and its output goes to the journal.

The manager (shoal.systemd.manager) decides what starts and stops, and when (jobs, dependencies,
ordering); the supervisor runs the one unit it is handed and reports each state change back.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from shoal.proc.status import pgid_alive, pid_alive
from shoal.systemd.envfile import parse_env_file
from shoal.systemd.execline import ExecCommand
from shoal.systemd.journal import MANAGER_PID, Journal
from shoal.systemd.notify import NotifySocket
from shoal.systemd.process import Child, spawn_child
from shoal.systemd.service import ServiceConfig
from shoal.systemd.unit import (
    EXIT_CHDIR,
    EXIT_EXEC,
    ActiveState,
    ExitStatus,
    JobResult,
    Result,
    SubState,
    Unit,
    exit_status,
)
from shoal.systemd.unitfile import SpecifierContext

FINAL_KILL_WAIT = 5.0  # final-sigterm -> final-sigkill for leftover processes
POLL = 0.1  # how often a forking service's main pid is checked


class Supervisor:
    """Runs the services of one machine rooted at `root`. Call everything from the event loop."""

    def __init__(
        self,
        root: Path,
        journal: Journal,
        context: SpecifierContext,
        environment: Mapping[str, str],
        changed: Callable[[Unit], None],
        enqueue_start: Callable[[str], object],
    ) -> None:
        self.root = root
        self.journal = journal
        self.context = context
        self.environment = environment
        self._changed = changed
        self._enqueue_start = enqueue_start  # how a restart queues its start job
        self._seq = 0
        self._notify_dir = root / "run" / "systemd" / "notify"
        self._pumps: set[asyncio.Task[None]] = set()

    def _rate_limited(self, u: Unit, s: ServiceConfig) -> bool:
        now = time.monotonic()
        if s.start_limit_interval > 0 and s.start_limit_burst > 0:
            while u.start_times and now - u.start_times[0] > s.start_limit_interval:
                u.start_times.popleft()
            if len(u.start_times) >= s.start_limit_burst:
                return True
        u.start_times.append(now)
        return False

    async def start(self, u: Unit) -> JobResult:
        """Run a loaded service's start steps (its conditions held); the job's result."""
        s = u.service
        assert s is not None
        if self._rate_limited(u, s):
            self.log(u, f"{u.name}: Start request repeated too quickly.")
            self.log(u, f"Failed to start {u.describe()}.")
            u.result = Result.START_LIMIT_HIT
            u.set_state(ActiveState.FAILED, SubState.FAILED)
            self._changed(u)
            return "failed"
        u.result, u.main_exit, u.main_pid, u.status_text = Result.SUCCESS, None, 0, ""
        self.log(u, f"Starting {u.describe()}...")
        timeout = (
            None
            if math.isinf(s.timeout_start_sec) or s.timeout_start_sec <= 0
            else (s.timeout_start_sec)
        )
        try:
            env = self._environment(u, s)
        except OSError as e:
            self.log(u, f"{u.name}: Failed to load environment files: {e}")
            return await self._failed_start(u, Result.RESOURCES)
        try:
            ok = await asyncio.wait_for(self._run_start(u, s, env), timeout)
        except TimeoutError:
            self.log(u, f"{u.name}: Start operation timed out. Terminating.")
            return await self._failed_start(u, Result.TIMEOUT)
        except asyncio.CancelledError:
            await asyncio.shield(self.deactivate(u, run_exec_stop=False))
            raise
        if not ok:
            return await self._failed_start(
                u, u.result if u.result != Result.SUCCESS else Result.EXIT_CODE
            )
        if u.main_proc is None and not s.remain_after_exit and s.type == "oneshot":
            # A oneshot without RemainAfterExit is done when its commands are: back to inactive.
            self.mark_active(u, SubState.DEAD, active=ActiveState.INACTIVE)
            self.log(u, f"Finished {u.describe()}.")
            return "done"
        running = u.main_proc is not None or u.main_pid or s.type == "forking"
        self.mark_active(u, SubState.RUNNING if running else SubState.EXITED)
        self.log(u, f"Started {u.describe()}.")
        if s.type in ("simple", "notify") and u.main_proc is None and u.main_exit is not None:
            # It exited cleanly while starting: now handle that exit as a running unit's.
            u.watcher = asyncio.ensure_future(self._main_exited(u))
        return "done"

    def mark_active(self, u: Unit, sub: SubState, active: ActiveState = ActiveState.ACTIVE) -> None:
        """Set the state of a unit that just started, noting the order (shutdown reverses it)."""
        self._seq += 1
        u.activated_seq = self._seq
        u.set_state(active, sub)
        self._changed(u)

    async def _failed_start(self, u: Unit, result: Result) -> JobResult:
        u.result = result
        await asyncio.shield(self.deactivate(u, run_exec_stop=False))
        self.log(u, f"Failed to start {u.describe()}.")
        self._maybe_restart(u)
        return "timeout" if result == Result.TIMEOUT else "failed"

    async def _run_start(self, u: Unit, s: ServiceConfig, env: dict[str, str]) -> bool:
        u.set_state(ActiveState.ACTIVATING, SubState.START_PRE)
        self._changed(u)
        if not await self._run_all(u, s.exec_start_pre, env, "ExecStartPre"):
            return False
        u.sub_state = SubState.START
        self._changed(u)
        if s.type == "oneshot":
            if not await self._run_all(u, s.exec_start, env, "ExecStart"):
                return False
        elif s.exec_start:
            notify_env = dict(env)
            if s.type == "notify":
                u.ready = asyncio.Event()
                u.notify = NotifySocket(self._notify_dir / f"{abs(hash(u.name)):x}.sock")
                await u.notify.open(lambda m: self._on_notify(u, m))
                notify_env["NOTIFY_SOCKET"] = u.notify.env_value
            proc = await self._spawn(u, s.exec_start[0], notify_env, s)
            if proc is None:
                return False
            if s.type == "forking":
                rc = await proc.wait()
                if rc != 0:
                    u.main_exit = exit_status(rc)
                    self.log(u, f"Control process exited, {u.main_exit.describe()}")
                    u.result = Result.EXIT_CODE
                    return False
                u.main_pid = self._read_pidfile(s) or 0
                u.watcher = asyncio.ensure_future(self._watch_forking(u))
            else:
                u.main_proc, u.main_pid = proc, proc.pid
                u.watcher = asyncio.ensure_future(self._watch_main(u, proc))
                if s.type == "notify":
                    assert u.ready is not None
                    waiter = asyncio.ensure_future(u.ready.wait())
                    await asyncio.wait({waiter, u.watcher}, return_when=asyncio.FIRST_COMPLETED)
                    if not u.ready.is_set():
                        waiter.cancel()
                        clean = u.main_exit is not None and u.main_exit.clean
                        u.result = Result.PROTOCOL if clean else Result.EXIT_CODE
                        return False
        u.sub_state = SubState.START_POST
        self._changed(u)
        post = asyncio.ensure_future(self._run_all(u, s.exec_start_post, env, "ExecStartPost"))
        watched = {post} | ({u.watcher} if u.watcher is not None and s.type != "forking" else set())
        await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        if not post.done():
            # The main process died during start-post (systemd fails the start then).
            post.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await post
        elif not post.result():
            return False
        if u.main_proc is None and u.main_exit is not None and not u.main_exit.clean:
            self.log(u, f"{u.name}: Main process exited, {u.main_exit.describe()}")
            u.result = Result.EXIT_CODE if u.main_exit.code == "exited" else Result.SIGNAL
            return False
        return True

    def _on_notify(self, u: Unit, msg: dict[str, str]) -> None:
        if "STATUS" in msg:
            u.status_text = msg["STATUS"]
        if "MAINPID" in msg and msg["MAINPID"].isdigit():
            u.main_pid = int(msg["MAINPID"])
        if msg.get("READY") == "1" and u.ready is not None:
            u.ready.set()
        self._changed(u)

    def _read_pidfile(self, s: ServiceConfig) -> int | None:
        if not s.pid_file:
            return None
        try:
            return int(Path(self.path(s.pid_file)).read_text().strip())
        except (OSError, ValueError):
            return None

    async def _watch_forking(self, u: Unit) -> None:
        def alive() -> bool:
            if u.main_pid:
                return pid_alive(u.main_pid)
            return any(pgid_alive(g) for g in u.pgids)

        while alive():
            await asyncio.sleep(POLL)
        if u.stopping:
            return
        u.main_exit = ExitStatus("exited", 0)
        await self._main_exited(u)

    async def _watch_main(self, u: Unit, proc: Child) -> None:
        rc = await proc.wait()
        u.main_exit = exit_status(rc)
        u.main_proc = None
        if u.stopping or u.active_state not in (ActiveState.ACTIVE, ActiveState.ACTIVATING):
            return
        if u.active_state == ActiveState.ACTIVATING:
            return  # the start job sees the watcher done and fails or finishes the start
        await self._main_exited(u)

    async def _main_exited(self, u: Unit) -> None:
        s = u.service
        assert s is not None and u.main_exit is not None
        u.watcher = None
        self.log(u, f"{u.name}: Main process exited, {u.main_exit.describe()}")
        if not u.main_exit.clean:
            u.result = Result.EXIT_CODE if u.main_exit.code == "exited" else Result.SIGNAL
            if s.exec_start and s.exec_start[0].ignore_failure:
                u.result = Result.SUCCESS
        if u.result == Result.SUCCESS and s.remain_after_exit:
            u.set_state(ActiveState.ACTIVE, SubState.EXITED)
            self._changed(u)
            return
        await self.deactivate(u, run_exec_stop=True)
        if u.result != Result.SUCCESS:
            self.log(u, f"{u.name}: Failed with result '{u.result}'.")
        self._maybe_restart(u)

    def _maybe_restart(self, u: Unit) -> None:
        s = u.service
        if s is None or u.stopping:
            return
        if s.restart == "always" or (s.restart == "on-failure" and u.result != Result.SUCCESS):
            if u.result == Result.START_LIMIT_HIT:
                return
            u.set_state(ActiveState.ACTIVATING, SubState.AUTO_RESTART)
            self._changed(u)
            u.restart_task = asyncio.ensure_future(self._restart_later(u, s.restart_sec))

    async def _restart_later(self, u: Unit, delay: float) -> None:
        await asyncio.sleep(delay)
        u.restart_task = None
        u.restarts += 1
        self.log(u, f"{u.name}: Scheduled restart job, restart counter is at {u.restarts}.")
        u.set_state(ActiveState.INACTIVE, SubState.DEAD)
        self._enqueue_start(u.name)

    async def deactivate(self, u: Unit, run_exec_stop: bool) -> None:
        s = u.service
        if s is None:
            u.set_state(ActiveState.INACTIVE, SubState.DEAD)
            return
        u.set_state(ActiveState.DEACTIVATING, SubState.STOP)
        self._changed(u)
        try:
            env = self._environment(u, s)
        except OSError:
            env = self._base_env(u)
        if u.main_pid:
            env["MAINPID"] = str(u.main_pid)
        if run_exec_stop and s.exec_stop:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._run_all(u, s.exec_stop, env, "ExecStop", check=False),
                    _finite(s.timeout_stop_sec),
                )
        if self.any_alive(u):
            u.sub_state = SubState.STOP_SIGTERM
            self._changed(u)
            if not await self._kill_and_wait(u, signal.SIGTERM, _finite(s.timeout_stop_sec)):
                self.log(u, f"{u.name}: State 'stop-sigterm' timed out. Killing.")
                u.sub_state = SubState.STOP_SIGKILL
                if u.result == Result.SUCCESS:
                    u.result = Result.TIMEOUT
                await self._kill_and_wait(u, signal.SIGKILL, FINAL_KILL_WAIT)
        if u.watcher is not None and u.watcher is not asyncio.current_task():
            u.watcher.cancel()
        u.watcher = None
        u.sub_state = SubState.STOP_POST
        self._changed(u)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self._run_all(u, s.exec_stop_post, env, "ExecStopPost", check=False),
                _finite(s.timeout_stop_sec),
            )
        if self.any_alive(u):
            u.sub_state = SubState.FINAL_SIGTERM
            if not await self._kill_and_wait(u, signal.SIGTERM, FINAL_KILL_WAIT):
                u.sub_state = SubState.FINAL_SIGKILL
                await self._kill_and_wait(u, signal.SIGKILL, FINAL_KILL_WAIT)
        if u.notify is not None:
            u.notify.close()
            u.notify = None
        u.main_proc, u.main_pid, u.ready = None, 0, None
        if u.result == Result.SUCCESS:
            u.set_state(ActiveState.INACTIVE, SubState.DEAD)
        else:
            u.set_state(ActiveState.FAILED, SubState.FAILED)
        self._changed(u)

    def any_alive(self, u: Unit) -> bool:
        u.pgids = {g for g in u.pgids if pgid_alive(g)}
        return bool(u.pgids) or bool(u.main_pid and pid_alive(u.main_pid))

    async def _kill_and_wait(self, u: Unit, sig: signal.Signals, timeout: float | None) -> bool:
        for g in list(u.pgids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(g, sig)
        if u.main_pid and u.main_pid not in u.pgids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(u.main_pid, sig)
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.any_alive(u):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        if u.main_proc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(u.main_proc.wait(), 1.0)
        return True

    def path(self, p: str) -> str:
        """A path a unit names, on this machine: under the machine's root when it exists there
        (its /etc/environment, /var/lib/...), else the computer's (/usr/bin/ln)."""
        if p.startswith("/"):
            inside = self.root / p.lstrip("/")
            if inside.exists():
                return str(inside)
        return p

    def _base_env(self, u: Unit) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
        }
        env.update(self.environment)
        return env

    def _environment(self, u: Unit, s: ServiceConfig) -> dict[str, str]:
        env = self._base_env(u)
        env.update(dict(s.environment))
        # EnvironmentFile= wins over Environment= (systemd.exec(5)).
        for ref in s.environment_files:
            try:
                text = Path(self.path(ref.path)).read_text(encoding="utf-8")
            except OSError:
                if ref.optional:
                    continue
                raise
            values, _ = parse_env_file(text)
            env.update(values)
        return env

    async def _run_all(
        self, u: Unit, cmds: tuple[ExecCommand, ...], env: dict[str, str], what: str,
        check: bool = True,
    ) -> bool:  # fmt: skip
        for cmd in cmds:
            proc = await self._spawn(u, cmd, env, u.service)
            if proc is None:
                if check and not cmd.ignore_failure:
                    u.result = Result.EXIT_CODE
                    return False
                continue
            rc = await proc.wait()
            st = exit_status(rc)
            if rc != 0:
                self.log(u, f"{u.name}: {what} process exited, {st.describe()}"
                          + (" (ignored)" if cmd.ignore_failure else ""))  # fmt: skip
                if check and not cmd.ignore_failure:
                    u.main_exit = st
                    u.result = Result.EXIT_CODE if st.code == "exited" else Result.SIGNAL
                    return False
        return True

    async def _spawn(
        self, u: Unit, cmd: ExecCommand, env: dict[str, str], s: ServiceConfig | None
    ) -> Child | None:
        argv = cmd.expanded(env)
        path = cmd.path
        exe = path if "/" in path else shutil.which(path, path=env.get("PATH"))
        cwd: str | None = None
        if s is not None and s.working_directory:
            wd = s.working_directory
            wd = self.context.home if wd == "~" else wd
            cwd = self.path(wd)
            if not os.path.isdir(cwd):
                if not s.working_directory_optional:
                    self.log(u, f"{u.name}: Changing to the requested working directory failed: "
                              f"No such file or directory ({wd})")  # fmt: skip
                    u.main_exit = ExitStatus("exited", EXIT_CHDIR)
                    return None
                cwd = None
        try:
            if exe is None:
                raise FileNotFoundError(path)
            proc = await spawn_child(
                argv,
                exe,
                cwd=cwd,
                env=env,
            )
        except OSError as e:
            reason = e.strerror or "No such file or directory"
            self.log(u, f"{u.name}: Failed to execute {path}: {reason}")
            self.log(u, f"{u.name}: Failed at step EXEC spawning {path}: {reason}")
            u.main_exit = ExitStatus("exited", EXIT_EXEC)
            return None
        u.pgids.add(proc.pid)
        assert proc.stdout is not None
        pump = asyncio.ensure_future(self._pump(u, proc.pid, proc.stdout))
        self._pumps.add(pump)
        pump.add_done_callback(self._pumps.discard)
        return proc

    async def _pump(self, u: Unit, pid: int, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await stream.readline()
            except (ValueError, asyncio.LimitOverrunError):
                line = await stream.read(65536)
            if not line:
                return
            self.journal.write(u.name, pid, line.decode("utf-8", "replace").rstrip("\n"))

    def log(self, u: Unit, message: str) -> None:
        self.journal.write(u.name, MANAGER_PID, message)


def _finite(seconds: float) -> float | None:
    return None if math.isinf(seconds) or seconds <= 0 else seconds
