"""`shoal fleetctl`: fleet's command line client, talking to a fleetd's HTTP API.

    shoal fleetctl [--endpoint=unix:///var/run/fleet.sock|http://HOST:PORT] COMMAND [UNIT...]

Global flags may also come from FLEETCTL_<FLAG> variables (FLEETCTL_ENDPOINT, ...). Output columns,
tab alignment and messages are fleetctl 1.0's (fleetctl/*.go); `why` is shoal's own.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from shoal.fleet import facts
from shoal.fleet.client import FleetAPIError, FleetClient
from shoal.fleet.scheduler import Cluster, Job, Machine, explain
from shoal.fleet.tabwriter import format_table
from shoal.fleet.unit import (
    Requirements,
    UnitFileError,
    UnitOption,
    description,
    mangle_name,
    name_info,
    options_from_json,
    parse_unit_file,
    serialize,
    unit_hash,
    validate_name,
    validate_options,
)

# ---- flags -------------------------------------------------------------------------------------

BOOL, STR, INT, FLOAT = "bool", "str", "int", "float"

GLOBAL_FLAGS: dict[str, tuple[str, object]] = {
    "endpoint": (STR, facts.DEFAULT_ENDPOINT),
    "driver": (STR, "API"),
    "request-timeout": (FLOAT, facts.DEFAULT_REQUEST_TIMEOUT),
    "ca-file": (STR, ""),
    "cert-file": (STR, ""),
    "key-file": (STR, ""),
    "etcd-key-prefix": (STR, facts.DEFAULT_KEY_PREFIX),
    "tunnel": (STR, ""),
    "ssh-username": (STR, "core"),
    "ssh-timeout": (FLOAT, 10.0),
    "known-hosts-file": (STR, ""),
    "strict-host-key-checking": (BOOL, True),
    "experimental-api": (BOOL, True),
    "debug": (BOOL, False),
    "version": (BOOL, False),
    "help": (BOOL, False),
}
ALIASES = {"h": "help", "l": "full", "f": "follow", "n": "lines", "v": "version"}

_LIST: dict[str, tuple[str, object]] = {
    "full": (BOOL, False),
    "no-legend": (BOOL, False),
    "fields": (STR, ""),
}
_BLOCK: dict[str, tuple[str, object]] = {"block-attempts": (INT, 0), "no-block": (BOOL, False)}
COMMAND_FLAGS: dict[str, dict[str, tuple[str, object]]] = {
    "list-machines": _LIST,
    "list-units": _LIST,
    "list-unit-files": _LIST,
    "submit": {"replace": (BOOL, False), "sign": (BOOL, False)},
    "load": {**_BLOCK, "replace": (BOOL, False), "sign": (BOOL, False)},
    "start": {**_BLOCK, "replace": (BOOL, False), "sign": (BOOL, False)},
    "stop": _BLOCK,
    "unload": _BLOCK,
    "destroy": _BLOCK,
    "restart": {"block-attempts": (INT, 0)},
    "status": {"ssh-port": (INT, 22)},
    "journal": {
        "lines": (INT, 10),
        "follow": (BOOL, False),
        "ssh-port": (INT, 22),
        "sudo": (BOOL, False),
        "output": (STR, "short"),
    },
    "cat": {},
    "ssh": {"machine": (STR, ""), "unit": (STR, ""), "ssh-port": (INT, 22)},
    "version": {},
    "why": {},
    "help": {},
}
SUMMARIES = {
    "cat": "Output the contents of a submitted unit",
    "destroy": "Destroy one or more units in the cluster",
    "help": "Help about any command",
    "journal": "Print the journal of a unit in the cluster to stdout",
    "list-machines": "Enumerate the current hosts in the cluster",
    "list-unit-files": "List the units that exist in the cluster.",
    "list-units": "List the current state of units in the cluster",
    "load": "Schedule one or more units in the cluster, first submitting them if necessary.",
    "restart": "Instruct systemd to restart one or more units in the cluster.",
    "ssh": "Open interactive shell on a machine in the cluster",
    "start": "Instruct systemd to start one or more units in the cluster, first submitting and "
    "loading if necessary.",
    "status": "Output the status of one or more units in the cluster",
    "stop": "Instruct systemd to stop one or more units in the cluster.",
    "submit": "Upload one or more units to the cluster without starting them",
    "unload": "Unschedule one or more units in the cluster.",
    "version": "Print the version and exit",
    "why": "Explain, machine by machine, why a unit is or is not scheduled there (shoal)",
}


# shoal: requests fleetctl has in flight at once when acting on many units.
PARALLEL_REQUESTS = 8


class UsageError(Exception):
    pass


def _convert(name: str, kind: str, raw: str) -> object:
    try:
        if kind == BOOL:
            low = raw.lower()
            if low in ("1", "t", "true", "yes", "on"):
                return True
            if low in ("0", "f", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind == INT:
            return int(raw)
        if kind == FLOAT:
            return float(raw)
    except ValueError:
        raise UsageError(f'invalid argument "{raw}" for "--{name}" flag') from None
    return raw


@dataclass
class Invocation:
    command: str = ""
    args: list[str] = field(default_factory=list)
    flags: dict[str, object] = field(default_factory=dict)
    explicit: set[str] = field(default_factory=set)

    def get(self, name: str) -> Any:
        return self.flags[name]


def parse_args(argv: list[str], env: Mapping[str, str]) -> Invocation:
    inv = Invocation()
    specs: dict[str, tuple[str, object]] = dict(GLOBAL_FLAGS)
    inv.flags = {k: v[1] for k, v in GLOBAL_FLAGS.items()}
    it = iter(argv)
    for a in it:
        if a == "--":
            inv.args.extend(it)
            break
        if not a.startswith("-") or a == "-":
            if not inv.command:
                inv.command = a
                cmd_specs = COMMAND_FLAGS.get(a, {})
                specs.update(cmd_specs)
                inv.flags.update({k: v[1] for k, v in cmd_specs.items()})
            else:
                inv.args.append(a)
            continue
        body = a.lstrip("-")
        name, eq, raw = body.partition("=")
        name = ALIASES.get(name, name) if name not in specs else name
        if name not in specs:
            raise UsageError(f"unknown flag: {a.split('=')[0]}")
        kind = specs[name][0]
        if not eq:
            if kind == BOOL:
                raw = "true"
            else:
                nxt = next(it, None)
                if nxt is None:
                    raise UsageError(f"flag needs an argument: {a}")
                raw = nxt
        inv.flags[name] = _convert(name, kind, raw)
        inv.explicit.add(name)
    # fleetctl.go getFlagsFromEnv: FLEETCTL_<FLAG> for global flags not given on the command line.
    for name, (kind, _) in GLOBAL_FLAGS.items():
        var = "FLEETCTL_" + name.upper().replace("-", "_")
        if name not in inv.explicit and env.get(var):
            inv.flags[name] = _convert(name, kind, env[var])
    return inv


# ---- helpers -----------------------------------------------------------------------------------


class Ctl:
    """One fleetctl run: the client, output streams, and fleetctl's shared helpers."""

    def __init__(self, inv: Invocation, out: TextIO, err: TextIO) -> None:
        self.inv = inv
        self.out = out
        self.err = err
        self.api = FleetClient(
            str(inv.get("endpoint")),
            float(inv.get("request-timeout")),
            str(inv.get("ca-file")),
            str(inv.get("cert-file")),
            str(inv.get("key-file")),
        )
        self._machines: dict[str, dict[str, Any]] | None = None

    def stderr(self, msg: str) -> None:
        self.err.write(msg if msg.endswith("\n") else msg + "\n")
        self.err.flush()

    def stdout(self, msg: str) -> None:
        self.out.write(msg if msg.endswith("\n") else msg + "\n")
        self.out.flush()

    def machine(self, mid: str) -> dict[str, Any] | None:
        """fleetctl cachedMachineState: one /machines read per run."""
        if self._machines is None:
            try:
                self._machines = {m.get("id", ""): m for m in self.api.machines()}
            except FleetAPIError:
                self._machines = {}
        return self._machines.get(mid)

    def block_attempts(self) -> int:
        """fleetctl getBlockAttempts: -1 no wait, 0 forever, N attempts of about 2 s each."""
        if self.inv.flags.get("no-block"):
            return -1
        attempts: int = self.inv.get("block-attempts") if "block-attempts" in self.inv.flags else 0
        return max(0, attempts)


