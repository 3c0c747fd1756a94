"""`fleetctl list-machines`: the machines in the cluster (fleetctl/list_machines.go)."""

from __future__ import annotations

from collections.abc import Callable

from shoal.fleet.client import FleetAPIError
from shoal.fleet.schema import Machine
from shoal.fleetctl.context import Ctl
from shoal.fleetctl.output import columns, format_metadata, machine_id_legend, table


def list_machines(ctl: Ctl) -> int:
    full = bool(ctl.inv.get("full"))
    fields: dict[str, Callable[[Machine], str]] = {
        "machine": lambda m: machine_id_legend(m.id, full),
        "ip": lambda m: m.primary_ip or "-",
        "metadata": lambda m: format_metadata(m.metadata) or "-",
    }
    cols = columns(ctl, "machine,ip,metadata", fields)
    if cols is None:
        return 1
    try:
        machines = ctl.api.machines()
    except FleetAPIError as e:
        # The line the seed shows when quorum is lost.
        ctl.stderr(f"Error retrieving list of active machines: {e}")
        return 1
    table(ctl, cols, [[fields[c](m) for c in cols] for m in machines])
    return 0
