"""The unit manager: a subset of systemd that runs one machine's units as process groups.

States are systemd's (systemctl(1), systemd.service(5)):
- load: `loaded`, `not-found`, `error` (the file is refused; the message names the line),
  `masked`;
- active: `inactive`, `activating`, `active`, `deactivating`, `failed`;
- sub (services): `dead`, `start-pre`, `start`, `start-post`, `running`, `exited`, `stop`,
  `stop-sigterm`, `stop-sigkill`, `stop-post`, `final-sigterm`, `final-sigkill`, `auto-restart`,
  `failed`; targets: `dead` / `active`.

What runs (systemd.service(5)): ExecStartPre, then ExecStart by Type (simple: active once spawned;
oneshot: every command to completion, active/exited with RemainAfterExit; forking: the parent's
exit, then PIDFile or the process group; notify: `READY=1` on NOTIFY_SOCKET), then ExecStartPost,
all within TimeoutStartSec. Stopping runs ExecStop, SIGTERMs the unit's process groups, SIGKILLs
them after TimeoutStopSec, then runs ExecStopPost. A main process exiting on its own goes through
the same stop steps, then Restart= decides (no / on-failure / always, after RestartSec), within
the start rate limit (StartLimitBurst starts per StartLimitInterval). Each command is its own
process group (the unit's processes die together) and its output goes to the journal.

Jobs: `start` pulls in Requires=/Wants= (and `<unit>.wants/` links) and waits for the units it is
After=; a failed Requires= dependency fails the job with result `dependency`. `stop` first stops
the active units that Require= this one. Start and stop return once the job is done, like
`systemctl start` without --no-block; `enqueue_start` does not wait (coreos-cloudinit's way).

Units a machine cannot run fail or are skipped with a message saying why (a missing executable is
systemd's `203/EXEC`; ConditionPathExists= is checked; .network and other non-service types are
refused by name); none of them stops the others from starting.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import signal
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shoal.systemd.envfile import parse_env_file
from shoal.systemd.execline import ExecCommand
from shoal.systemd.journal import MANAGER_PID, Journal
from shoal.systemd.notify import NotifySocket
from shoal.systemd.service import ServiceConfig, UnitConfig, read_unit
from shoal.systemd.unitfile import (
    SpecifierContext,
    UnitFile,
    UnitFileError,
    UnitPaths,
    parse_unit_name,
    parse_unit_text,
)

JobResult = Literal["done", "failed", "dependency", "timeout", "canceled", "skipped", "invalid"]

# systemd's exit statuses for failures before the command ran (systemd.exec(5) "Process exit codes")
EXIT_EXEC = 203
EXIT_CHDIR = 200
SUPPORTED_TYPES = ("service", "target")
FINAL_KILL_WAIT = 5.0  # final-sigterm -> final-sigkill for leftover processes
POLL = 0.1  # how often a forking service's main pid is checked


class ManagerError(Exception):
    """A request the manager refuses (unknown unit, bad name); the message says why."""


@dataclass
class ExitStatus:
    code: Literal["exited", "killed", "dumped"]
    status: int

    def describe(self) -> str:
        if self.code == "exited":
            return f"code=exited, status={self.status}/{_status_name(self.status)}"
        try:
            name = signal.Signals(self.status).name.removeprefix("SIG")
        except ValueError:
            name = str(self.status)
        return f"code={self.code}, status={self.status}/{name}"

    @property
    def clean(self) -> bool:
        # systemd counts SIGTERM/SIGINT/SIGHUP/SIGPIPE deaths of the main process as clean.
        if self.code == "exited":
            return self.status == 0
        return self.status in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE)


def _status_name(status: int) -> str:
    return {0: "SUCCESS", 1: "FAILURE", 2: "INVALIDARGUMENT", 3: "NOTIMPLEMENTED",
            4: "NOPERMISSION", 5: "NOTINSTALLED", 6: "NOTCONFIGURED", 7: "NOTRUNNING",
            EXIT_CHDIR: "CHDIR", EXIT_EXEC: "EXEC"}.get(status, str(status))  # fmt: skip


def _exit_status(returncode: int) -> ExitStatus:
    if returncode < 0:
        return ExitStatus("killed", -returncode)
    return ExitStatus("exited", returncode)


@dataclass
class Unit:
    """One unit's runtime state. Changed only by the manager, on the event loop."""

    name: str
    load_state: str = "not-found"
    load_error: str = ""
    file: UnitFile | None = None
    config: UnitConfig | None = None
    active_state: str = "inactive"
    sub_state: str = "dead"
    result: str = "success"  # systemd's Result=: success, exit-code, signal, timeout, ...
    since: float = field(default_factory=time.time)
    main_pid: int = 0
    main_exit: ExitStatus | None = None
    status_text: str = ""
    condition_failed: str = ""
    pgids: set[int] = field(default_factory=set)
    job: asyncio.Task[JobResult] | None = None
    job_type: str = ""
    stopping: bool = False
    start_times: deque[float] = field(default_factory=deque)
    restart_task: asyncio.Task[None] | None = None
    watcher: asyncio.Task[None] | None = None
    main_proc: Child | None = None
    ready: asyncio.Event | None = None
    notify: NotifySocket | None = None
    restarts: int = 0
    activated_seq: int = 0  # order in which units became active, for shutdown

    @property
    def type(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    @property
    def service(self) -> ServiceConfig | None:
        return self.config.service if self.config else None

    def describe(self) -> str:
        if self.config and self.config.unit.description:
            return self.config.unit.description
        return self.name

    def set_state(self, active: str, sub: str) -> None:
        if active != self.active_state:
            self.since = time.time()
        self.active_state, self.sub_state = active, sub

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.describe(),
            "load_state": self.load_state,
            "load_error": self.load_error,
            "active_state": self.active_state,
            "sub_state": self.sub_state,
            "result": self.result,
            "since": self.since,
            "main_pid": self.main_pid,
            "main_exit": self.main_exit.describe() if self.main_exit else "",
            "status_text": self.status_text,
            "condition_failed": self.condition_failed,
            "fragment": self.file.sources[0] if self.file and self.file.sources else "",
            "dropins": list(self.file.sources[1:]) if self.file else [],
            "job": self.job_type if self.job and not self.job.done() else "",
            "restarts": self.restarts,
            "pgids": sorted(self.pgids),
        }


