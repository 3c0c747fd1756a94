"""The engine: one fleetd at a time, elected through a lease in etcd, places units on machines.

Lease (pkg/lease/etcd.go): `lease/engine-leader`, TTL = 5 x engine_reconcile_interval, taken with
prevExist=false and renewed by compare-and-swap on its index; a round is only run while the lease
is held. Rounds (engine/reconciler.go) run at start, every interval, and on every change the watch
mirror sees; each round is `scheduler.plan` on the mirror's snapshot, written with fleet's
conditional writes, so a stale snapshot can make a round useless but never wrong.

shoal, against fleet's reschedule storms: after the engine (re)gains contact with etcd it does not
act on absent machines for a settling period (agent_ttl), so machines whose keys expired
during an etcd outage can re-register before their units are moved; and the engine removes the
unit states and job-states that vanished machines left behind (they carry no TTL here).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from shoal.fleet import facts
from shoal.fleet.etcdv2 import EtcdError, EtcdUnavailable
from shoal.fleet.metrics import MACHINE_AWAY, RUN_FAILURE, FleetMetrics
from shoal.fleet.mirror import Mirror
from shoal.fleet.registry import Keyspace, Registry
from shoal.fleet.scheduler import Cluster, Job, Machine, Task, plan

log = logging.getLogger("shoal.fleet.engine")

# A round is bounded so it ends well within the lease TTL; the rest waits for the next round.
MAX_TASKS_PER_ROUND = 200
WRITES_IN_FLIGHT = 16


def cluster_of(ks: Keyspace) -> Cluster:
    """The scheduler's input from a registry snapshot."""
    machines = [Machine(m.id, dict(m.metadata)) for m in ks.machines.values()]
    jobs: list[Job] = []
    globals_: list[Job] = []
    for u in ks.units():
        j = Job(u.name, u.requirements, u.target_state, ks.jobs[u.name].target)
        (globals_ if u.requirements.is_global else jobs).append(j)
    return Cluster(machines, jobs, globals_)


class Engine:
    def __init__(
        self,
        registry: Registry,
        mirror: Mirror,
        machine_id: str,
        interval: float,
        settle: float,
        metrics: FleetMetrics | None = None,
    ) -> None:
        self.registry = registry
        self.mirror = mirror
        self.machine_id = machine_id
        self.interval = interval
        self.settle = settle
        self.lease_ttl = facts.ENGINE_LEASE_INTERVALS * interval
        self.lease_index: int | None = None
        self._renewed_at = 0.0
        self._healthy_since: float | None = None
        self._lost_contact = False
        self.rounds = 0
        self.stopping = False
        self.metrics = metrics if metrics is not None else FleetMetrics()

    @property
    def leader(self) -> bool:
        return self.lease_index is not None

    async def _hold_lease(self, ks: Keyspace) -> None:
        loop = asyncio.get_running_loop()
        if self.lease_index is not None:
            # Renewing at a third of the TTL leaves two chances before it lapses, and spares every
            # watcher an event per interval.
            if loop.time() - self._renewed_at < self.lease_ttl / 3:
                return
            self.lease_index = await self.registry.renew_lease(
                self.machine_id, self.lease_ttl, self.lease_index
            )
            if self.lease_index is None:
                log.info("engine lease lost")
        elif ks.lease is None:
            self.lease_index = await self.registry.acquire_lease(self.machine_id, self.lease_ttl)
            if self.lease_index is not None:
                self.metrics.leader_start_time = time.time()
                log.info("engine lease acquired by %s", self.machine_id)
        if self.lease_index is not None:
            self._renewed_at = loop.time()

    def _settling(self) -> bool:
        loop = asyncio.get_running_loop()
        return self._healthy_since is None or loop.time() - self._healthy_since < self.settle

    async def round(self) -> list[Task]:
        """One reconcile round (assumes the lease is held). Returns the tasks it carried out."""
        ks = self.mirror.keyspace()
        cluster = cluster_of(ks)
        if self._settling() and any(j.target and j.target not in ks.machines for j in cluster.jobs):
            self.metrics.reconcile_failed(MACHINE_AWAY)
            return []  # a machine may be absent only because etcd was: give it time to return
        started = time.perf_counter()
        tasks = plan(cluster)[:MAX_TASKS_PER_ROUND]
        # A job's own tasks (unschedule, then schedule elsewhere) stay in order; different jobs'
        # writes go out together, so placing hundreds of units is not one write at a time.
        by_job: dict[str, list[Task]] = {}
        for t in tasks:
            by_job.setdefault(t.job, []).append(t)
        gate = asyncio.Semaphore(WRITES_IN_FLIGHT)

        async def carry_out(job_tasks: list[Task]) -> None:
            async with gate:
                for t in job_tasks:
                    if t.kind == "unschedule":
                        await self.registry.unschedule_unit(t.job, t.machine)
                    elif not await self.registry.schedule_unit(t.job, t.machine):
                        self.metrics.task(t.kind, ok=False)
                        log.info("scheduling %s lost a race; next round", t.job)
                        return
                    self.metrics.task(t.kind)
                    log.info("engine: %s %s on %s: %s", t.kind, t.job, t.machine, t.reason)

        await asyncio.gather(*(carry_out(ts) for ts in by_job.values()))
        if tasks:
            # Our own writes must be in the snapshot before the next round plans on it.
            last_index = (await self.registry.keys.get(self.registry.prefix)).etcd_index
            await self.mirror.wait_index(last_index, self.interval)
        await self._collect_garbage(ks)
        self.rounds += 1
        self.metrics.reconciled(time.perf_counter() - started)
        return tasks

    async def _collect_garbage(self, ks: Keyspace) -> None:
        if self._settling():
            return
        for name, mid in list(ks.states):
            if mid not in ks.machines or name not in ks.jobs:
                await self.registry.remove_unit_state(name, mid)
        for name, j in ks.jobs.items():
            if j.heartbeat and j.heartbeat not in ks.machines:
                await self.registry.clear_heartbeat(name, j.heartbeat)

    async def run(self) -> None:
        """Until cancelled: wait for a change or a tick, hold the lease, reconcile."""
        loop = asyncio.get_running_loop()
        await self.mirror.ready.wait()
        seen = -1
        pause = 0.05
        while not self.stopping:
            await self.mirror.wait_change(seen, self.interval)
            await asyncio.sleep(pause)  # let a burst of events land in one round
            seen = self.mirror.version
            if not self.mirror.healthy:
                self._healthy_since = None
                self._lost_contact = True
                await asyncio.sleep(0.5)
                continue
            if self._healthy_since is None:
                # Settle only after a loss of contact; at first start absent machines are gone.
                start = loop.time()
                self._healthy_since = start if self._lost_contact else start - self.settle
            started = loop.time()
            try:
                await self._hold_lease(self.mirror.keyspace())
                if self.leader:
                    await asyncio.wait_for(self.round(), self.lease_ttl)
            except (EtcdUnavailable, EtcdError, TimeoutError) as e:
                self.metrics.reconcile_failed(RUN_FAILURE)
                log.warning("engine round aborted: %s", e)
                self._healthy_since = None
                self._lost_contact = True
                await asyncio.sleep(0.5)
            pause = max(0.05, loop.time() - started)

    async def release(self) -> None:
        if self.lease_index is not None:
            with contextlib.suppress(EtcdUnavailable, EtcdError):
                await self.registry.release_lease(self.lease_index)
            self.lease_index = None
