"""`fleetctl why UNIT` (shoal's own): machine by machine, why a unit is or is not scheduled there.

It asks the scheduler's pure `explain` (the very rules the engine applies) about the cluster as
the API shows it, so the answer is the engine's reasoning, not a second copy of it.
"""

from __future__ import annotations

from shoal.fleet import scheduler
from shoal.fleet.client import FleetAPIError
from shoal.fleet.unit import Requirements
from shoal.fleetctl.context import Ctl
from shoal.fleetctl.output import aligned, machine_full_legend, machine_id_legend


def why(ctl: Ctl) -> int:
    name = ctl.one_unit_name("One unit name must be provided")
    if name is None:
        return 1
    try:
        units = ctl.api.units()
        machines = ctl.api.machines()
    except FleetAPIError as e:
        ctl.stderr(f"Error retrieving cluster state: {e}")
        return 1
    jobs: list[scheduler.Job] = []
    globals_: list[scheduler.Job] = []
    for u in units:
        req = Requirements.of(u.name, u.options)
        j = scheduler.Job(u.name, req, u.desired_state or "inactive", u.machine_id)
        (globals_ if req.is_global else jobs).append(j)
    unit = next((u for u in units if u.name == name), None)
    if unit is None:
        ctl.stderr(f"Unit {name} does not exist.")
        return 1
    cluster = scheduler.Cluster(
        [scheduler.Machine(m.id, m.metadata) for m in machines], jobs, globals_
    )
    rows = scheduler.explain(cluster, name)
    where = f" on {machine_id_legend(unit.machine_id, False)}" if unit.machine_id else ""
    ctl.stdout(
        f"Unit {name}: desired {unit.desired_state or 'inactive'}, "
        f"current {unit.current_state or 'inactive'}{where}"
    )
    if not rows:
        ctl.stdout("No machines in the cluster.")
        return 0
    by_id = {m.id: m for m in machines}
    verdicts = [[machine_full_legend(by_id[mid], False), verdict] for mid, verdict in rows]
    aligned(ctl, [["MACHINE", "VERDICT"], *verdicts])
    return 0
