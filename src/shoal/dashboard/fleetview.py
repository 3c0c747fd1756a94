"""fleet as the page shows it: machines with their metadata, units with desired and current
state and machine, `fleetctl why` for a unit that does not run, a unit's journal tail.

Everything comes from fleet's HTTP API v1 (the one fleetctl uses), with shoal's blocking
`FleetClient` run in a worker thread; `why` runs `shoal fleetctl why`, so the page says exactly
what the command says.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from typing import Any

from shoal.fleet.client import FleetAPIError, FleetClient

TIMEOUT = 2.0


@dataclass(slots=True)
class FleetView:
    machines: list[dict[str, Any]] = field(default_factory=list)
    units: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    endpoint: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "machines": self.machines,
            "units": self.units,
            "error": self.error,
            "endpoint": self.endpoint,
        }


def _read(endpoint: str) -> FleetView:
    c = FleetClient(endpoint, timeout=TIMEOUT)
    machines = c.machines()
    units = c.units()
    states = {(s.name, s.machine_id): s for s in c.unit_states()}
    ips = {m.id: m.primary_ip for m in machines}
    view = FleetView(endpoint=endpoint)
    view.machines = [
        {"id": m.id, "ip": m.primary_ip, "metadata": dict(sorted(m.metadata.items()))}
        for m in sorted(machines, key=lambda m: (m.primary_ip, m.id))
    ]
    for u in sorted(units, key=lambda u: u.name):
        s = states.get((u.name, u.machine_id))
        view.units.append(
            {
                "name": u.name,
                "desired": u.desired_state or "inactive",
                "current": u.current_state or "inactive",
                "machine": u.machine_id,
                "machineIP": ips.get(u.machine_id, ""),
                "active": f"{s.active_state}/{s.sub_state}" if s is not None else "",
                "running": s is not None and s.active_state == "active",
            }
        )
    return view


async def read(endpoints: list[str]) -> FleetView:
    """The view from the first endpoint whose API answers."""
    errors = []
    for ep in endpoints:
        try:
            return await asyncio.to_thread(_read, ep)
        except (FleetAPIError, OSError) as e:
            errors.append(str(e))
    return FleetView(error=errors[-1] if errors else "no fleet endpoint")


async def journal(endpoints: list[str], unit: str, lines: int = 20) -> list[str]:
    """The last `lines` of the unit's journal, from the first API that has it loaded."""
    last = ""
    for ep in endpoints:
        try:
            got = await asyncio.to_thread(FleetClient(ep, timeout=TIMEOUT).journal, unit, lines)
        except (FleetAPIError, OSError) as e:
            last = str(e)
            continue
        if got:
            return got
    return [f"(no journal for {unit}{': ' + last if last else ''})"]


async def why(endpoint: str, unit: str) -> str:
    """`fleetctl why UNIT`'s output (shoal's fleetctl), or its error."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shoal.cli", "fleetctl", "--endpoint", endpoint, "why", unit,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    return out.decode(errors="replace")