def short_id(mid: str) -> str:
    return mid[: facts.SHORT_ID_LEN]


def machine_id_legend(mid: str, full: bool) -> str:
    return mid if full else f"{short_id(mid)}..."


def machine_full_legend(m: Mapping[str, Any], full: bool) -> str:
    legend = machine_id_legend(str(m.get("id", "")), full)
    ip = m.get("primaryIP", "")
    return f"{legend}/{ip}" if ip else legend


def format_metadata(md: Mapping[str, str]) -> str:
    return ",".join(f"{k}={md[k]}" for k in sorted(md))


def unit_options(u: Mapping[str, Any]) -> tuple[UnitOption, ...]:
    return options_from_json(u.get("options") or [])


def is_global(u: Mapping[str, Any]) -> bool:
    return Requirements.of(str(u.get("name", "")), unit_options(u)).is_global


def _table(ctl: Ctl, cols: list[str], rows: list[list[str]]) -> None:
    lines = [] if ctl.inv.get("no-legend") else [[c.upper() for c in cols]]
    ctl.out.write(format_table(lines + rows))


def _columns(ctl: Ctl, default: str, valid: Mapping[str, object]) -> list[str] | None:
    spec = str(ctl.inv.get("fields") or default)
    cols = spec.split(",")
    for c in cols:
        if c not in valid:
            ctl.stderr(f'Invalid key in output format: "{c}"')
            return None
    return cols


