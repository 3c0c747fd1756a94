"""Creating units from local files, as submit, load and start do first (fleetctl/fleetctl.go
lazyCreateUnits, checkUnitCreation, createUnit, getUnitFile, isLocalUnitDifferent): a unit not
yet in the registry is read from its file (an instance from its template), validated and created;
one already there is left alone, or replaced with --replace when its file changed."""

from __future__ import annotations

import os
from pathlib import Path

from shoal.fleet import facts
from shoal.fleet.client import FleetAPIError
from shoal.fleet.schema import Unit
from shoal.fleet.unit import (
    Requirements,
    UnitFileError,
    UnitOption,
    mangle_name,
    name_info,
    parse_unit_file,
    unit_hash,
    validate_name,
    validate_options,
)
from shoal.fleetctl.context import CommandError, Ctl, Emit
from shoal.fleetctl.waiting import wait_for_states

# The desired states from which each command may replace a unit (fleetctl's per-command checks).
_REPLACE_ALLOWED = {
    "submit": ("inactive",),
    "load": ("inactive", "loaded"),
    "start": ("inactive", "loaded", "launched"),
}


def _read_unit_file(path: str) -> tuple[UnitOption, ...]:
    return parse_unit_file(Path(path).read_text())


def _local_options(ctl: Ctl, arg: str, name: str) -> tuple[UnitOption, ...]:
    """fleetctl getUnitFile: the file named by arg, else for an instance its template (from the
    registry, else a file beside arg)."""
    if os.path.exists(arg):
        try:
            return _read_unit_file(arg)
        except (OSError, UnitFileError) as e:
            raise CommandError(f"failed getting Unit({arg}) from file: {e}") from e
    info = name_info(name)
    if info is None:
        raise CommandError(f"error extracting information from unit name {name}")
    if not info.is_instance:
        raise CommandError(f"unable to find Unit({name}) in Registry or on filesystem")
    tmpl = ctl.api.unit(info.template)
    if tmpl is not None:
        return tmpl.options
    path = os.path.join(os.path.dirname(arg), info.template)
    if not os.path.exists(path):
        raise CommandError(
            f"failed getting Unit({arg}) from template: unable to find template "
            f"Unit({info.template}) in Registry or on filesystem"
        )
    try:
        return _read_unit_file(path)
    except (OSError, UnitFileError) as e:
        raise CommandError(f"unable to load template Unit({info.template}) from file: {e}") from e


def _local_differs(ctl: Ctl, arg: str, existing: Unit, emit: Emit) -> bool | None:
    """fleetctl isLocalUnitDifferent; None when there is no local file to compare."""
    replace = bool(ctl.inv.flags.get("replace"))
    theirs = unit_hash(existing.options)
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
                    f"WARNING: Unit {existing.name} in registry differs from {what} "
                    f"{arg}. Add --replace to override.",
                )
            )
        return mine != theirs
    return None


def _create_one(ctl: Ctl, raw: str, initial: str, emit: Emit) -> Unit | None:
    """fleetctl's checkUnitCreation + createUnit for one argument; the unit created, if any."""
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
        if existing.desired_state not in allowed:
            emit.append(
                (
                    "err",
                    f"Warning: can not replace Unit({name}) in state "
                    f"'{existing.desired_state}', use the appropriate command",
                )
            )
            return None
    opts = _local_options(ctl, arg, name)
    bad = validate_name(name) or validate_options(opts)
    if bad:
        raise CommandError(bad)
    for key in Requirements.of(name, opts).unknown:
        emit.append(("err", f'Unit {name}: unrecognized requirement in [X-Fleet] section: "{key}"'))
    # A replaced unit starts over as a new one, as in fleet: inactive (or `initial`), so the
    # command waits for it to get there and then moves it on like a unit it created.
    unit = Unit(name, opts, desired_state=initial)
    try:
        ctl.api.create_unit(unit)
    except FleetAPIError as e:
        raise CommandError(f"failed creating unit {name}: {e}") from e
    return unit


def lazy_create_units(ctl: Ctl, args: list[str], initial: str = "") -> tuple[bool, dict[str, Unit]]:
    """Create the units not yet in the registry (or replace with --replace), with desired state
    `initial` when given. Returns (no error, the units created by name)."""
    units = ctl.in_parallel(lambda raw, emit: _create_one(ctl, raw, initial, emit), args)
    created = {u.name: u for u in units if u is not None}
    if created and not initial:
        err = wait_for_states(ctl, list(created), "inactive", ctl.block_attempts(), "creation")
        return err is None, created
    return True, created
