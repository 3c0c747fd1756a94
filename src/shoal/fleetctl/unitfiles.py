"""The units as submitted: `fleetctl list-unit-files` (fleetctl/list_unit_files.go) and
`fleetctl cat` (fleetctl/cat.go)."""

from __future__ import annotations

from collections.abc import Callable

from shoal.fleet.client import FleetAPIError
from shoal.fleet.schema import Unit
from shoal.fleet.unit import description, mangle_name, serialize, unit_hash
from shoal.fleetctl.context import Ctl
from shoal.fleetctl.output import columns, machine_full_legend, table


def list_unit_files(ctl: Ctl) -> int:
    full = bool(ctl.inv.get("full"))

    def target(u: Unit) -> str:
        if u.is_global:
            return "global"
        if not u.machine_id:
            return "-"
        return machine_full_legend(ctl.machine_or_bare(u.machine_id), full)

    def hash_(u: Unit) -> str:
        h = unit_hash(u.options)
        return h if full else h[:7]

    fields: dict[str, Callable[[Unit], str]] = {
        "unit": lambda u: u.name,
        "global": lambda u: "true" if u.is_global else "false",
        "dstate": lambda u: u.desired_state or "-",
        "target": target,
        "tmachine": target,
        "state": lambda u: "-" if u.is_global else (u.current_state or "-"),
        "hash": hash_,
        "desc": lambda u: description(u.options) or "-",
    }
    cols = columns(ctl, "unit,hash,dstate,state,target", fields)
    if cols is None:
        return 1
    if "tmachine" in cols:
        ctl.stderr('WARNING: The "tmachine" field is deprecated. Use "target" instead')
    try:
        units = ctl.api.units()
    except FleetAPIError as e:
        ctl.stderr(f"Error retrieving list of units from repository: {e}")
        return 1
    table(ctl, cols, [[fields[c](u) for c in cols] for u in units])
    return 0


def cat(ctl: Ctl) -> int:
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
    ctl.out.write(serialize(u.options))
    return 0