# ---- list commands -----------------------------------------------------------------------------


def cmd_list_machines(ctl: Ctl) -> int:
    full = bool(ctl.inv.get("full"))
    fields: dict[str, Callable[[Mapping[str, Any]], str]] = {
        "machine": lambda m: machine_id_legend(str(m.get("id", "")), full),
        "ip": lambda m: str(m.get("primaryIP") or "-"),
        "metadata": lambda m: format_metadata(m.get("metadata") or {}) or "-",
    }
    cols = _columns(ctl, "machine,ip,metadata", fields)
    if cols is None:
        return 1
    try:
        machines = ctl.api.machines()
    except FleetAPIError as e:
        # The line the seed shows when quorum is lost.
        ctl.stderr(f"Error retrieving list of active machines: {e}")
        return 1
    _table(ctl, cols, [[fields[c](m) for c in cols] for m in machines])
    return 0


def cmd_list_units(ctl: Ctl) -> int:
    full = bool(ctl.inv.get("full"))

    def machine(s: Mapping[str, Any]) -> str:
        mid = str(s.get("machineID") or "")
        if not mid:
            return "-"
        return machine_full_legend(ctl.machine(mid) or {"id": mid}, full)

    def hash_(s: Mapping[str, Any]) -> str:
        h = str(s.get("hash") or "")
        return "-" if not h else (h if full else h[:7])

    fields: dict[str, Callable[[Mapping[str, Any]], str]] = {
        "unit": lambda s: str(s.get("name", "")),
        "load": lambda s: str(s.get("systemdLoadState", "")),
        "active": lambda s: str(s.get("systemdActiveState", "")),
        "sub": lambda s: str(s.get("systemdSubState", "")),
        "machine": machine,
        "hash": hash_,
    }
    cols = _columns(ctl, "unit,machine,active,sub", fields)
    if cols is None:
        return 1
    try:
        states = ctl.api.unit_states()
    except FleetAPIError as e:
        ctl.stderr(f"Error retrieving list of units from repository: {e}")
        return 1
    _table(ctl, cols, [[fields[c](s) for c in cols] for s in states])
    return 0


def cmd_list_unit_files(ctl: Ctl) -> int:
    full = bool(ctl.inv.get("full"))

    def target(u: Mapping[str, Any]) -> str:
        if is_global(u):
            return "global"
        mid = str(u.get("machineID") or "")
        if not mid:
            return "-"
        return machine_full_legend(ctl.machine(mid) or {"id": mid}, full)

    def hash_(u: Mapping[str, Any]) -> str:
        h = unit_hash(unit_options(u))
        return h if full else h[:7]

    fields: dict[str, Callable[[Mapping[str, Any]], str]] = {
        "unit": lambda u: str(u.get("name", "")),
        "global": lambda u: "true" if is_global(u) else "false",
        "dstate": lambda u: str(u.get("desiredState") or "-"),
        "target": target,
        "tmachine": target,
        "state": lambda u: "-" if is_global(u) else str(u.get("currentState") or "-"),
        "hash": hash_,
        "desc": lambda u: description(unit_options(u)) or "-",
    }
    cols = _columns(ctl, "unit,hash,dstate,state,target", fields)
    if cols is None:
        return 1
    if "tmachine" in cols:
        ctl.stderr('WARNING: The "tmachine" field is deprecated. Use "target" instead')
    try:
        units = ctl.api.units()
    except FleetAPIError as e:
        ctl.stderr(f"Error retrieving list of units from repository: {e}")
        return 1
    _table(ctl, cols, [[fields[c](u) for c in cols] for u in units])
    return 0


# ---- submit / load / start and the waiting that follows ----------------------------------------


def _read_unit_file(path: str) -> tuple[UnitOption, ...]:
    return parse_unit_file(Path(path).read_text())


def _local_options(ctl: Ctl, arg: str, name: str) -> tuple[UnitOption, ...]:
    """fleetctl getUnitFile: the file named by arg, else for an instance its template (from the
    registry, else a file beside arg)."""
    if os.path.exists(arg):
        try:
            return _read_unit_file(arg)
        except (OSError, UnitFileError) as e:
            raise RuntimeError(f"failed getting Unit({arg}) from file: {e}") from e
    info = name_info(name)
    if info is None:
        raise RuntimeError(f"error extracting information from unit name {name}")
    if not info.is_instance:
        raise RuntimeError(f"unable to find Unit({name}) in Registry or on filesystem")
    tmpl = ctl.api.unit(info.template)
    if tmpl is not None:
        return unit_options(tmpl)
    path = os.path.join(os.path.dirname(arg), info.template)
    if not os.path.exists(path):
        raise RuntimeError(
            f"failed getting Unit({arg}) from template: unable to find template "
            f"Unit({info.template}) in Registry or on filesystem"
        )
    try:
        return _read_unit_file(path)
    except (OSError, UnitFileError) as e:
        raise RuntimeError(f"unable to load template Unit({info.template}) from file: {e}") from e


