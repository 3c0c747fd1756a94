"""The unit manager: a subset of systemd that runs one machine's units as process groups.

Jobs: `start` pulls in Requires=/Wants= (and `<unit>.wants/` links) and waits for the units it is
After=; a failed Requires= dependency fails the job with result `dependency`. `stop` first stops
the active units that Require= this one. Start and stop return once the job is done, like
`systemctl start` without --no-block; `enqueue_start` does not wait (coreos-cloudinit's way).

Units a machine cannot run fail or are skipped with a message saying why (a missing executable is
systemd's `203/EXEC`; ConditionPathExists= is checked; .network and other non-service types are
refused by name); none of them stops the others from starting.

Here: the unit cache (loading, daemon-reload, runtime units), jobs and their dependencies. A
unit's state is shoal.systemd.unit; running a service's processes is shoal.systemd.supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shoal.systemd.journal import Journal
from shoal.systemd.service import read_unit
from shoal.systemd.supervisor import Supervisor
from shoal.systemd.unit import (
    SUPPORTED_TYPES,
    ActiveState,
    JobResult,
    LoadState,
    Result,
    SubState,
    Unit,
    normalize_name,
    unsupported_reason,
)
from shoal.systemd.unitfile import (
    SpecifierContext,
    UnitFileError,
    UnitPaths,
    parse_unit_name,
    parse_unit_text,
)


class ManagerError(Exception):
    """A request the manager refuses (unknown unit, bad name); the message says why."""


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
        self._listeners: list[Listener] = []
        self._waiting: dict[str, set[str]] = {}  # unit -> units whose start jobs it awaits
        self.supervisor = Supervisor(
            root, journal, self.context, self.environment, self._changed, self.enqueue_start
        )

    # --- public API -----------------------------------------------------------------------------

    def add_listener(self, fn: Listener) -> None:
        """Called after any unit's state changes (fleet's agent publishes states from this)."""
        self._listeners.append(fn)

    def get(self, name: str) -> Unit:
        """The unit, loaded from disk on first use (like systemd's unit cache)."""
        name = normalize_name(name)
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
            if (
                u.load_state != LoadState.LOADED
                and u.active_state == ActiveState.INACTIVE
                and u.job is None
            ):
                del self.units[u.name]
        self._changed(None)

    def list_units(self, all_units: bool = False) -> list[Unit]:
        out = [
            u
            for u in self.units.values()
            if all_units or u.active_state != ActiveState.INACTIVE or u.job is not None
            or u.load_state == LoadState.ERROR
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
        name = normalize_name(name)
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
        name = normalize_name(name)
        u = self.units.get(name)
        if u is not None and (u.active_state != ActiveState.INACTIVE or u.job is not None):
            await self.stop(name)
        with contextlib.suppress(FileNotFoundError):
            (self.runtime_units / name).unlink()
        if u is not None:
            self._load(u)
            if u.load_state == LoadState.NOT_FOUND and u.active_state in (
                ActiveState.INACTIVE,
                ActiveState.FAILED,
            ):
                self.units.pop(name, None)
        self._changed(u)

    def reset_failed(self, name: str | None = None) -> None:
        for u in [self.get(name)] if name else list(self.units.values()):
            if u.active_state == ActiveState.FAILED:
                u.set_state(ActiveState.INACTIVE, SubState.DEAD)
                u.result = Result.SUCCESS
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
            if u.active_state != ActiveState.INACTIVE or u.pgids:
                with contextlib.suppress(Exception):
                    await self.stop(u.name)

    # --- loading --------------------------------------------------------------------------------

    def _load(self, u: Unit) -> None:
        try:
            n = parse_unit_name(u.name)
        except ValueError as e:
            u.load_state, u.load_error = LoadState.ERROR, str(e)
            return
        try:
            u.file = self.paths.load(u.name, self.context)
            u.config = read_unit(u.file) if n.type in SUPPORTED_TYPES else None
            u.load_state, u.load_error = LoadState.LOADED, ""
        except FileNotFoundError:
            u.file, u.config = None, None
            u.load_state, u.load_error = LoadState.NOT_FOUND, f"Unit {u.name} not found."
        except UnitFileError as e:
            u.load_state, u.load_error = LoadState.ERROR, str(e)
        except ValueError as e:
            masked = "masked" in str(e)
            u.load_state, u.load_error = (LoadState.MASKED if masked else LoadState.ERROR), str(e)

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
        if u.load_state != LoadState.LOADED:
            self._log(u, f"Failed to start {u.name}: {u.load_error or 'unit ' + u.load_state}")
            return "invalid"
        if u.restart_task is not None:  # a start during auto-restart starts at once
            u.restart_task.cancel()
            u.restart_task = None
        if u.active_state == ActiveState.ACTIVE:
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
                    u.result = Result.DEPENDENCY
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
                and other.active_state not in (ActiveState.INACTIVE, ActiveState.FAILED)
                and not (other.job is not None and other.job_type == "stop")  # cycles
                and u.name in self._deps(other, "requires")
            ):
                await self.stop(other.name)
        if u.sub_state == SubState.AUTO_RESTART or (
            u.active_state in (ActiveState.INACTIVE, ActiveState.FAILED)
            and not self.supervisor.any_alive(u)
        ):
            if u.sub_state == SubState.AUTO_RESTART:
                u.set_state(
                    ActiveState.INACTIVE if u.result == Result.SUCCESS else ActiveState.FAILED,
                    SubState.DEAD,
                )
                if u.active_state == ActiveState.FAILED:
                    u.sub_state = SubState.FAILED
            return "done"
        u.stopping = True
        try:
            if u.type == "target":
                self._log(u, f"Stopped target {u.describe()}.")
                u.set_state(ActiveState.INACTIVE, SubState.DEAD)
                return "done"
            self._log(u, f"Stopping {u.describe()}...")
            await self.supervisor.deactivate(u, run_exec_stop=True)
            if u.result == Result.SUCCESS:
                self._log(u, f"Stopped {u.describe()}.")
            return "done"
        finally:
            u.stopping = False

    def _condition(self, u: Unit) -> str:
        """The first ConditionPathExists= that does not hold, as systemd prints it, or ""."""
        if u.file is None:
            return ""
        for a in u.file.effective("Unit", "ConditionPathExists"):
            value = a.value
            negate = value.startswith("!")
            path = value.lstrip("!")
            if path and os.path.exists(self.supervisor.path(path)) == negate:
                return f"ConditionPathExists={value}"
        return ""

    async def _activate(self, u: Unit) -> JobResult:
        u.condition_failed = self._condition(u)
        if u.condition_failed:
            self._log(u, f"{u.describe()} was skipped because of a failed condition check "
                      f"({u.condition_failed} was not met).")  # fmt: skip
            u.set_state(ActiveState.INACTIVE, SubState.DEAD)
            self._changed(u)
            return "skipped"
        if u.type == "target":
            self.supervisor.mark_active(u, SubState.ACTIVE)
            self._log(u, f"Reached target {u.describe()}.")
            return "done"
        return await self.supervisor.start(u)

    # --- notifications --------------------------------------------------------------------------

    def _log(self, u: Unit, message: str) -> None:
        self.supervisor.log(u, message)

    def _changed(self, u: Unit | None) -> None:
        for fn in list(self._listeners):
            if u is not None:
                fn(u)


def _hostname(root: Path) -> str:
    try:
        return (root / "etc" / "hostname").read_text(encoding="utf-8").strip() or "localhost"
    except OSError:
        return "localhost"
