"""`shoal fleetctl`: fleet's command line client, talking to a fleetd's HTTP API.

    shoal fleetctl [--endpoint=unix:///var/run/fleet.sock|http://HOST:PORT] COMMAND [UNIT...]

Global flags may also come from FLEETCTL_<FLAG> variables (FLEETCTL_ENDPOINT, ...). Output columns,
tab alignment, messages and exit codes are fleetctl 1.0's (fleetctl/*.go); `why` is shoal's own.
Exit codes: 0 done, 1 an error (bad flags, an API error, a unit not found or not reaching its
state), 2 `--sign` (fleet's deprecated signed units), 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

from shoal.fleet import facts
from shoal.fleet.client import FleetAPIError
from shoal.fleetctl import machines, ssh, status, unitfiles, units, why
from shoal.fleetctl.context import Ctl
from shoal.fleetctl.flags import UsageError, parse_args
from shoal.fleetctl.help import usage
from shoal.fleetctl.journal import journal

EXIT_OK, EXIT_ERROR, EXIT_SIGN, EXIT_INTERRUPTED = 0, 1, 2, 130


def version(ctl: Ctl) -> int:
    ctl.stdout(f"fleetctl version {facts.FLEET_VERSION}")
    return EXIT_OK


COMMANDS: dict[str, Callable[[Ctl], int]] = {
    "cat": unitfiles.cat,
    "destroy": units.destroy,
    "journal": journal,
    "list-machines": machines.list_machines,
    "list-unit-files": unitfiles.list_unit_files,
    "list-units": units.list_units,
    "load": units.load,
    "restart": units.restart,
    "ssh": ssh.ssh,
    "start": units.start,
    "status": status.status,
    "stop": units.stop,
    "submit": units.submit,
    "unload": units.unload,
    "version": version,
    "why": why.why,
}


def main(argv: list[str], env: Mapping[str, str] | None = None) -> int:
    out, err = sys.stdout, sys.stderr
    try:
        inv = parse_args(argv, os.environ if env is None else env)
    except UsageError as e:
        err.write(f"Error: {e}\n")
        return EXIT_ERROR
    if inv.get("version") and not inv.command:
        out.write(f"fleetctl version {facts.FLEET_VERSION}\n")
        return EXIT_OK
    if not inv.command or inv.command == "help" or inv.get("help"):
        out.write(usage())
        return EXIT_OK
    if inv.command not in COMMANDS:
        err.write(f'Error: unknown command "{inv.command}" for "fleetctl"\n')
        return EXIT_ERROR
    if inv.flags.get("sign"):
        err.write("WARNING: The signed/verified units feature is DEPRECATED and cannot be used.\n")
        return EXIT_SIGN
    if inv.get("driver") != "API":
        err.write(
            f'Unable to initialize client: driver "{inv.get("driver")}" is not supported by '
            "shoal; use the API driver (--endpoint)\n"
        )
        return EXIT_ERROR
    if inv.get("tunnel"):
        err.write("Unable to initialize client: --tunnel is not supported by shoal\n")
        return EXIT_ERROR
    try:
        ctl = Ctl(inv, out, err)
    except FleetAPIError as e:
        err.write(f"Unable to initialize client: {e}\n")
        return EXIT_ERROR
    try:
        return COMMANDS[inv.command](ctl)
    except FleetAPIError as e:
        err.write(f"{e}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