def _local_differs(ctl: Ctl, arg: str, existing: Mapping[str, Any], emit: Emit) -> bool | None:
    """fleetctl isLocalUnitDifferent; None when there is no local file to compare."""
    replace = bool(ctl.inv.flags.get("replace"))
    theirs = unit_hash(unit_options(existing))
    for path, what in ((arg, "local unit file"), (None, "local template unit file")):
        if path is None:
            info = name_info(os.path.basename(arg))
            if info is None or not info.is_instance:
                return None
            path = os.path.join(os.path.dirname(arg), info.template)
        if not os.path.exists(path):
            continue
        try:
            mine = unit_hash(_read_unit_file(path))
        except (OSError, UnitFileError):
            return None
        if mine != theirs and not replace:
            emit.append(
                (
                    "err",
                    f"WARNING: Unit {existing.get('name')} in registry differs from {what} "
                    f"{arg}. Add --replace to override.",
                )
            )
        return mine != theirs
    return None


_REPLACE_ALLOWED = {
    "submit": ("inactive",),
    "load": ("inactive", "loaded"),
    "start": ("inactive", "loaded", "launched"),
}


Emit = list[tuple[str, str]]  # ("out" | "err", message), printed in argument order


def _create_one(ctl: Ctl, raw: str, initial: str, emit: Emit) -> dict[str, Any] | None:
    """fleetctl's checkUnitCreation + createUnit for one argument; the body created, if any."""
    replace = bool(ctl.inv.flags.get("replace"))
    recognized = any(raw.endswith("." + t) for t in facts.RECOGNIZED_UNIT_TYPES)
    arg = raw if recognized else raw + ".service"
    name = mangle_name(arg)
    existing = ctl.api.unit(name)
    if existing is not None:
        differs = _local_differs(ctl, arg, existing, emit)
        if not replace:
            return None
        if not differs:
            emit.append(("out", f"Found same Unit({name}) in Registry, nothing to do"))
            return None
        allowed = _REPLACE_ALLOWED.get(ctl.inv.command, ())
        if existing.get("desiredState") not in allowed:
            emit.append(
                (
                    "err",
                    f"Warning: can not replace Unit({name}) in state "
                    f"'{existing.get('desiredState')}', use the appropriate command",
                )
            )
            return None
    opts = _local_options(ctl, arg, name)
    bad = validate_name(name) or validate_options(opts)
    if bad:
        raise RuntimeError(bad)
    for key in Requirements.of(name, opts).unknown:
        emit.append(("err", f'Unit {name}: unrecognized requirement in [X-Fleet] section: "{key}"'))
    body: dict[str, Any] = {"name": name, "options": [o.to_json() for o in opts]}
    if initial and existing is None:
        body["desiredState"] = initial
    try:
        ctl.api.create_unit(body)
    except FleetAPIError as e:
        raise RuntimeError(f"failed creating unit {name}: {e}") from e
    return body if existing is None else None


def _in_parallel(fn: Callable[[str, Emit], Any], items: list[str], ctl: Ctl) -> list[Any]:
    """Run fn over items on a few threads (shoal: fleetctl did one unit at a time, so starting
    hundreds of units took minutes), then print their messages in item order and re-raise the
    first error."""

    def run(item: str) -> tuple[Emit, Any, Exception | None]:
        emit: Emit = []
        try:
            return emit, fn(item, emit), None
        except (RuntimeError, FleetAPIError) as e:
            return emit, None, e

    with ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS) as pool:
        results = list(pool.map(run, items))
    out: list[Any] = []
    for emit, value, err in results:
        for stream, msg in emit:
            (ctl.stdout if stream == "out" else ctl.stderr)(msg)
        if err is not None:
            raise err
        out.append(value)
    return out


def lazy_create_units(
    ctl: Ctl, args: list[str], initial: str = ""
) -> tuple[bool, dict[str, dict[str, Any]]]:
    """Create the units not yet in the registry (or replace with --replace), with desired state
    `initial` when given. Returns (no error, the units created by name)."""
    bodies = _in_parallel(lambda raw, emit: _create_one(ctl, raw, initial, emit), args, ctl)
    created = {b["name"]: b for b in bodies if b is not None}
    if created and not initial:
        ok = wait_for_states(ctl, list(created), "inactive", ctl.block_attempts(), "creation")
        return ok, created
    return True, created


