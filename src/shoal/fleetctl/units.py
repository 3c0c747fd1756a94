"""The units' life cycle: `list-units` (fleetctl/list_units.go), `submit`, `load`, `start`
(creating units first when needed), `stop`, `unload`, `destroy` and `restart`, with fleetctl's
messages and its --block-attempts / --no-block waiting."""

from __future__ import annotations

from collections.abc import Callable

from shoal.fleet.client import FleetAPIError
from shoal.fleet.schema import Unit, UnitState
from shoal.fleet.unit import mangle_name
from shoal.fleetctl.context import CommandError, Ctl, Emit
from shoal.fleetctl.create import lazy_create_units
from shoal.fleetctl.output import list_command, machine_full_legend
from shoal.fleetctl.waiting import wait_active, wait_for_states


def list_units(ctl: Ctl) -> int:
    full = bool(ctl.inv.get("full"))

    def machine(s: UnitState) -> str:
        if not s.machine_id:
            return "-"
        return machine_full_legend(ctl.machine_or_bare(s.machine_id), full)

    def hash_(s: UnitState) -> str:
        return "-" if not s.hash else (s.hash if full else s.hash[:7])

    fields: dict[str, Callable[[UnitState], str]] = {
        "unit": lambda s: s.name,
        "load": lambda s: s.load_state,
        "active": lambda s: s.active_state,
        "sub": lambda s: s.sub_state,
        "machine": machine,
        "hash": hash_,
    }
    failure = "Error retrieving list of units from repository"
    return list_command(ctl, "unit,machine,active,sub", fields, ctl.api.unit_states, failure)


# ---- submit / load / start ---------------------------------------------------------------------


def _set_target(ctl: Ctl, names: list[str], state: str) -> list[Unit]:
    """fleetctl setTargetStateOfUnits: the units whose desired state changed."""

    def one(name: str, emit: Emit) -> Unit | None:
        u = ctl.api.unit(name)
        if u is None:
            raise CommandError(f"unable to find unit {name}")
        if u.desired_state == state:
            return None
        ctl.api.set_target_state(name, state)
        return u

    return [u for u in ctl.in_parallel(one, names) if u is not None]


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
    except (CommandError, FleetAPIError) as e:
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
    except (CommandError, FleetAPIError) as e:
        ctl.stderr(f"Error {verb}ing units: {e}")
        return 1
    waiting = []
    for u in triggered:
        if u.is_global:
            ctl.stdout(f"Triggered global unit {u.name} {verb}")
        else:
            waiting.append(u.name)
    attempts = ctl.block_attempts()
    if attempts < 0:
        for n in waiting:
            ctl.stdout(f"Triggered unit {n} {verb}")
        return 0
    err = wait_for_states(ctl, waiting, state, attempts)
    if err is not None:
        # fleetctl prints the error where the exit status would be ("exit status: %v").
        ctl.stderr(f"Error waiting for unit states, exit status: {err}")
        return 1
    if state == "launched" and not wait_active(ctl, waiting, attempts):
        return 1
    return 0


def submit(ctl: Ctl) -> int:
    return _create_then(ctl, "inactive", "submit")


def load(ctl: Ctl) -> int:
    return _create_then(ctl, "loaded", "load")


def start(ctl: Ctl) -> int:
    return _create_then(ctl, "launched", "start")


# ---- stop / unload / destroy / restart ---------------------------------------------------------


def _find_units(ctl: Ctl) -> list[Unit] | None:
    by_name = {u.name: u for u in ctl.api.units()}
    found = [by_name[n] for n in (mangle_name(a) for a in ctl.inv.args) if n in by_name]
    if not found:
        ctl.stderr("Units not found in registry")
        return None
    return found


def _named_units(ctl: Ctl) -> list[Unit] | None:
    """The units the arguments name; None (with fleetctl's message) when there are none."""
    if not ctl.inv.args:
        ctl.stderr("No units given")
        return None
    return _find_units(ctl)


def stop(ctl: Ctl) -> int:
    units = _named_units(ctl)
    if units is None:
        return 0
    stopping = []
    for u in units:
        if not u.is_global:
            cur = u.current_state or "inactive"
            if cur == "inactive":
                ctl.stderr(f"Unable to stop unit {u.name} in state inactive")
                return 1
            if cur == "loaded":
                continue
        ctl.api.set_target_state(u.name, "loaded")
        if u.is_global:
            ctl.stdout(f"Triggered global unit {u.name} stop")
        else:
            stopping.append(u.name)
    return _finish(ctl, stopping, "loaded", "stop", "stopped")


def unload(ctl: Ctl) -> int:
    units = _named_units(ctl)
    if units is None:
        return 0
    waiting = []
    for u in units:
        if not u.is_global and (u.current_state or "inactive") == "inactive":
            continue
        ctl.api.set_target_state(u.name, "inactive")
        if u.is_global:
            ctl.stdout(f"Triggered global unit {u.name} unload")
        else:
            waiting.append(u.name)
    return _finish(ctl, waiting, "inactive", "unload", "unloaded")


def _finish(ctl: Ctl, names: list[str], state: str, verb: str, done: str) -> int:
    """fleetctl's end of stop/unload: trigger only (--no-block) or wait for the state."""
    attempts = ctl.block_attempts()
    if attempts < 0:
        for n in names:
            ctl.stdout(f"Triggered unit {n} {verb}")
    else:
        err = wait_for_states(ctl, names, state, attempts)
        if err is not None:
            ctl.stderr(f"Failed to {verb} units [{' '.join(names)}]. err: {err}")
            return 1
    ctl.stderr(f"Successfully {done} units [{' '.join(names)}].")
    return 0


def destroy(ctl: Ctl) -> int:
    units = _named_units(ctl)
    if units is None:
        return 0
    code = 0
    for u in units:
        try:
            ctl.api.destroy_unit(u.name)
        except FleetAPIError as e:
            if e.code == 404:
                continue
            ctl.stderr(f"Error destroying units: {e}")
            code = 1
            continue
        ctl.stdout(f"Destroyed {u.name}")
    return code


def restart(ctl: Ctl) -> int:
    units = _named_units(ctl)
    if units is None:
        return 0
    attempts = ctl.block_attempts()
    for u in units:
        if u.is_global:
            ctl.stderr(f"Unable to restart global unit {u.name}: not supported without ssh")
            continue
        cur = u.current_state or "inactive"
        if cur == "inactive":
            ctl.stderr(f"Unable to restart unit {u.name} in state inactive")
            continue
        if cur == "loaded":
            ctl.log_info("restart.go:82", f"Unit({u.name}) already loaded, starting.")
            steps = ["launched"]
        else:
            # shoal: fleetctl v1.0.0 waits for "launched" after asking for "loaded" too, so
            # against a fleetd that stops the unit within its first look (250 ms) it waits
            # forever; here each step waits for the state it asked for.
            steps = ["loaded", "launched"]
        for state in steps:
            try:
                ctl.api.set_target_state(u.name, state)
            except FleetAPIError as e:
                ctl.stderr(f"Error setting target state for unit {u.name}: {e}")
                return 1
            err = wait_for_states(ctl, [u.name], state, attempts)
            if err is not None:
                ctl.stderr(f"Error waiting for unit states, exit status: {err}")
                return 1
        if cur != "loaded":
            ctl.log_info("restart.go:100", f"Unit({u.name}) was restarted.")
    return 0
