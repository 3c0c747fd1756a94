"""Typed views of a unit's [Unit], [Service] and [Install] options: what the unit manager runs.

`read_unit(unit_file)` turns a parsed (and merged, specifier-resolved) `UnitFile` into a
`UnitConfig`. Defaults are systemd's (systemd.service(5), systemd.unit(5)): Type=simple when
ExecStart= is set (oneshot otherwise), Restart=no, RestartSec=100ms, TimeoutStartSec/StopSec=90s,
start limit 5 starts per 10s. systemd ignores a bad value with a warning and keeps the default;
shoal refuses the unit instead, naming the line, so a typo never silently changes behaviour.
Keys shoal does not interpret are kept in the UnitFile and listed in `warnings`. [X-Fleet] is
returned raw for fleet.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal, cast

from shoal.systemd.execline import ExecCommand, ExecSyntaxError, parse_exec, split_words
from shoal.systemd.timespan import TimespanError, parse_timespan
from shoal.systemd.unitfile import Assignment, Problem, UnitFile, UnitFileError

ServiceType = Literal["simple", "exec", "forking", "oneshot", "notify", "idle"]
RestartPolicy = Literal[
    "no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always"
]
SERVICE_TYPES: tuple[ServiceType, ...] = ("simple", "exec", "forking", "oneshot", "notify", "idle")
RESTART_POLICIES: tuple[RestartPolicy, ...] = (
    "no",
    "on-success",
    "on-failure",
    "on-abnormal",
    "on-watchdog",
    "on-abort",
    "always",
)

# systemd's defaults (systemd-system.conf(5): DefaultTimeoutStartSec, DefaultRestartSec,
# DefaultStartLimitIntervalSec, DefaultStartLimitBurst).
DEFAULT_TIMEOUT_SEC = 90.0
DEFAULT_RESTART_SEC = 0.1
DEFAULT_START_LIMIT_INTERVAL = 10.0
DEFAULT_START_LIMIT_BURST = 5

_TRUE = ("1", "yes", "y", "true", "t", "on")
_FALSE = ("0", "no", "n", "false", "f", "off")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

EXEC_KEYS = (
    "ExecStartPre",
    "ExecStart",
    "ExecStartPost",
    "ExecReload",
    "ExecStop",
    "ExecStopPost",
)
_LIST_KEYS_UNIT = (
    "Requires",
    "Wants",
    "After",
    "Before",
    "Conflicts",
    "BindsTo",
    "PartOf",
    "Requisite",
)
_KNOWN: dict[str, frozenset[str]] = {
    "Unit": frozenset(
        {
            "Description",
            "Documentation",
            *_LIST_KEYS_UNIT,
            "StartLimitInterval",
            "StartLimitIntervalSec",
            "StartLimitBurst",
            "ConditionPathExists",  # checked by the unit manager (shoal.systemd.manager)
        }
    ),
    "Service": frozenset(
        {
            "Type",
            *EXEC_KEYS,
            "Restart",
            "RestartSec",
            "StartLimitInterval",
            "StartLimitBurst",
            "Environment",
            "EnvironmentFile",
            "WorkingDirectory",
            "RemainAfterExit",
            "TimeoutSec",
            "TimeoutStartSec",
            "TimeoutStopSec",
            "PIDFile",
            "NotifyAccess",
            "User",
            "Group",
        }
    ),
    "Install": frozenset({"WantedBy", "RequiredBy", "Alias", "Also"}),
}


@dataclass(frozen=True, slots=True)
class EnvironmentFileRef:
    path: str
    optional: bool  # `-` prefix: a missing file is not an error


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    type: ServiceType = "simple"
    exec_start_pre: tuple[ExecCommand, ...] = ()
    exec_start: tuple[ExecCommand, ...] = ()
    exec_start_post: tuple[ExecCommand, ...] = ()
    exec_reload: tuple[ExecCommand, ...] = ()
    exec_stop: tuple[ExecCommand, ...] = ()
    exec_stop_post: tuple[ExecCommand, ...] = ()
    restart: RestartPolicy = "no"
    restart_sec: float = DEFAULT_RESTART_SEC
    start_limit_interval: float = DEFAULT_START_LIMIT_INTERVAL
    start_limit_burst: int = DEFAULT_START_LIMIT_BURST
    environment: tuple[tuple[str, str], ...] = ()  # in order; later wins for a repeated name
    environment_files: tuple[EnvironmentFileRef, ...] = ()
    working_directory: str | None = None
    working_directory_optional: bool = False  # `-` prefix
    remain_after_exit: bool = False
    timeout_start_sec: float = DEFAULT_TIMEOUT_SEC  # math.inf when disabled (0 or infinity)
    timeout_stop_sec: float = DEFAULT_TIMEOUT_SEC
    pid_file: str | None = None
    notify_access: str | None = None
    user: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class UnitSection:
    description: str = ""
    documentation: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    wants: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    binds_to: tuple[str, ...] = ()
    part_of: tuple[str, ...] = ()
    requisite: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InstallSection:
    wanted_by: tuple[str, ...] = ()
    required_by: tuple[str, ...] = ()
    alias: tuple[str, ...] = ()
    also: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UnitConfig:
    name: str
    unit: UnitSection = UnitSection()
    service: ServiceConfig | None = None  # None for units without a [Service] (or not .service)
    install: InstallSection = InstallSection()
    x_fleet: tuple[tuple[str, str], ...] = ()  # raw [X-Fleet] options, in order
    warnings: tuple[Problem, ...] = field(default=())


def parse_bool(value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r} (yes/no, true/false, on/off, 1/0)")


def parse_environment(value: str) -> tuple[list[tuple[str, str]], list[str]]:
    """`Environment=` words: ("A", "1") pairs, and the words systemd would ignore."""
    pairs: list[tuple[str, str]] = []
    bad: list[str] = []
    for word, _ in split_words(value):
        name, sep, val = word.partition("=")
        if not sep or not _ENV_NAME.match(name):
            bad.append(word)
        else:
            pairs.append((name, val))
    return pairs, bad


class _Reader:
    """Collects every problem in one pass, so a unit's errors are reported together."""

    def __init__(self, u: UnitFile) -> None:
        self.u = u
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = list(u.warnings)

    def _where(self, a: Assignment) -> str:
        return f"{a.source}: " if a.source and a.source != self.u.name else ""

    def error(self, a: Assignment, message: str) -> None:
        self.errors.append(Problem(a.line, f"{self._where(a)}{a.key}={a.value}: {message}"))

    def single(self, section: str, key: str) -> Assignment | None:
        a = self.u.last(section, key)
        return a if a is not None and a.value != "" else None

    def words(self, section: str, key: str) -> tuple[str, ...]:
        out: list[str] = []
        for a in self.u.effective(section, key):
            out.extend(a.value.split())
        return tuple(out)

    def timespan(self, section: str, key: str, default: float, zero_is_infinite: bool) -> float:
        a = self.single(section, key)
        if a is None:
            return default
        try:
            v = parse_timespan(a.value)
        except TimespanError as e:
            self.error(a, str(e))
            return default
        return math.inf if zero_is_infinite and v == 0 else v

    def boolean(self, section: str, key: str, default: bool) -> bool:
        a = self.single(section, key)
        if a is None:
            return default
        try:
            return parse_bool(a.value)
        except ValueError as e:
            self.error(a, str(e))
            return default

    def choice(self, section: str, key: str, choices: tuple[str, ...]) -> str | None:
        a = self.single(section, key)
        if a is None:
            return None
        if a.value not in choices:
            self.error(a, f"must be one of {', '.join(choices)}")
            return None
        return a.value

    def execs(self, key: str) -> tuple[ExecCommand, ...]:
        out: list[ExecCommand] = []
        for a in self.u.effective("Service", key):
            try:
                out.extend(parse_exec(a.value, a.line))
            except ExecSyntaxError as e:
                self.error(a, str(e))
        return tuple(out)

    def unknown_keys(self) -> None:
        for a in self.u.assignments:
            known = _KNOWN.get(a.section)
            if known is not None and a.key not in known:
                self.warnings.append(
                    Problem(
                        a.line,
                        f"{self._where(a)}[{a.section}] {a.key}= is not used by shoal (kept)",
                    )
                )


