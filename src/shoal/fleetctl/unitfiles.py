"""The units as submitted: `fleetctl list-unit-files` (fleetctl/list_unit_files.go) and
`fleetctl cat` (fleetctl/cat.go)."""

from __future__ import annotations

from collections.abc import Callable

from shoal.fleet.schema import Unit
from shoal.fleet.unit import description, serialize, unit_hash
from shoal.fleetctl.context import Ctl
from shoal.fleetctl.output import list_command, machine_full_legend


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
    return list_command(
        ctl,
        "unit,hash,dstate,state,target",
        fields,
        ctl.api.units,
        "Error retrieving list of units from repository",
        deprecated={"tmachine": "target"},
    )


def cat(ctl: Ctl) -> int:
    name = ctl.one_unit_name("One unit file must be provided")
    if name is None:
        return 1
    u = ctl.registered_unit(name, f"Error retrieving Unit {name}", f"Unit {name} not found")
    if u is None:
        return 1
    ctl.out.write(serialize(u.options))
    return 0
