"""`fleetctl ssh MACHINE|UNIT [COMMAND]` (fleetctl/ssh.go).

fleet opened ssh to the machine (by ID prefix, or the one running a unit). shoal's machines are
local: it hands over to `shoal ssh <machine's address> -- COMMAND`, which opens a shell (or runs
the command) "on" that machine, with its etcdctl and fleetctl.
"""

from __future__ import annotations

import os
import subprocess
import sys

from shoal.fleet.client import FleetAPIError
from shoal.fleet.schema import Machine
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


def ssh_argv(ip: str, command: list[str]) -> list[str]:
    """`shoal ssh IP -- COMMAND`: COMMAND run on the shoal machine at IP."""
    return [sys.executable, "-m", "shoal.cli", "ssh", ip, "--", *command]


def run_there(ctl: Ctl, machine: Machine, command: list[str]) -> tuple[int, str]:
    """COMMAND run on `machine` through `shoal ssh`, as fleet ran it over ssh, its output
    copied to stdout line by line (so --follow streams). Returns its exit status, and why it
    could not run ("" if it did; then its stderr was copied too)."""
    if not machine.primary_ip:
        return 1, "the machine has no address"
    with subprocess.Popen(
        ssh_argv(machine.primary_ip, command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        printed = False
        for line in proc.stdout:
            ctl.stdout(line)
            printed = True
        err = proc.stderr.read().strip()
        rc = proc.wait()
    if rc != 0 and not printed:
        # Nothing ran there (no cluster holds that address, or the machine is down).
        return rc, err.splitlines()[-1] if err else f"exit status {rc}"
    if err:
        ctl.stderr(err)
    return rc, ""


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
    argv = ssh_argv(ip, command)
    ctl.out.flush()
    ctl.err.flush()
    os.execv(sys.executable, argv)
    return 0  # not reached
