"""`fleetctl ssh MACHINE|UNIT [COMMAND]` (fleetctl/ssh.go).

fleet opened ssh to the machine (by ID prefix, or the one running a unit). shoal's machines are
local: it hands over to `shoal ssh <machine's address> -- COMMAND`, which opens a shell (or runs
the command) "on" that machine, with its etcdctl and fleetctl.
"""

from __future__ import annotations

import os
import sys

from shoal.fleet.client import FleetAPIError
from shoal.fleet.unit import mangle_name
from shoal.fleetctl.context import Ctl


def _address(ctl: Ctl, target: str, by_unit: bool) -> str | None:
    """The IP of the machine `target` names (an ID prefix, else a unit running there); None
    once a message says why there is none to pick."""
    machines = ctl.api.machines()
    found = [m for m in machines if m.id.startswith(target)]
    if found and not by_unit:
        if len(found) > 1:
            ctl.stderr(f"Found more than one Machine, be more specific: {target}")
            return None
        return found[0].primary_ip
    state = ctl.api.unit_state(mangle_name(target))
    mid = state.machine_id if state is not None else ""
    if not mid:
        ctl.stderr(f"Unit {mangle_name(target)} does not appear to be running.")
        return None
    return next((m.primary_ip for m in machines if m.id == mid), "")


def ssh(ctl: Ctl) -> int:
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
        ip = _address(ctl, target, bool(by_unit))
    except FleetAPIError as e:
        ctl.stderr(f"Error retrieving list of active machines: {e}")
        return 1
    if ip is None:
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