Listener = Callable[[Unit], None]


class Manager:
    """The units of one machine rooted at `root`. Call everything from the event loop."""

    def __init__(
        self,
        root: Path,
        journal: Journal,
        *,
        paths: UnitPaths | None = None,
        context: SpecifierContext | None = None,
        environment: Mapping[str, str] | None = None,
        runtime_units: Path | None = None,
    ) -> None:
        self.root = root
        self.journal = journal
        # Units submitted as text (fleet's agent) live here, searched last like /run/fleet/units.
        self.runtime_units = runtime_units or root / "run" / "shoal" / "units"
        self.paths = paths or UnitPaths(root, extra=(self.runtime_units,))
        self.context = context or SpecifierContext(hostname=_hostname(root))
        self.environment = dict(environment or {})
        self.units: dict[str, Unit] = {}
        self._seq = 0
        self._listeners: list[Listener] = []
        self._notify_dir = root / "run" / "systemd" / "notify"
        self._pumps: set[asyncio.Task[None]] = set()
        self._waiting: dict[str, set[str]] = {}  # unit -> units whose start jobs it awaits

    # --- public API -----------------------------------------------------------------------------

    def add_listener(self, fn: Listener) -> None:
        """Called after any unit's state changes (fleet's agent publishes states from this)."""
        self._listeners.append(fn)

    def get(self, name: str) -> Unit:
        """The unit, loaded from disk on first use (like systemd's unit cache)."""
        name = _normalize(name)
        u = self.units.get(name)
        if u is None:
            u = Unit(name)
            self._load(u)
            self.units[name] = u
        return u

    def daemon_reload(self) -> None:
        """Read every known unit's files again; running processes are not touched."""
        for u in list(self.units.values()):
            self._load(u)
            if u.load_state != "loaded" and u.active_state == "inactive" and u.job is None:
                del self.units[u.name]
        self._changed(None)

    def list_units(self, all_units: bool = False) -> list[Unit]:
        out = [
            u
            for u in self.units.values()
            if all_units or u.active_state != "inactive" or u.job is not None
            or u.load_state == "error"
        ]  # fmt: skip
        return sorted(out, key=lambda u: u.name)

    async def start(self, name: str) -> JobResult:
        return await self.enqueue_start(name)

    def enqueue_start(self, name: str) -> asyncio.Task[JobResult]:
        """Queue a start job and return it (merged with a start job already queued)."""
        u = self.get(name)
        if u.job is not None and not u.job.done():
            if u.job_type == "start":
                return u.job
            prev = u.job
            return self._new_job(u, "start", self._after(prev, self._start_job(u)))
        return self._new_job(u, "start", self._start_job(u))

    async def stop(self, name: str) -> JobResult:
        u = self.get(name)
        if u.job is not None and not u.job.done():
            if u.job_type == "stop":
                return await u.job
            # A stop replaces a pending start (systemd cancels it); the start cleans up first.
            prev = u.job
            prev.cancel()
            return await self._new_job(u, "stop", self._after(prev, self._stop_job(u)))
        return await self._new_job(u, "stop", self._stop_job(u))

    async def restart(self, name: str) -> JobResult:
        result = await self.stop(name)
        if result not in ("done", "skipped"):
            return result
        return await self.start(name)

    async def load_text(self, name: str, text: str) -> Unit:
        """Install a unit submitted as text (fleet's agent) as a runtime unit and load it.
        Raises ManagerError for a bad name or a file systemd would refuse (nothing installed)."""
        name = _normalize(name)
        try:
            n = parse_unit_name(name)
            read_unit(parse_unit_text(text, name, name))
        except (ValueError, UnitFileError) as e:
            raise ManagerError(str(e)) from e
        if n.is_template and not n.is_instance:
            pass  # a template file is fine to install; it cannot be started itself
        self.runtime_units.mkdir(parents=True, exist_ok=True)
        path = self.runtime_units / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        u = self.units.get(name)
        if u is None:
            return self.get(name)
        self._load(u)
        self._changed(u)
        return u

    async def unload(self, name: str) -> None:
        """Stop the unit if it runs and remove a unit installed with `load_text`."""
        name = _normalize(name)
        u = self.units.get(name)
        if u is not None and (u.active_state != "inactive" or u.job is not None):
            await self.stop(name)
        with contextlib.suppress(FileNotFoundError):
            (self.runtime_units / name).unlink()
        if u is not None:
            self._load(u)
            if u.load_state == "not-found" and u.active_state in ("inactive", "failed"):
                self.units.pop(name, None)
        self._changed(u)

    def reset_failed(self, name: str | None = None) -> None:
        for u in [self.get(name)] if name else list(self.units.values()):
            if u.active_state == "failed":
                u.set_state("inactive", "dead")
                u.result = "success"
            u.start_times.clear()
            self._changed(u)

    async def shutdown(self) -> None:
        """Stop every unit, the last activated first (a machine's shutdown)."""
        for u in self.units.values():
            if u.restart_task is not None:
                u.restart_task.cancel()
        pending = [u for u in self.units.values() if u.job is not None and not u.job.done()]
        for u in pending:
            if u.job_type == "start" and u.job is not None:
                u.job.cancel()
        order = sorted(self.units.values(), key=lambda u: u.activated_seq, reverse=True)
        for u in order:
            if u.active_state != "inactive" or u.pgids:
                with contextlib.suppress(Exception):
                    await self.stop(u.name)

    # --- loading --------------------------------------------------------------------------------

    def _load(self, u: Unit) -> None:
        try:
            n = parse_unit_name(u.name)
        except ValueError as e:
            u.load_state, u.load_error = "error", str(e)
            return
        try:
            u.file = self.paths.load(u.name, self.context)
            u.config = read_unit(u.file) if n.type in SUPPORTED_TYPES else None
            u.load_state, u.load_error = "loaded", ""
        except FileNotFoundError:
            u.file, u.config = None, None
            u.load_state, u.load_error = "not-found", f"Unit {u.name} not found."
        except UnitFileError as e:
            u.load_state, u.load_error = "error", str(e)
        except ValueError as e:
            masked = "masked" in str(e)
            u.load_state, u.load_error = ("masked" if masked else "error"), str(e)

    def _deps(self, u: Unit, kind: str) -> list[str]:
        """Requires/Wants from the file plus `<unit>.wants/` and `.requires/` link directories."""
        out: list[str] = []
        if u.config is not None:
            out += list(u.config.unit.requires if kind == "requires" else u.config.unit.wants)
        for d in self.paths._search():
            folder = d / f"{u.name}.{kind}"
            if folder.is_dir():
                out += sorted(p.name for p in folder.iterdir())
        return list(dict.fromkeys(out))

    # --- jobs -----------------------------------------------------------------------------------

    def _new_job(self, u: Unit, kind: str, coro: Any) -> asyncio.Task[JobResult]:
        task: asyncio.Task[JobResult] = asyncio.ensure_future(coro)
        u.job, u.job_type = task, kind

        def done(t: asyncio.Task[JobResult]) -> None:
            if u.job is t:
                u.job, u.job_type = None, ""
            self._changed(u)

        task.add_done_callback(done)
        self._changed(u)
        return task

    async def _after(self, prev: asyncio.Task[JobResult], coro: Any) -> JobResult:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.shield(prev)
        result: JobResult = await coro
        return result

    async def _start_job(self, u: Unit) -> JobResult:
        if u.type not in SUPPORTED_TYPES:
            self._log(u, f"Cannot start {u.name}: {unsupported_reason(u.name)}.")
            return "invalid"
        if u.load_state != "loaded":
            self._log(u, f"Failed to start {u.name}: {u.load_error or 'unit ' + u.load_state}")
            return "invalid"
        if u.restart_task is not None:  # a start during auto-restart starts at once
            u.restart_task.cancel()
            u.restart_task = None
        if u.active_state == "active":
            return "done"
        required = self._deps(u, "requires")
        wanted = self._deps(u, "wants")
        jobs = {d: self.enqueue_start(d) for d in required + wanted if d != u.name}
        after = set(u.config.unit.after) if u.config else set()
        for dep in required:
            if dep in jobs:
                res = await self._wait_job(u, dep, jobs[dep])
                if res not in ("done", "skipped", "cycle"):
                    self._log(u, f"Dependency failed for {u.describe()}.")
                    u.result = "dependency"
                    return "dependency"
        for dep in after:
            other = self.units.get(dep)
            if other is not None and other.job is not None and other.job_type == "start":
                with contextlib.suppress(Exception):
                    await self._wait_job(u, dep, other.job)
        return await self._activate(u)

    async def _wait_job(self, u: Unit, dep: str, job: asyncio.Task[JobResult]) -> str:
        """Wait for another unit's start job, unless it is (transitively) waiting for this one:
        systemd breaks such ordering cycles with a message, and so does this."""
        seen, todo = set(), [dep]
        while todo:
            n = todo.pop()
            if n == u.name:
                self._log(u, f"{u.name}: Found ordering cycle on {dep}/start; breaking it.")
                return "cycle"
            if n not in seen:
                seen.add(n)
                todo.extend(self._waiting.get(n, ()))
        self._waiting.setdefault(u.name, set()).add(dep)
        try:
            return await asyncio.shield(job)
        finally:
            self._waiting.get(u.name, set()).discard(dep)

    async def _stop_job(self, u: Unit) -> JobResult:
        if u.restart_task is not None:
            u.restart_task.cancel()
            u.restart_task = None
        # Units that Require= this one go first (systemd propagates the stop to them).
        for other in list(self.units.values()):
            if (
                other is not u
                and other.active_state not in ("inactive", "failed")
                and not (other.job is not None and other.job_type == "stop")  # cycles
                and u.name in self._deps(other, "requires")
            ):
                await self.stop(other.name)
        if u.sub_state == "auto-restart" or (
            u.active_state in ("inactive", "failed") and not self._any_alive(u)
        ):
            if u.sub_state == "auto-restart":
                u.set_state("inactive" if u.result == "success" else "failed", "dead")
                if u.active_state == "failed":
                    u.sub_state = "failed"
            return "done"
        u.stopping = True
        try:
            if u.type == "target":
                self._log(u, f"Stopped target {u.describe()}.")
                u.set_state("inactive", "dead")
                return "done"
            self._log(u, f"Stopping {u.describe()}...")
            await self._deactivate(u, run_exec_stop=True)
            if u.result == "success":
                self._log(u, f"Stopped {u.describe()}.")
            return "done"
        finally:
            u.stopping = False

    # --- activation -----------------------------------------------------------------------------

    def _rate_limited(self, u: Unit, s: ServiceConfig) -> bool:
        now = time.monotonic()
        if s.start_limit_interval > 0 and s.start_limit_burst > 0:
            while u.start_times and now - u.start_times[0] > s.start_limit_interval:
                u.start_times.popleft()
            if len(u.start_times) >= s.start_limit_burst:
                return True
        u.start_times.append(now)
        return False

    def _condition(self, u: Unit) -> str:
        """The first ConditionPathExists= that does not hold, as systemd prints it, or ""."""
        if u.file is None:
            return ""
        for a in u.file.effective("Unit", "ConditionPathExists"):
            value = a.value
            negate = value.startswith("!")
            path = value.lstrip("!")
            if path and os.path.exists(self._path(path)) == negate:
                return f"ConditionPathExists={value}"
        return ""

    async def _activate(self, u: Unit) -> JobResult:
        u.condition_failed = self._condition(u)
        if u.condition_failed:
            self._log(u, f"{u.describe()} was skipped because of a failed condition check "
                      f"({u.condition_failed} was not met).")  # fmt: skip
            u.set_state("inactive", "dead")
            self._changed(u)
            return "skipped"
        if u.type == "target":
            self._mark_active(u, "active")
            self._log(u, f"Reached target {u.describe()}.")
            return "done"
        s = u.service
        assert s is not None
        if self._rate_limited(u, s):
            self._log(u, f"{u.name}: Start request repeated too quickly.")
            self._log(u, f"Failed to start {u.describe()}.")
            u.result = "start-limit-hit"
            u.set_state("failed", "failed")
            self._changed(u)
            return "failed"
        u.result, u.main_exit, u.main_pid, u.status_text = "success", None, 0, ""
        self._log(u, f"Starting {u.describe()}...")
        timeout = (
            None
            if math.isinf(s.timeout_start_sec) or s.timeout_start_sec <= 0
            else (s.timeout_start_sec)
        )
        try:
            env = self._environment(u, s)
        except OSError as e:
            self._log(u, f"{u.name}: Failed to load environment files: {e}")
            return await self._failed_start(u, "resources")
        try:
            ok = await asyncio.wait_for(self._run_start(u, s, env), timeout)
        except TimeoutError:
            self._log(u, f"{u.name}: Start operation timed out. Terminating.")
            return await self._failed_start(u, "timeout")
        except asyncio.CancelledError:
            await asyncio.shield(self._deactivate(u, run_exec_stop=False))
            raise
        if not ok:
            return await self._failed_start(u, u.result if u.result != "success" else "exit-code")
        if u.main_proc is None and not s.remain_after_exit and s.type == "oneshot":
            # A oneshot without RemainAfterExit is done when its commands are: back to inactive.
            self._mark_active(u, "dead", active="inactive")
            self._log(u, f"Finished {u.describe()}.")
            return "done"
        running = u.main_proc is not None or u.main_pid or s.type == "forking"
        self._mark_active(u, "running" if running else "exited")
        self._log(u, f"Started {u.describe()}.")
        if s.type in ("simple", "notify") and u.main_proc is None and u.main_exit is not None:
            # It exited cleanly while starting: now handle that exit as a running unit's.
            u.watcher = asyncio.ensure_future(self._main_exited(u))
        return "done"

    def _mark_active(self, u: Unit, sub: str, active: str = "active") -> None:
        self._seq += 1
        u.activated_seq = self._seq
        u.set_state(active, sub)
        self._changed(u)

    async def _failed_start(self, u: Unit, result: str) -> JobResult:
        u.result = result
        await asyncio.shield(self._deactivate(u, run_exec_stop=False))
        self._log(u, f"Failed to start {u.describe()}.")
        self._maybe_restart(u)
        return "timeout" if result == "timeout" else "failed"

    async def _run_start(self, u: Unit, s: ServiceConfig, env: dict[str, str]) -> bool:
        u.set_state("activating", "start-pre")
        self._changed(u)
        if not await self._run_all(u, s.exec_start_pre, env, "ExecStartPre"):
            return False
        u.sub_state = "start"
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
                    u.main_exit = _exit_status(rc)
                    self._log(u, f"Control process exited, {u.main_exit.describe()}")
                    u.result = "exit-code"
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
                        u.result = (
                            "protocol" if u.main_exit and u.main_exit.clean else ("exit-code")
                        )
                        return False
        u.sub_state = "start-post"
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
            self._log(u, f"{u.name}: Main process exited, {u.main_exit.describe()}")
            u.result = "exit-code" if u.main_exit.code == "exited" else "signal"
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
            return int(Path(self._path(s.pid_file)).read_text().strip())
        except (OSError, ValueError):
            return None

    async def _watch_forking(self, u: Unit) -> None:
        def alive() -> bool:
            if u.main_pid:
                return _pid_alive(u.main_pid)
            return any(_pgid_alive(g) for g in u.pgids)

        while alive():
            await asyncio.sleep(POLL)
        if u.stopping:
            return
        u.main_exit = ExitStatus("exited", 0)
        await self._main_exited(u)

    async def _watch_main(self, u: Unit, proc: Child) -> None:
        rc = await proc.wait()
        u.main_exit = _exit_status(rc)
        u.main_proc = None
        if u.stopping or u.active_state not in ("active", "activating"):
            return
        if u.active_state == "activating":
            return  # the start job sees the watcher done and fails or finishes the start
        await self._main_exited(u)

    async def _main_exited(self, u: Unit) -> None:
        s = u.service
        assert s is not None and u.main_exit is not None
        u.watcher = None
        self._log(u, f"{u.name}: Main process exited, {u.main_exit.describe()}")
        if not u.main_exit.clean:
            u.result = "exit-code" if u.main_exit.code == "exited" else "signal"
            if s.exec_start and s.exec_start[0].ignore_failure:
                u.result = "success"
        if u.result == "success" and s.remain_after_exit:
            u.set_state("active", "exited")
            self._changed(u)
            return
        await self._deactivate(u, run_exec_stop=True)
        if u.result != "success":
            self._log(u, f"{u.name}: Failed with result '{u.result}'.")
        self._maybe_restart(u)

    def _maybe_restart(self, u: Unit) -> None:
        s = u.service
        if s is None or u.stopping:
            return
        if s.restart == "always" or (s.restart == "on-failure" and u.result != "success"):
            if u.result == "start-limit-hit":
                return
            u.set_state("activating", "auto-restart")
            self._changed(u)
            u.restart_task = asyncio.ensure_future(self._restart_later(u, s.restart_sec))

    async def _restart_later(self, u: Unit, delay: float) -> None:
        await asyncio.sleep(delay)
        u.restart_task = None
        u.restarts += 1
        self._log(u, f"{u.name}: Scheduled restart job, restart counter is at {u.restarts}.")
        u.set_state("inactive", "dead")
        self.enqueue_start(u.name)

    # --- deactivation ---------------------------------------------------------------------------

    async def _deactivate(self, u: Unit, run_exec_stop: bool) -> None:
        s = u.service
        if s is None:
            u.set_state("inactive", "dead")
            return
        u.set_state("deactivating", "stop")
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
        if self._any_alive(u):
            u.sub_state = "stop-sigterm"
            self._changed(u)
            if not await self._kill_and_wait(u, signal.SIGTERM, _finite(s.timeout_stop_sec)):
                self._log(u, f"{u.name}: State 'stop-sigterm' timed out. Killing.")
                u.sub_state = "stop-sigkill"
                if u.result == "success":
                    u.result = "timeout"
                await self._kill_and_wait(u, signal.SIGKILL, FINAL_KILL_WAIT)
        if u.watcher is not None and u.watcher is not asyncio.current_task():
            u.watcher.cancel()
        u.watcher = None
        u.sub_state = "stop-post"
        self._changed(u)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self._run_all(u, s.exec_stop_post, env, "ExecStopPost", check=False),
                _finite(s.timeout_stop_sec),
            )
        if self._any_alive(u):
            u.sub_state = "final-sigterm"
            if not await self._kill_and_wait(u, signal.SIGTERM, FINAL_KILL_WAIT):
                u.sub_state = "final-sigkill"
                await self._kill_and_wait(u, signal.SIGKILL, FINAL_KILL_WAIT)
        if u.notify is not None:
            u.notify.close()
            u.notify = None
        u.main_proc, u.main_pid, u.ready = None, 0, None
        if u.result == "success":
            u.set_state("inactive", "dead")
        else:
            u.set_state("failed", "failed")
        self._changed(u)

    def _any_alive(self, u: Unit) -> bool:
        u.pgids = {g for g in u.pgids if _pgid_alive(g)}
        return bool(u.pgids) or bool(u.main_pid and _pid_alive(u.main_pid))

    async def _kill_and_wait(self, u: Unit, sig: signal.Signals, timeout: float | None) -> bool:
        for g in list(u.pgids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(g, sig)
        if u.main_pid and u.main_pid not in u.pgids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(u.main_pid, sig)
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._any_alive(u):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        if u.main_proc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(u.main_proc.wait(), 1.0)
        return True

    # --- processes ------------------------------------------------------------------------------

    def _path(self, p: str) -> str:
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
                text = Path(self._path(ref.path)).read_text(encoding="utf-8")
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
                    u.result = "exit-code"
                    return False
                continue
            rc = await proc.wait()
            st = _exit_status(rc)
            if rc != 0:
                self._log(u, f"{u.name}: {what} process exited, {st.describe()}"
                          + (" (ignored)" if cmd.ignore_failure else ""))  # fmt: skip
                if check and not cmd.ignore_failure:
                    u.main_exit = st
                    u.result = "exit-code" if st.code == "exited" else "signal"
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
            cwd = self._path(wd)
            if not os.path.isdir(cwd):
                if not s.working_directory_optional:
                    self._log(u, f"{u.name}: Changing to the requested working directory failed: "
                              f"No such file or directory ({wd})")  # fmt: skip
                    u.main_exit = ExitStatus("exited", EXIT_CHDIR)
                    return None
                cwd = None
        try:
            if exe is None:
                raise FileNotFoundError(path)
            proc = await _spawn_child(
                argv,
                exe,
                cwd=cwd,
                env=env,
            )
        except OSError as e:
            reason = e.strerror or "No such file or directory"
            self._log(u, f"{u.name}: Failed to execute {path}: {reason}")
            self._log(u, f"{u.name}: Failed at step EXEC spawning {path}: {reason}")
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

    # --- notifications --------------------------------------------------------------------------

    def _log(self, u: Unit, message: str) -> None:
        self.journal.write(u.name, MANAGER_PID, message)

    def _changed(self, u: Unit | None) -> None:
        for fn in list(self._listeners):
            if u is not None:
                fn(u)


class _ChildProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """Tells when the process exits. asyncio's Process.wait() (3.11) also waits until every
    pipe is closed, which never happens while a daemon the unit forked keeps its stdout."""

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited: asyncio.Future[int] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.process_transport = transport

    def process_exited(self) -> None:
        super().process_exited()
        rc = self.process_transport.get_returncode()
        if not self.exited.done():
            self.exited.set_result(rc if rc is not None else -1)


@dataclass
class Child:
    """A spawned command: its pid, its output stream, and its exit."""

    pid: int
    stdout: asyncio.StreamReader
    _exited: asyncio.Future[int]
    _process: asyncio.subprocess.Process

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)


