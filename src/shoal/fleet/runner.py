"""How the agent runs units: the `UnitRunner` interface, and a plain process runner.

fleet drove systemd over D-Bus. When `shoal node`'s unit manager runs on the machine, the agent
will drive that instead (a second implementation of this interface); when fleetd runs alone, the
`ProcessRunner` here starts [Service] ExecStart as a child process and reports systemd-like
states (load/active/sub) so fleetctl's columns mean what they meant.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from shoal.fleet.unit import UnitFileError, UnitOption, name_info, parse_unit_file
from shoal.proc.spawn import with_death_signal


@dataclass(frozen=True)
class UnitStatus:
    load_state: str  # loaded | not-found | bad-setting
    active_state: str  # active | inactive | failed | activating | deactivating
    sub_state: str  # running | dead | failed | exited | auto-restart
    load_error: str = ""
    """Why the unit could not be loaded (load_state `error`), in the unit manager's words."""


class UnitRunner(Protocol):
    """What the agent needs from a machine's unit manager. Units are keyed by name."""

    async def load(self, name: str, text: str) -> None: ...
    async def unload(self, name: str) -> None: ...
    async def start(self, name: str) -> None: ...
    async def stop(self, name: str) -> None: ...
    def status(self, name: str) -> UnitStatus | None: ...
    def loaded(self) -> list[str]: ...
    def set_listener(self, fn: Callable[[], None]) -> None: ...
    async def journal(self, name: str, lines: int) -> list[str]: ...
    async def close(self) -> None: ...


STOP_TIMEOUT = 5.0  # seconds between SIGTERM and SIGKILL, shorter than systemd's 90 s default

# When fleetd dies (the machine is "lost"), its units should die with it, as a host's services
# stop with the host. setpriv(1) sets the parent-death signal before exec'ing the unit; doing it
# in a Python preexec_fn instead made every spawn block fleetd's event loop for ~60 ms.
# (Without setpriv, units outlive a killed fleetd.)


def _specifiers(text: str, name: str) -> str:
    info = name_info(name)
    if info is None:
        return text
    out = []
    i = 0
    while i < len(text):
        if text[i] == "%" and i + 1 < len(text):
            c = text[i + 1]
            sub = {"n": info.full_name, "N": info.name, "p": info.prefix, "i": info.instance}
            sub["%"] = "%"
            if c in sub:
                out.append(sub[c])
                i += 2
                continue
        out.append(text[i])
        i += 1
    return "".join(out)


@dataclass
class _Unit:
    name: str
    options: tuple[UnitOption, ...]
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    oneshot: bool = False
    remain: bool = False
    restart: str = "no"
    restart_sec: float = 0.1
    proc: asyncio.subprocess.Process | None = None
    waiter: asyncio.Task[None] | None = None
    status: UnitStatus = UnitStatus("loaded", "inactive", "dead")
    wanted_running: bool = False
    bad: str = ""


def _service(name: str, options: tuple[UnitOption, ...]) -> _Unit:
    u = _Unit(name, options)
    for o in options:
        if o.section != "Service":
            continue
        value = _specifiers(o.value, name)
        if o.name == "ExecStart" and value and not u.argv:
            cmd = value.lstrip("-@+!:")
            try:
                u.argv = shlex.split(cmd.replace("\\\n", " "))
            except ValueError as e:
                u.bad = f"ExecStart: {e}"
        elif o.name == "Environment":
            with contextlib.suppress(ValueError):
                for pair in shlex.split(value):
                    k, _, v = pair.partition("=")
                    u.env[k] = v
        elif o.name == "WorkingDirectory":
            u.workdir = value.lstrip("-") or None
        elif o.name == "Type":
            u.oneshot = value == "oneshot"
        elif o.name == "RemainAfterExit":
            u.remain = value.lower() in ("yes", "true", "1", "on")
        elif o.name == "Restart":
            u.restart = value
        elif o.name == "RestartSec":
            with contextlib.suppress(ValueError):
                u.restart_sec = float(value.rstrip("s") or 0)
    if not u.argv and not u.bad:
        u.bad = "no ExecStart"
    if u.bad:
        u.status = UnitStatus("bad-setting", "inactive", "dead")
    return u


