"""`fleetctl status`: a unit's state on its machine (fleetctl/status.go)."""

from __future__ import annotations

from shoal.fleet import facts
from shoal.fleet.client import FleetAPIError
from shoal.fleet.unit import description, mangle_name
from shoal.fleetctl.context import Ctl
from shoal.fleetctl.output import machine_full_legend


def status(ctl: Ctl) -> int:
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
        if u.is_global:
            ctl.stderr(f"Unit {name} is global: status is shown per machine by list-units.")
            continue
        if (u.current_state or "inactive") == "inactive" or st is None:
            ctl.stderr(f"Unit {name} does not appear to be loaded.")
            return 1
        if i:
            ctl.out.write("\n")
        desc = description(u.options)
        dot = "●" if st.active_state in ("active", "failed") else "○"
        m = ctl.machine_or_bare(u.machine_id)
        ctl.out.write(
            f"{dot} {name}" + (f" - {desc}" if desc else "") + "\n"
            f"   Loaded: {st.load_state} "
            f"({facts.DEFAULT_UNITS_DIRECTORY}{name}; linked-runtime)\n"
            f"   Active: {st.active_state} ({st.sub_state})\n"
            f"  Machine: {machine_full_legend(m, True)}\n"
        )
    return 0
