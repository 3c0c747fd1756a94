"""`fleetctl status UNIT...`: a unit's state on its machine (fleetctl/status.go).

As fleet did over ssh, `systemctl status -l UNIT` runs on the unit's machine (through `shoal
ssh`, as `fleetctl ssh` reaches it), so the answer is that machine's: Main PID, the description
with its specifiers filled in, the last journal lines. When the machine cannot be reached so,
the header lines come from the fleet API's record instead, and a line says why.
"""

from __future__ import annotations

from shoal.fleet import facts
from shoal.fleet.client import FleetAPIError
from shoal.fleet.schema import Unit, UnitState
from shoal.fleet.unit import description, expand_specifiers, mangle_name
from shoal.fleetctl.context import Ctl
from shoal.fleetctl.output import machine_full_legend
from shoal.fleetctl.ssh import run_there


def status(ctl: Ctl) -> int:
    rc = 0
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
        m = ctl.machine_or_bare(u.machine_id)
        code, failure = run_there(ctl, m, ["systemctl", "status", "-l", name])
        if failure:
            _from_the_record(ctl, u, st)
            ctl.stderr(f"(systemctl status could not run on that machine: {failure})")
        elif code:
            rc = code  # systemctl's own status (3: not running), as fleetctl passes it on
    return rc


def _from_the_record(ctl: Ctl, u: Unit, st: UnitState) -> None:
    """systemctl status's header lines rebuilt from what fleet's registry holds."""
    name = u.name
    desc = expand_specifiers(description(u.options), name)
    dot = "●" if st.active_state in ("active", "failed") else "○"
    m = ctl.machine_or_bare(u.machine_id)
    loaded = f"({facts.DEFAULT_UNITS_DIRECTORY}{name}; linked-runtime)"
    if st.load_error:
        loaded = f"(Reason: {st.load_error})"
    ctl.out.write(
        f"{dot} {name}" + (f" - {desc}" if desc else "") + "\n"
        f"   Loaded: {st.load_state} {loaded}\n"
        f"   Active: {st.active_state} ({st.sub_state})\n"
        f"  Machine: {machine_full_legend(m, True)}\n"
    )
