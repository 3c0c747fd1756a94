"""`fleetctl journal [--lines N] [--follow] UNIT`: a unit's journal (fleetctl/journal.go).

shoal first asks the fleet API it talks to (its `shoal/journal` extension answers for units on
its own machine). For a unit on another machine it does what fleet did: it runs `journalctl
--unit UNIT --no-pager -n N` (`-f` with --follow) on that machine, as `fleetctl ssh` reaches it
(`shoal ssh` to the machine's address).
"""

from __future__ import annotations

import time

from shoal.fleet.client import FleetAPIError
from shoal.fleet.schema import Machine
from shoal.fleetctl.context import Ctl
from shoal.fleetctl.output import machine_full_legend
from shoal.fleetctl.ssh import run_there

FOLLOW_INTERVAL = 1.0  # seconds between two reads of the journal with --follow
FOLLOW_WINDOW = 200  # lines read each time with --follow


def journal(ctl: Ctl) -> int:
    name = ctl.one_unit_name("One unit file must be provided.")
    if name is None:
        return 1
    u = ctl.registered_unit(name, f"Error retrieving unit {name}", f"Unit {name} does not exist.")
    if u is None:
        return 1
    if u.is_global:
        ctl.stderr(f"Unable to retrieve journal of global unit {name}.")
        return 1
    if (u.current_state or "inactive") == "inactive":
        ctl.stderr(f"Unit {name} does not appear to be running.")
        return 1
    try:
        shown = ctl.api.journal(name, int(ctl.inv.get("lines")))
    except FleetAPIError as e:
        if e.code != 404:
            ctl.stderr(f"Error retrieving journal of {name}: {e}")
            return 1
        return _journal_there(ctl, name, ctl.machine_or_bare(u.machine_id))
    for line in shown:
        ctl.stdout(line)
    while ctl.inv.flags.get("follow"):
        time.sleep(FOLLOW_INTERVAL)
        try:
            fresh = ctl.api.journal(name, FOLLOW_WINDOW)
        except FleetAPIError as e:
            ctl.stderr(f"Error retrieving journal of {name}: {e}")
            return 1
        for line in new_lines(shown[-20:], fresh):
            ctl.stdout(line)
        shown = fresh
    return 0


def _journal_there(ctl: Ctl, name: str, machine: Machine) -> int:
    """journalctl run on the unit's machine (fleet's way); when that machine cannot be reached
    so, one line says where the unit runs instead."""
    command = ["journalctl", "--unit", name, "--no-pager", "-n", str(int(ctl.inv.get("lines")))]
    if ctl.inv.flags.get("follow"):
        command.append("-f")
    rc, failure = run_there(ctl, machine, command)
    if not failure:
        return rc
    ctl.stderr(
        f"Unit {name} runs on {machine_full_legend(machine, True)}, not on the machine behind "
        f"{ctl.inv.get('endpoint')}, and its journal could not be read there ({failure}); "
        "point --endpoint at that machine's fleet API."
    )
    return 1


def new_lines(seen_tail: list[str], fresh: list[str]) -> list[str]:
    """The lines of `fresh` after the last ones already printed (`seen_tail`)."""
    if not seen_tail:
        return fresh
    n = len(seen_tail)
    for start in range(len(fresh) - n, -1, -1):
        if fresh[start : start + n] == seen_tail:
            return fresh[start + n :]
    return fresh  # the printed lines scrolled out of the window: print what there is
