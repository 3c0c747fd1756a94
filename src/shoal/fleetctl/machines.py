"""`fleetctl list-machines`: the machines in the cluster (fleetctl/list_machines.go)."""

from __future__ import annotations

from collections.abc import Callable

from shoal.fleet.schema import Machine
from shoal.fleetctl.context import Ctl
from shoal.fleetctl.output import format_metadata, list_command, machine_id_legend


def list_machines(ctl: Ctl) -> int:
    full = bool(ctl.inv.get("full"))
    fields: dict[str, Callable[[Machine], str]] = {
        "machine": lambda m: machine_id_legend(m.id, full),
        "ip": lambda m: m.primary_ip or "-",
        "metadata": lambda m: format_metadata(m.metadata) or "-",
    }
    # The failure is the line the seed shows when quorum is lost.
    failure = "Error retrieving list of active machines"
    return list_command(ctl, "machine,ip,metadata", fields, ctl.api.machines, failure)