def _assert_state(ctl: Ctl, name: str, want: str) -> str | None:
    """fleetctl assertUnitState: the message to print once the unit reached `want`."""
    u = ctl.api.unit(name)
    if u is None:
        return None
    state = u.get("desiredState") if is_global(u) else u.get("currentState", "inactive")
    if (state or "inactive") != want:
        return None
    msg = f"Unit {name} {u.get('currentState') or 'inactive'}"
    mid = u.get("machineID")
    if mid:
        m = ctl.machine(mid)
        if m is not None:
            msg += f" on {machine_full_legend(m, False)}"
    return msg


def wait_for_states(
    ctl: Ctl, names: list[str], want: str, attempts: int, label: str = "units"
) -> bool:
    """fleetctl checkUnitState: each attempt polls every 250 ms for up to 2 s."""
    if attempts < 0:
        return True
    ok = True
    for name in names:
        deadline = None if attempts == 0 else time.monotonic() + 2.0 * attempts
        while True:
            try:
                msg = _assert_state(ctl, name, want)
            except FleetAPIError:
                msg = None
            if msg is not None:
                ctl.stdout(msg)
                break
            if deadline is not None and time.monotonic() > deadline:
                what = (
                    "Error waiting on unit creation"
                    if label == "creation"
                    else ("Error waiting for units")
                )
                ctl.stderr(f"{what}: timed out waiting for unit {name} to report state {want}")
                ok = False
                break
            time.sleep(0.25)
    return ok


def _set_target(ctl: Ctl, names: list[str], state: str) -> list[dict[str, Any]]:
    """fleetctl setTargetStateOfUnits: the units whose desired state changed."""

    def one(name: str, emit: Emit) -> dict[str, Any] | None:
        u = ctl.api.unit(name)
        if u is None:
            raise RuntimeError(f"unable to find unit {name}")
        if u.get("desiredState") == state:
            return None
        ctl.api.set_target_state(name, state)
        return u

    return [u for u in _in_parallel(one, names, ctl) if u is not None]


def _wait_active(ctl: Ctl, names: list[str], attempts: int) -> bool:
    """fleetctl tryWaitForSystemdActiveState: the unit's process must really be active."""
    if attempts < 0:
        for n in names:
            ctl.stdout(f"Triggered unit {n} start")
        return True
    for name in names:
        deadline = None if attempts == 0 else time.monotonic() + 2.0 * attempts
        while True:
            st = None
            with contextlib.suppress(FleetAPIError):
                st = ctl.api.unit_state(name)
            if st and st.get("systemdActiveState") == "active":
                break
            if deadline is not None and time.monotonic() > deadline:
                ctl.stderr(
                    f"Error waiting for systemd unit states, err: Failed to find an active unit "
                    f"{name} within 2s"
                )
                return False
            time.sleep(0.25)
    return True


def _create_then(ctl: Ctl, state: str, verb: str) -> int:
    args = ctl.inv.args
    if not args:
        ctl.stderr("No units given")
        return 0
    # shoal: without blocking there is nothing to report in between, so a new unit is created
    # directly in its final desired state (one request instead of three).
    fast = ctl.block_attempts() < 0 and state != "inactive"
    try:
        ok, created = lazy_create_units(ctl, args, initial=state if fast else "")
        if not ok:
            ctl.stderr("Error creating units: One or more errors creating units")
            return 1
    except (RuntimeError, FleetAPIError) as e:
        ctl.stderr(f"Error creating units: {e}")
        return 1
    if state == "inactive":
        return 0
    names = [mangle_name(a) for a in args]
    done = [created[n] for n in names if fast and n in created]
    try:
        triggered = done + _set_target(
            ctl, [n for n in names if not (fast and n in created)], state
        )
    except (RuntimeError, FleetAPIError) as e:
        ctl.stderr(f"Error {verb}ing units: {e}")
        return 1
    waiting = []
    for u in triggered:
        if is_global(u):
            ctl.stdout(f"Triggered global unit {u['name']} {verb}")
        else:
            waiting.append(u["name"])
    attempts = ctl.block_attempts()
    if attempts < 0:
        for n in waiting:
            ctl.stdout(f"Triggered unit {n} {verb}")
        return 0
    if not wait_for_states(ctl, waiting, state, attempts):
        ctl.stderr("Error waiting for unit states, exit status: 1")
        return 1
    if state == "launched" and not _wait_active(ctl, waiting, attempts):
        return 1
    return 0


def cmd_submit(ctl: Ctl) -> int:
    return _create_then(ctl, "inactive", "submit")


def cmd_load(ctl: Ctl) -> int:
    return _create_then(ctl, "loaded", "load")


def cmd_start(ctl: Ctl) -> int:
    return _create_then(ctl, "launched", "start")


# ---- stop / unload / destroy / restart ---------------------------------------------------------


def _find_units(ctl: Ctl) -> list[dict[str, Any]] | None:
    by_name = {u["name"]: u for u in ctl.api.units()}
    found = [by_name[n] for n in (mangle_name(a) for a in ctl.inv.args) if n in by_name]
    if not found:
        ctl.stderr("Units not found in registry")
        return None
    return found