async def _spawn_child(argv: list[str], exe: str, cwd: str | None, env: dict[str, str]) -> Child:
    loop = asyncio.get_running_loop()
    protocol: _ChildProtocol | None = None

    def factory() -> _ChildProtocol:
        nonlocal protocol
        protocol = _ChildProtocol(limit=2**16, loop=loop)
        return protocol

    transport, _ = await loop.subprocess_exec(
        factory,
        argv[0],
        *argv[1:],
        executable=exe,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=cwd,
        env=env,
        start_new_session=True,  # its own process group: a stop kills all it started
        preexec_fn=_die_with_parent,
    )
    assert protocol is not None and protocol.stdout is not None
    process = asyncio.subprocess.Process(transport, protocol, loop)
    return Child(transport.get_pid(), protocol.stdout, protocol.exited, process)


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """A machine killed with SIGKILL takes its units with it, as a powered-off VM would."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _pgid_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Only zombies (ours, not yet reaped by asyncio's watcher) left? Then the group is gone.
    return not _group_all_zombies(pgid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _group_all_zombies(pgid: int) -> bool:
    try:
        entries = os.listdir("/proc")
    except OSError:
        return False
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return False
    return os.path.isdir("/proc")


def _finite(seconds: float) -> float | None:
    return None if math.isinf(seconds) or seconds <= 0 else seconds


def unsupported_reason(name: str) -> str:
    """Why a unit of a type the manager does not run cannot start here."""
    try:
        network = parse_unit_name(name).is_network
    except ValueError:
        network = False
    if network:
        return (
            "network units configure systemd-networkd, and shoal's machines share this "
            "computer's network, so it is not applied"
        )
    return f"shoal's unit manager does not run .{name.rsplit('.', 1)[-1]} units"


def _normalize(name: str) -> str:
    """systemctl adds `.service` to a name without a type."""
    if "." not in name.rsplit("@", 1)[-1] and not name.endswith("@"):
        return name + ".service"
    return name


def _hostname(root: Path) -> str:
    try:
        return (root / "etc" / "hostname").read_text(encoding="utf-8").strip() or "localhost"
    except OSError:
        return "localhost"