def read_unit(u: UnitFile) -> UnitConfig:
    """The typed unit. Raises UnitFileError naming every line systemd-as-shoal would refuse."""
    r = _Reader(u)
    r.unknown_keys()
    desc = r.u.last("Unit", "Description")
    unit = UnitSection(
        description=desc.value if desc is not None else "",
        documentation=r.words("Unit", "Documentation"),
        requires=r.words("Unit", "Requires"),
        wants=r.words("Unit", "Wants"),
        after=r.words("Unit", "After"),
        before=r.words("Unit", "Before"),
        conflicts=r.words("Unit", "Conflicts"),
        binds_to=r.words("Unit", "BindsTo"),
        part_of=r.words("Unit", "PartOf"),
        requisite=r.words("Unit", "Requisite"),
    )
    install = InstallSection(
        wanted_by=r.words("Install", "WantedBy"),
        required_by=r.words("Install", "RequiredBy"),
        alias=r.words("Install", "Alias"),
        also=r.words("Install", "Also"),
    )
    service = _read_service(r) if _is_service(u) else None
    if r.errors:
        raise UnitFileError(u.name, r.errors)
    return UnitConfig(
        name=u.name,
        unit=unit,
        service=service,
        install=install,
        x_fleet=tuple((a.key, a.value) for a in u.assignments if a.section == "X-Fleet"),
        warnings=tuple(r.warnings),
    )


def _is_service(u: UnitFile) -> bool:
    return u.name.endswith(".service") or (not u.name and "Service" in u.sections())