class ProcessRunner:
    """Units as child processes of fleetd; unit files and logs kept in `units_dir`."""

    def __init__(self, units_dir: str) -> None:
        self.dir = Path(units_dir)
        self.units: dict[str, _Unit] = {}
        self._listener: Callable[[], None] = lambda: None

    def set_listener(self, fn: Callable[[], None]) -> None:
        self._listener = fn

    def _set(self, u: _Unit, status: UnitStatus) -> None:
        if u.status != status:
            u.status = status
            self._listener()

    def log_path(self, name: str) -> Path:
        return self.dir / f"{name}.log"

    async def load(self, name: str, text: str) -> None:
        try:
            options = parse_unit_file(text)
        except UnitFileError:
            options = ()
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / name).write_text(text)
        if name in self.units:
            await self.unload(name)
        self.units[name] = _service(name, options)
        self._listener()

    async def unload(self, name: str) -> None:
        if name not in self.units:
            return
        await self.stop(name)
        del self.units[name]
        with contextlib.suppress(OSError):
            (self.dir / name).unlink()
        self._listener()

    async def start(self, name: str) -> None:
        u = self.units.get(name)
        if u is None or (u.proc is not None and u.proc.returncode is None):
            return
        u.wanted_running = True
        if u.bad:
            self._set(u, UnitStatus(u.status.load_state, "failed", "failed"))
            return
        await self._spawn(u)

    async def _spawn(self, u: _Unit) -> None:
        env = dict(os.environ)
        env.update(u.env)
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path(u.name), "ab") as log:
            try:
                u.proc = await asyncio.create_subprocess_exec(
                    *with_death_signal(u.argv),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                    env=env,
                    cwd=u.workdir,
                    start_new_session=True,
                )
            except OSError as e:
                log.write(f"shoal: failed to start {u.argv[0]}: {e}\n".encode())
                u.proc = None
                self._set(u, UnitStatus("loaded", "failed", "failed"))
                return
        self._set(u, UnitStatus("loaded", "activating" if u.oneshot else "active", "running"))
        u.waiter = asyncio.create_task(self._wait(u, u.proc))

    async def _wait(self, u: _Unit, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        if u.proc is not proc:
            return
        u.proc = None
        if not u.wanted_running:
            self._set(u, UnitStatus("loaded", "inactive", "dead"))
            return
        failed = code != 0
        if u.restart == "always" or (u.restart == "on-failure" and failed):
            self._set(u, UnitStatus("loaded", "activating", "auto-restart"))
            await asyncio.sleep(u.restart_sec)
            if u.wanted_running and u.proc is None and self.units.get(u.name) is u:
                await self._spawn(u)
            return
        if failed:
            self._set(u, UnitStatus("loaded", "failed", "failed"))
        elif u.remain:
            self._set(u, UnitStatus("loaded", "active", "exited"))
        else:
            self._set(u, UnitStatus("loaded", "inactive", "dead"))

    async def stop(self, name: str) -> None:
        u = self.units.get(name)
        if u is None:
            return
        u.wanted_running = False
        proc = u.proc
        if proc is not None and proc.returncode is None:
            self._set(u, UnitStatus("loaded", "deactivating", "stop-sigterm"))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        u.proc = None
        if u.waiter is not None:
            u.waiter.cancel()
            u.waiter = None
        load = "bad-setting" if u.bad else "loaded"
        self._set(u, UnitStatus(load, "inactive", "dead"))

    def status(self, name: str) -> UnitStatus | None:
        u = self.units.get(name)
        return None if u is None else u.status

    def loaded(self) -> list[str]:
        return sorted(self.units)

    async def journal(self, name: str, lines: int) -> list[str]:
        """The unit's last output lines (its stdout and stderr, kept in <units_dir>/<unit>.log)."""
        try:
            text = self.log_path(name).read_text(errors="replace")
        except OSError:
            return []
        out = text.splitlines()
        return out[-lines:] if lines > 0 else out

    async def close(self) -> None:
        for name in list(self.units):
            await self.unload(name)
