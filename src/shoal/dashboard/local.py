"""A local cluster (`shoal up`'s directory) as the dashboard knows it: its machines, whether each
machine's node process runs (which says why a member is unreachable), the fleet API of each
machine, and the buttons' actions, which run the same `shoal stop|kill|start|partition|heal
--dir DIR` commands a user types (so the page does nothing the CLI would not)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shoal.cluster.layout import Cluster, Machine, load_cluster
from shoal.cluster.processes import node_pid

ACTIONS = ("stop", "kill", "start", "partition", "heal")
ACTION_TIMEOUT = 120.0


class ActionError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class LocalCluster:
    cluster: Cluster

    @classmethod
    def load(cls, directory: str | None) -> LocalCluster:
        return cls(load_cluster(directory))

    @property
    def endpoints(self) -> list[str]:
        return [m.client_url for m in self.cluster.machines]

    @property
    def fleet_endpoints(self) -> list[str]:
        return [f"unix://{m.fleet_socket}" for m in self.cluster.machines if m.runs_fleet]

    def machine_for(
        self, etcd_name: str, client_urls: Sequence[str], peer_urls: Sequence[str] = ()
    ) -> Machine | None:
        """The machine of a member, by its etcd name, a client URL or a peer URL."""
        for m in self.cluster.machines:
            if (etcd_name and m.etcd_name == etcd_name) or m.client_url in client_urls:
                return m
            if m.peer_url in peer_urls:
                return m
        return None

    def machines_json(self) -> list[dict[str, Any]]:
        return [
            {
                "name": m.name,
                "address": m.address,
                "etcdName": m.etcd_name,
                "clientURL": m.client_url,
                "running": node_pid(m) is not None,
            }
            for m in self.cluster.machines
        ]

    def down_reason(self, m: Machine) -> str | None:
        """Why the machine's member cannot answer, when the machine itself is not running."""
        if node_pid(m) is None:
            return f"machine {m.name} is not running (`shoal start {m.name}` boots it)"
        return None

    async def act(self, action: str, machine: str | None) -> str:
        """Run `shoal ACTION --dir DIR [MACHINE]`; its output, or ActionError with it."""
        if action not in ACTIONS:
            raise ActionError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
        argv = [action, "--dir", str(self.cluster.dir)]
        if action != "heal":
            if not machine:
                raise ActionError(f"{action} needs a machine")
            self.cluster.machine(machine)  # raises ClusterError for an unknown one
            argv.append(machine)
        if action == "start":
            argv.insert(1, "--no-wait")  # the page shows the boot as it happens
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "shoal.cli", *argv,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), ACTION_TIMEOUT)
        text = out.decode(errors="replace").strip()
        if proc.returncode != 0:
            raise ActionError(text or f"shoal {action} failed ({proc.returncode})")
        return text
