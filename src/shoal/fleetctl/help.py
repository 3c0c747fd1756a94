"""fleetctl's help screen: its one-line summary of each command (fleetctl/*.go) and the global
options shoal's fleetctl understands."""

from __future__ import annotations

from shoal.fleet import facts

SUMMARIES = {
    "cat": "Output the contents of a submitted unit",
    "destroy": "Destroy one or more units in the cluster",
    "help": "Help about any command",
    "journal": "Print the journal of a unit in the cluster to stdout",
    "list-machines": "Enumerate the current hosts in the cluster",
    "list-unit-files": "List the units that exist in the cluster.",
    "list-units": "List the current state of units in the cluster",
    "load": "Schedule one or more units in the cluster, first submitting them if necessary.",
    "restart": "Instruct systemd to restart one or more units in the cluster.",
    "ssh": "Open interactive shell on a machine in the cluster",
    "start": "Instruct systemd to start one or more units in the cluster, first submitting and "
    "loading if necessary.",
    "status": "Output the status of one or more units in the cluster",
    "stop": "Instruct systemd to stop one or more units in the cluster.",
    "submit": "Upload one or more units to the cluster without starting them",
    "unload": "Unschedule one or more units in the cluster.",
    "version": "Print the version and exit",
    "why": "Explain, machine by machine, why a unit is or is not scheduled there (shoal)",
}


def usage() -> str:
    width = max(len(n) for n in SUMMARIES)
    lines = [
        "NAME:",
        "\tfleetctl - fleetctl is a command-line interface to fleet, the cluster-wide CoreOS "
        "init system.",
        "",
        "USAGE:",
        "\tshoal fleetctl [global options] <command> [command options] [arguments...]",
        "",
        "COMMANDS:",
    ]
    lines += [f"\t{n:<{width}}  {s}" for n, s in sorted(SUMMARIES.items())]
    lines += [
        "",
        "GLOBAL OPTIONS:",
        f"\t--endpoint={facts.DEFAULT_ENDPOINT}  Location of the fleet API (unix:// or http://)",
        "\t--request-timeout=3  Amount of time in seconds to allow a single request",
        "\t--ca-file, --cert-file, --key-file  TLS files for an https:// endpoint",
        "\tEach global option may also be set as FLEETCTL_<OPTION> (FLEETCTL_ENDPOINT, ...).",
    ]
    return "\n".join(lines) + "\n"