def _read_service(r: _Reader) -> ServiceConfig:
    execs = {key: r.execs(key) for key in EXEC_KEYS}
    type_a = r.single("Service", "Type")
    if type_a is not None and type_a.value == "dbus":
        r.error(type_a, "Type=dbus is not supported by shoal (no D-Bus)")
        stype = None
    else:
        stype = r.choice("Service", "Type", SERVICE_TYPES)
    if stype is None:
        stype = "simple" if execs["ExecStart"] else "oneshot"
    restart = r.choice("Service", "Restart", RESTART_POLICIES) or "no"

    # StartLimitInterval moved to [Unit] as StartLimitIntervalSec in systemd 230; both are read.
    interval = r.timespan("Service", "StartLimitInterval", DEFAULT_START_LIMIT_INTERVAL, False)
    for key in ("StartLimitInterval", "StartLimitIntervalSec"):
        if r.single("Unit", key) is not None:
            interval = r.timespan("Unit", key, interval, False)
    burst = DEFAULT_START_LIMIT_BURST
    for section in ("Service", "Unit"):
        a = r.single(section, "StartLimitBurst")
        if a is not None:
            if a.value.isdigit():
                burst = int(a.value)
            else:
                r.error(a, "not a number")

    timeout = r.timespan("Service", "TimeoutSec", DEFAULT_TIMEOUT_SEC, True)
    timeout_start = r.timespan("Service", "TimeoutStartSec", timeout, True)
    timeout_stop = r.timespan("Service", "TimeoutStopSec", timeout, True)

    env: list[tuple[str, str]] = []
    for a in r.u.effective("Service", "Environment"):
        try:
            pairs, bad = parse_environment(a.value)
        except ExecSyntaxError as e:
            r.error(a, str(e))
            continue
        env.extend(pairs)
        for word in bad:
            # systemd: "Invalid environment assignment, ignoring".
            r.warnings.append(Problem(a.line, f"invalid environment assignment {word!r} ignored"))
    env_files = []
    for a in r.u.effective("Service", "EnvironmentFile"):
        optional = a.value.startswith("-")
        path = a.value[1:] if optional else a.value
        if not path.startswith("/"):
            r.error(a, "EnvironmentFile= needs an absolute path")
            continue
        env_files.append(EnvironmentFileRef(path, optional))
    wd = r.single("Service", "WorkingDirectory")
    wd_path: str | None = None
    wd_optional = False
    if wd is not None:
        wd_optional = wd.value.startswith("-")
        wd_path = wd.value[1:] if wd_optional else wd.value
        if not (wd_path.startswith("/") or wd_path == "~"):
            r.error(wd, "WorkingDirectory= needs an absolute path or ~")

    svc = ServiceConfig(
        type=cast(ServiceType, stype),
        exec_start_pre=execs["ExecStartPre"],
        exec_start=execs["ExecStart"],
        exec_start_post=execs["ExecStartPost"],
        exec_reload=execs["ExecReload"],
        exec_stop=execs["ExecStop"],
        exec_stop_post=execs["ExecStopPost"],
        restart=cast(RestartPolicy, restart),
        restart_sec=r.timespan("Service", "RestartSec", DEFAULT_RESTART_SEC, False),
        start_limit_interval=interval,
        start_limit_burst=burst,
        environment=tuple(env),
        environment_files=tuple(env_files),
        working_directory=wd_path,
        working_directory_optional=wd_optional,
        remain_after_exit=r.boolean("Service", "RemainAfterExit", False),
        timeout_start_sec=timeout_start,
        timeout_stop_sec=timeout_stop,
        pid_file=_value(r, "PIDFile"),
        notify_access=_value(r, "NotifyAccess"),
        user=_value(r, "User"),
        group=_value(r, "Group"),
    )
    _check_service(r, svc)
    return svc


def _value(r: _Reader, key: str) -> str | None:
    a = r.single("Service", key)
    return a.value if a is not None else None


def _check_service(r: _Reader, s: ServiceConfig) -> None:
    """systemd's refusals at load time (service_verify in src/core/service.c)."""
    line = r.u.assignments[0].line if r.u.assignments else 1
    if not s.exec_start and not s.exec_stop and s.type != "oneshot":
        r.errors.append(Problem(line, "service has no ExecStart= and no ExecStop=; refusing"))
    if s.type != "oneshot" and len(s.exec_start) > 1:
        second = s.exec_start[1].line
        r.errors.append(
            Problem(
                second,
                "service has more than one ExecStart=, which is only allowed for Type=oneshot; "
                "refusing",
            )
        )
    if s.type == "oneshot" and not s.exec_start and not s.remain_after_exit:
        r.errors.append(
            Problem(
                line,
                "service has no ExecStart=, which is only allowed for Type=oneshot with "
                "RemainAfterExit=yes; refusing",
            )
        )
    if s.type == "oneshot" and s.restart in ("always", "on-success"):
        r.errors.append(
            Problem(line, f"Restart={s.restart} is not allowed for Type=oneshot; refusing")
        )