def cmd_stop(ctl: Ctl) -> int:
    if not ctl.inv.args:
        ctl.stderr("No units given")
        return 0
    units = _find_units(ctl)
    if units is None:
        return 0
    stopping = []
    for u in units:
        if not is_global(u):
            cur = u.get("currentState") or "inactive"
            if cur == "inactive":
                ctl.stderr(f"Unable to stop unit {u['name']} in state inactive")
                return 1
            if cur == "loaded":
                continue
        ctl.api.set_target_state(u["name"], "loaded")
        if is_global(u):
            ctl.stdout(f"Triggered global unit {u['name']} stop")
        else:
            stopping.append(u["name"])
    return _finish(ctl, stopping, "loaded", "stop", "stopped")


def cmd_unload(ctl: Ctl) -> int:
    if not ctl.inv.args:
        ctl.stderr("No units given")
        return 0
    units = _find_units(ctl)
    if units is None:
        return 0
    waiting = []
    for u in units:
        if not is_global(u) and (u.get("currentState") or "inactive") == "inactive":
            continue
        ctl.api.set_target_state(u["name"], "inactive")
        if is_global(u):
            ctl.stdout(f"Triggered global unit {u['name']} unload")
        else:
            waiting.append(u["name"])
    return _finish(ctl, waiting, "inactive", "unload", "unloaded")


def _finish(ctl: Ctl, names: list[str], state: str, verb: str, done: str) -> int:
    """fleetctl's end of stop/unload: trigger only (--no-block) or wait for the state."""
    attempts = ctl.block_attempts()
    if attempts < 0:
        for n in names:
            ctl.stdout(f"Triggered unit {n} {verb}")
    elif not wait_for_states(ctl, names, state, attempts):
        ctl.stderr(f"Failed to {verb} units [{' '.join(names)}]. err: timed out")
        return 1
    ctl.stderr(f"Successfully {done} units [{' '.join(names)}].")
    return 0


def cmd_destroy(ctl: Ctl) -> int:
    if not ctl.inv.args:
        ctl.stderr("No units given")
        return 0
    units = _find_units(ctl)
    if units is None:
        return 0
    code = 0
    for u in units:
        try:
            ctl.api.destroy_unit(u["name"])
        except FleetAPIError as e:
            if e.code == 404:
                continue
            ctl.stderr(f"Error destroying units: {e}")
            code = 1
            continue
        ctl.stdout(f"Destroyed {u['name']}")
    return code


def cmd_restart(ctl: Ctl) -> int:
    if not ctl.inv.args:
        ctl.stderr("No units given")
        return 0
    units = _find_units(ctl)
    if units is None:
        return 0
    attempts = ctl.block_attempts()
    for u in units:
        name = u["name"]
        if is_global(u):
            ctl.stderr(f"Unable to restart global unit {name}: not supported without ssh")
            continue
        cur = u.get("currentState") or "inactive"
        if cur == "inactive":
            ctl.stderr(f"Unable to restart unit {name} in state inactive")
            continue
        steps = ["launched"] if cur == "loaded" else ["loaded", "launched"]
        for state in steps:
            ctl.api.set_target_state(name, state)
            if not wait_for_states(ctl, [name], state, attempts):
                ctl.stderr("Error waiting for unit states, exit status: 1")
                return 1
    return 0


# ---- cat / status / journal / ssh / why / version ----------------------------------------------


def cmd_cat(ctl: Ctl) -> int:
    if len(ctl.inv.args) != 1:
        ctl.stderr("One unit file must be provided")
        return 1
    name = mangle_name(ctl.inv.args[0])
    try:
        u = ctl.api.unit(name)
    except FleetAPIError as e:
        ctl.stderr(f"Error retrieving Unit {name}: {e}")
        return 1
    if u is None:
        ctl.stderr(f"Unit {name} not found")
        return 1
    ctl.out.write(serialize(unit_options(u)))
    return 0


def cmd_status(ctl: Ctl) -> int:
    """fleet ran `systemctl status -l UNIT` on the unit's machine over ssh; shoal prints the same
    header lines from the API's state (no ssh needed, no journal lines)."""
    for i, arg in enumerate(ctl.inv.args):
        name = mangle_name(arg)
        try:
            u = ctl.api.unit(name)
            st = ctl.api.unit_state(name) if u is not None else None
        except FleetAPIError as e:
            ctl.stderr(f"Error retrieving unit: {e}")
            return 1
        if u is None:
            ctl.stderr(f"Unit {name} does not exist.")
            return 1
        if is_global(u):
            ctl.stderr(f"Unit {name} is global: status is shown per machine by list-units.")
            continue
        if (u.get("currentState") or "inactive") == "inactive" or st is None:
            ctl.stderr(f"Unit {name} does not appear to be loaded.")
            return 1
        if i:
            ctl.out.write("\n")
        desc = description(unit_options(u))
        active, sub = st.get("systemdActiveState", ""), st.get("systemdSubState", "")
        dot = "●" if active in ("active", "failed") else "○"
        m = ctl.machine(str(u.get("machineID", ""))) or {"id": u.get("machineID", "")}
        ctl.out.write(
            f"{dot} {name}" + (f" - {desc}" if desc else "") + "\n"
            f"   Loaded: {st.get('systemdLoadState', '')} "
            f"({facts.DEFAULT_UNITS_DIRECTORY}{name}; linked-runtime)\n"
            f"   Active: {active} ({sub})\n"
            f"  Machine: {machine_full_legend(m, True)}\n"
        )
    return 0


