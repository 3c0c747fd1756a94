"""One unit's runtime state, as systemctl shows it, and the facts about units the manager uses.

States are systemd's (systemctl(1), systemd.service(5)), as enums whose values are systemd's
names, so they print, compare and travel in JSON as the text systemctl shows:
- load (`LoadState`): `loaded`, `not-found`, `error` (the file is refused; the message names the
  line), `masked`;
- active (`ActiveState`): `inactive`, `activating`, `active`, `deactivating`, `failed`;
- sub (`SubState`, services): `dead`, `start-pre`, `start`, `start-post`, `running`, `exited`,
  `stop`, `stop-sigterm`, `stop-sigkill`, `stop-post`, `final-sigterm`, `final-sigkill`,
  `auto-restart`, `failed`; targets: `dead` / `active`;
- result (`Result`, systemd's Result=): `success`, `exit-code`, `signal`, `timeout`,
  `dependency`, `start-limit-hit`, `resources`, `protocol`.

`Unit` is changed only by the manager (shoal.systemd.manager) and its supervisor, on the event loop.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from shoal.systemd.notify import NotifySocket
from shoal.systemd.process import Child
from shoal.systemd.service import ServiceConfig, UnitConfig
from shoal.systemd.unitfile import UnitFile, parse_unit_name

JobResult = Literal["done", "failed", "dependency", "timeout", "canceled", "skipped", "invalid"]

# systemd's exit statuses for failures before the command ran (systemd.exec(5) "Process exit codes")
EXIT_EXEC = 203
EXIT_CHDIR = 200
SUPPORTED_TYPES = ("service", "target")


class LoadState(StrEnum):
    LOADED = "loaded"
    NOT_FOUND = "not-found"
    ERROR = "error"
    MASKED = "masked"


class ActiveState(StrEnum):
    INACTIVE = "inactive"
    ACTIVATING = "activating"
    ACTIVE = "active"
    DEACTIVATING = "deactivating"
    FAILED = "failed"


class SubState(StrEnum):
    DEAD = "dead"
    START_PRE = "start-pre"
    START = "start"
    START_POST = "start-post"
    RUNNING = "running"
    EXITED = "exited"
    STOP = "stop"
    STOP_SIGTERM = "stop-sigterm"
    STOP_SIGKILL = "stop-sigkill"
    STOP_POST = "stop-post"
    FINAL_SIGTERM = "final-sigterm"
    FINAL_SIGKILL = "final-sigkill"
    AUTO_RESTART = "auto-restart"
    FAILED = "failed"
    ACTIVE = "active"  # a target's, while it is reached


class Result(StrEnum):
    """systemd's Result= of a unit's last run (systemd.exec(5) "$SERVICE_RESULT")."""

    SUCCESS = "success"
    EXIT_CODE = "exit-code"
    SIGNAL = "signal"
    TIMEOUT = "timeout"
    DEPENDENCY = "dependency"
    START_LIMIT_HIT = "start-limit-hit"
    RESOURCES = "resources"
    PROTOCOL = "protocol"


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


def exit_status(returncode: int) -> ExitStatus:
    if returncode < 0:
        return ExitStatus("killed", -returncode)
    return ExitStatus("exited", returncode)


@dataclass
class Unit:
    """One unit's runtime state. Changed only by the manager, on the event loop."""

    name: str
    load_state: LoadState = LoadState.NOT_FOUND
    load_error: str = ""
    file: UnitFile | None = None
    config: UnitConfig | None = None
    active_state: ActiveState = ActiveState.INACTIVE
    sub_state: SubState = SubState.DEAD
    result: Result = Result.SUCCESS
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

    def set_state(self, active: ActiveState, sub: SubState) -> None:
        if active != self.active_state:
            self.since = time.time()
        self.active_state, self.sub_state = active, sub

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.describe(),
            "load_state": self.load_state.value,
            "load_error": self.load_error,
            "active_state": self.active_state.value,
            "sub_state": self.sub_state.value,
            "result": self.result.value,
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


def normalize_name(name: str) -> str:
    """systemctl adds `.service` to a name without a type."""
    if "." not in name.rsplit("@", 1)[-1] and not name.endswith("@"):
        return name + ".service"
    return name