def cmd_journal(ctl: Ctl) -> int:
    if len(ctl.inv.args) != 1:
        ctl.stderr("One unit file must be provided.")
        return 1
    name = mangle_name(ctl.inv.args[0])
    try:
        u = ctl.api.unit(name)
    except FleetAPIError as e:
        ctl.stderr(f"Error retrieving unit {name}: {e}")
        return 1
    if u is None:
        ctl.stderr(f"Unit {name} does not exist.")
        return 1
    if is_global(u):
        ctl.stderr(f"Unable to retrieve journal of global unit {name}.")
        return 1
    if (u.get("currentState") or "inactive") == "inactive":
        ctl.stderr(f"Unit {name} does not appear to be running.")
        return 1
    mid = str(u.get("machineID", ""))
    lines = int(ctl.inv.get("lines"))
    try:
        doc = ctl.api.journal(name, lines)
    except FleetAPIError as e:
        if e.code != 404:
            ctl.stderr(f"Error retrieving journal of {name}: {e}")
            return 1
        # fleet ran journalctl over ssh on the unit's machine; shoal asks that machine's fleet
        # API, so fleetctl must be pointed at it.
        m = ctl.machine(mid) or {"id": mid}
        ctl.stderr(
            f"Unit {name} runs on {machine_full_legend(m, True)}, not on the machine behind "
            f"{ctl.inv.get('endpoint')}; point --endpoint at that machine's fleet API."
        )
        return 1
    shown: list[str] = list(doc.get("lines") or [])
    for line in shown:
        ctl.stdout(line)
    while ctl.inv.flags.get("follow"):
        time.sleep(1.0)
        try:
            fresh = list(ctl.api.journal(name, 200).get("lines") or [])
        except FleetAPIError as e:
            ctl.stderr(f"Error retrieving journal of {name}: {e}")
            return 1
        for line in _new_lines(shown[-20:], fresh):
            ctl.stdout(line)
        shown = fresh
    return 0


def _new_lines(seen_tail: list[str], fresh: list[str]) -> list[str]:
    """The lines of `fresh` after the last ones already printed (`seen_tail`)."""
    if not seen_tail:
        return fresh
    n = len(seen_tail)
    for start in range(len(fresh) - n, -1, -1):
        if fresh[start : start + n] == seen_tail:
            return fresh[start + n :]
    return fresh  # the printed lines scrolled out of the window: print what there is


def cmd_ssh(ctl: Ctl) -> int:
    """fleet opened ssh to the machine (by ID prefix, or the one running a unit). shoal's
    machines are local: it hands over to `shoal ssh <machine's address> -- COMMAND`, which opens
    a shell (or runs the command) "on" that machine, with its etcdctl and fleetctl."""
    args = list(ctl.inv.args)
    by_machine, by_unit = str(ctl.inv.get("machine")), str(ctl.inv.get("unit"))
    if by_machine or by_unit:
        target, command = by_machine or by_unit, args
    elif args:
        target, command = args[0], args[1:]
    else:
        ctl.stderr("Provide one machine or unit")
        return 1
    try:
        machines = ctl.api.machines()
        ip = ""
        found = [m for m in machines if str(m.get("id", "")).startswith(target)]
        if found and not by_unit:
            if len(found) > 1:
                ctl.stderr(f"Found more than one Machine, be more specific: {target}")
                return 1
            ip = str(found[0].get("primaryIP") or "")
        else:
            state = ctl.api.unit_state(mangle_name(target))
            mid = str((state or {}).get("machineID") or "")
            if not mid:
                ctl.stderr(f"Unit {mangle_name(target)} does not appear to be running.")
                return 1
            ip = next((str(m.get("primaryIP") or "") for m in machines if m.get("id") == mid), "")
    except FleetAPIError as e:
        ctl.stderr(f"Error retrieving list of active machines: {e}")
        return 1
    if not ip:
        ctl.stderr(f"Could not find machine {target}")
        return 1
    if command[:1] == ["--"]:
        command = command[1:]
    argv = [sys.executable, "-m", "shoal.cli", "ssh", ip, "--", *command]
    ctl.out.flush()
    ctl.err.flush()
    os.execv(sys.executable, argv)
    return 0  # not reached


def cmd_why(ctl: Ctl) -> int:
    if len(ctl.inv.args) != 1:
        ctl.stderr("One unit name must be provided")
        return 1
    name = mangle_name(ctl.inv.args[0])
    try:
        units = ctl.api.units()
        machines = ctl.api.machines()
    except FleetAPIError as e:
        ctl.stderr(f"Error retrieving cluster state: {e}")
        return 1
    jobs: list[Job] = []
    globals_: list[Job] = []
    target = ""
    unit = None
    for u in units:
        req = Requirements.of(u["name"], unit_options(u))
        j = Job(u["name"], req, u.get("desiredState", "inactive"), u.get("machineID", ""))
        (globals_ if req.is_global else jobs).append(j)
        if u["name"] == name:
            unit, target = u, u.get("machineID", "")
    if unit is None:
        ctl.stderr(f"Unit {name} does not exist.")
        return 1
    cluster = Cluster([Machine(m["id"], m.get("metadata") or {}) for m in machines], jobs, globals_)
    rows = explain(cluster, name)
    where = f" on {machine_id_legend(target, False)}" if target else ""
    ctl.stdout(
        f"Unit {name}: desired {unit.get('desiredState', 'inactive')}, "
        f"current {unit.get('currentState') or 'inactive'}{where}"
    )
    if not rows:
        ctl.stdout("No machines in the cluster.")
        return 0
    by_id = {m["id"]: m for m in machines}
    table = [["MACHINE", "VERDICT"]]
    table += [[machine_full_legend(by_id[mid], False), why] for mid, why in rows]
    ctl.out.write(format_table(table))
    return 0


def cmd_version(ctl: Ctl) -> int:
    ctl.stdout(f"fleetctl version {facts.FLEET_VERSION}")
    return 0


COMMANDS: dict[str, Callable[[Ctl], int]] = {
    "cat": cmd_cat,
    "destroy": cmd_destroy,
    "journal": cmd_journal,
    "list-machines": cmd_list_machines,
    "list-unit-files": cmd_list_unit_files,
    "list-units": cmd_list_units,
    "load": cmd_load,
    "restart": cmd_restart,
    "ssh": cmd_ssh,
    "start": cmd_start,
    "status": cmd_status,
    "stop": cmd_stop,
    "submit": cmd_submit,
    "unload": cmd_unload,
    "version": cmd_version,
    "why": cmd_why,
}


def usage() -> str:
    width = max(len(n) for n in SUMMARIES)
    lines = [
        "NAME:",
        "\tfleetctl - fleetctl is a command-line interface to fleet, the cluster-wide CoreOS "
        "init system.",
        "",
        "USAGE:",
        "\tshoal fleetctl [global options] <command> [command options] [arguments...]",
        "",
        "COMMANDS:",
    ]
    lines += [f"\t{n:<{width}}  {s}" for n, s in sorted(SUMMARIES.items())]
    lines += [
        "",
        "GLOBAL OPTIONS:",
        f"\t--endpoint={facts.DEFAULT_ENDPOINT}  Location of the fleet API (unix:// or http://)",
        "\t--request-timeout=3  Amount of time in seconds to allow a single request",
        "\t--ca-file, --cert-file, --key-file  TLS files for an https:// endpoint",
        "\tEach global option may also be set as FLEETCTL_<OPTION> (FLEETCTL_ENDPOINT, ...).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str], env: Mapping[str, str] | None = None) -> int:
    out, err = sys.stdout, sys.stderr
    try:
        inv = parse_args(argv, os.environ if env is None else env)
    except UsageError as e:
        err.write(f"Error: {e}\n")
        return 1
    if inv.get("version") and not inv.command:
        out.write(f"fleetctl version {facts.FLEET_VERSION}\n")
        return 0
    if not inv.command or inv.command == "help" or inv.get("help"):
        out.write(usage())
        return 0
    if inv.command not in COMMANDS:
        err.write(f'Error: unknown command "{inv.command}" for "fleetctl"\n')
        return 1
    if inv.flags.get("sign"):
        err.write("WARNING: The signed/verified units feature is DEPRECATED and cannot be used.\n")
        return 2
    if inv.get("driver") != "API":
        err.write(
            f'Unable to initialize client: driver "{inv.get("driver")}" is not supported by '
            "shoal; use the API driver (--endpoint)\n"
        )
        return 1
    if inv.get("tunnel"):
        err.write("Unable to initialize client: --tunnel is not supported by shoal\n")
        return 1
    try:
        ctl = Ctl(inv, out, err)
    except FleetAPIError as e:
        err.write(f"Unable to initialize client: {e}\n")
        return 1
    try:
        return COMMANDS[inv.command](ctl)
    except FleetAPIError as e:
        err.write(f"{e}\n")
        return 1
    except KeyboardInterrupt:
        return 130
