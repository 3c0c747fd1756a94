"""The agent: this machine's presence in etcd, and running what the engine scheduled here.

Presence (heart/heart.go): `machines/<id>/object` with TTL agent_ttl, first written with
prevExist=false so a duplicate machine ID is refused (the API then keeps answering 503), then
refreshed every ttl/2. If etcd is unreachable the agent keeps its units running and retries every
second; only when its key has really expired does the engine move its units.

Reconciliation (agent/reconcile.go): desired = units whose target is this machine (and whose
desired state is not inactive) plus the global units whose metadata matches; per unit the tasks
are unload / load / start / stop, where a changed unit hash means unload + load (+ start). The
agent's input is the watch mirror, so a change costs no extra read of etcd.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable

from shoal.fleet import facts
from shoal.fleet.etcdv2 import ERR_NODE_EXIST, EtcdError, EtcdUnavailable
from shoal.fleet.mirror import Mirror
from shoal.fleet.registry import Keyspace, MachineState, Registry, UnitState
from shoal.fleet.runner import UnitRunner
from shoal.fleet.scheduler import Job, Machine, global_units_for
from shoal.fleet.unit import Unit

log = logging.getLogger("shoal.fleet.agent")

RETRY = 1.0  # seconds between attempts while etcd is unreachable
REWRITE_AFTER = 3.0  # a write the mirror has not shown after this long is made again
DEBOUNCE = 0.2  # coalesce bursts of watch events into one reconcile
WRITES_IN_FLIGHT = 16


class Agent:
    def __init__(
        self,
        registry: Registry,
        mirror: Mirror,
        runner: UnitRunner,
        machine: MachineState,
        ttl: float,
    ) -> None:
        self.registry = registry
        self.mirror = mirror
        self.runner = runner
        self.machine = machine
        self.ttl = ttl
        self.registered = asyncio.Event()
        self.duplicate = False  # another fleetd holds this machine ID
        self.loaded_hash: dict[str, str] = {}
        self.launched: set[str] = set()
        self._kick = asyncio.Event()
        self._written: dict[str, tuple[object, float]] = {}
        self.stopping = False
        runner.set_listener(self._kick.set)

    @property
    def id(self) -> str:
        return self.machine.id

    # ---- presence ------------------------------------------------------------------------------

    async def heart(self) -> None:
        """Register, then beat every ttl/2 until cancelled."""
        while not self.registered.is_set():
            try:
                await self.registry.create_machine(self.machine, self.ttl)
                self.duplicate = False
                self.registered.set()
                log.info("registered machine %s", self.id)
            except EtcdError as e:
                if e.code != ERR_NODE_EXIST:
                    raise
                if not self.duplicate:
                    log.error("machine ID %s is already registered by another fleetd", self.id)
                self.duplicate = True
                await asyncio.sleep(min(self.ttl / 2, 5.0))
            except EtcdUnavailable as e:
                log.warning("cannot register with etcd yet: %s", e)
                await asyncio.sleep(RETRY)
        while not self.stopping:
            await asyncio.sleep(self.ttl / 2)
            while not self.stopping:
                try:
                    await self.registry.refresh_machine(self.machine, self.ttl)
                    break
                except (EtcdUnavailable, EtcdError) as e:
                    log.warning("heartbeat failed, retrying: %s", e)
                    await asyncio.sleep(RETRY)

    # ---- reconciliation ------------------------------------------------------------------------

    def desired(self, ks: Keyspace) -> dict[str, Unit]:
        want: dict[str, Unit] = {}
        globals_: list[Unit] = []
        for u in ks.units():
            if u.requirements.is_global:
                globals_.append(u)
                continue
            j = ks.jobs[u.name]
            if j.target == self.id and u.target_state != facts.STATE_INACTIVE:
                want[u.name] = u
        if globals_:
            ms = ks.machines.get(self.id, self.machine)
            me = Machine(self.id, ms.metadata)
            local = {n: u.requirements for n, u in want.items()}
            jobs = [Job(g.name, g.requirements, g.target_state) for g in globals_]
            by_name = {g.name: g for g in globals_}
            for name in global_units_for(me, jobs, local):
                want[name] = by_name[name]
        return want

    async def reconcile_once(self) -> None:
        ks = self.mirror.keyspace()
        want = self.desired(ks)
        for name in sorted(set(want) | set(self.loaded_hash)):
            try:
                await self._reconcile_unit(name, want.get(name))
            except Exception:  # one unit's failure must not stop the others
                log.exception("reconciling %s failed", name)
        await self.publish(ks)

    async def _reconcile_unit(self, name: str, unit: Unit | None) -> None:
        have = self.loaded_hash.get(name)
        if unit is None:
            if have is not None:
                log.info("unloading %s: no longer scheduled here", name)
                await self.runner.unload(name)
                self.loaded_hash.pop(name, None)
                self.launched.discard(name)
            return
        if have is not None and have != unit.hash:
            log.info("unloading %s: unit hash changed", name)
            await self.runner.unload(name)
            self.loaded_hash.pop(name, None)
            self.launched.discard(name)
            have = None
        if have is None:
            await self.runner.load(name, unit.text)
            self.loaded_hash[name] = unit.hash
        if unit.target_state == facts.STATE_LAUNCHED and name not in self.launched:
            await self.runner.start(name)
            self.launched.add(name)
        elif unit.target_state == facts.STATE_LOADED and name in self.launched:
            await self.runner.stop(name)
            self.launched.discard(name)

    def _should_write(self, key: str, value: object) -> bool:
        last = self._written.get(key)
        return last is None or last[0] != value or time.monotonic() - last[1] > REWRITE_AFTER

    def _wrote(self, key: str, value: object) -> None:
        self._written[key] = (value, time.monotonic())

    async def publish(self, ks: Keyspace) -> None:
        """Make the registry show this machine's unit states and launched units (writes only what
        differs from what the mirror shows; independent writes go out together)."""
        writes: list[Awaitable[None]] = []

        def write(key: str, value: object, op: Awaitable[None]) -> None:
            writes.append(op)
            self._wrote(key, value)

        loaded = set(self.loaded_hash)
        for name in sorted(loaded):
            status = self.runner.status(name)
            if status is None:
                continue
            st = UnitState(
                name,
                self.id,
                status.load_state,
                status.active_state,
                status.sub_state,
                self.loaded_hash[name],
                status.load_error,
            )
            key = f"state/{name}"
            if ks.states.get((name, self.id)) != st and self._should_write(key, st):
                write(key, st, self.registry.save_unit_state(st))
            j = ks.jobs.get(name)
            if j is None or j.target != self.id:
                continue  # global units have no target and no job-state
            hb = f"hb/{name}"
            if name in self.launched and j.heartbeat != self.id and self._should_write(hb, 1):
                write(hb, 1, self.registry.set_heartbeat(name, self.id))
        for name, mid in list(ks.states):
            key = f"state/{name}"
            if mid == self.id and name not in loaded and self._should_write(key, None):
                write(key, None, self.registry.remove_unit_state(name, self.id))
        for name, j in ks.jobs.items():
            stale = j.heartbeat == self.id and name not in self.launched
            if stale and self._should_write(f"hb/{name}", 0):
                write(f"hb/{name}", 0, self.registry.clear_heartbeat(name, self.id))
        gate = asyncio.Semaphore(WRITES_IN_FLIGHT)

        async def bounded(op: Awaitable[None]) -> None:
            async with gate:
                await op

        results = await asyncio.gather(*(bounded(w) for w in writes), return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r

    async def run(self) -> None:
        """Reconcile on every mirror change, runner change, and every 5 s, until cancelled."""
        await self.mirror.ready.wait()
        await self.registered.wait()
        seen = -1
        pause = DEBOUNCE
        while not self.stopping:
            kick = asyncio.create_task(self._kick.wait())
            change = asyncio.create_task(
                self.mirror.wait_change(seen, facts.AGENT_RECONCILE_INTERVAL)
            )
            try:
                await asyncio.wait({kick, change}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                kick.cancel()
                change.cancel()
            self._kick.clear()
            await asyncio.sleep(pause)
            seen = self.mirror.version
            started = time.monotonic()
            try:
                await self.reconcile_once()
            except (EtcdUnavailable, EtcdError) as e:
                # Units keep running as they are; the next round tries again.
                log.warning("reconcile deferred, etcd unavailable: %s", e)
                await asyncio.sleep(RETRY)
            # Coalesce bursts of events: the busier the rounds, the more events each one takes
            # in (at most about a third of the time goes to reconciling).
            pause = max(DEBOUNCE, 2 * (time.monotonic() - started))

    async def shutdown(self) -> None:
        """Clean stop: stop and unload every unit, drop our states, delete our machine key, so the
        engine reschedules our units at once instead of after the TTL."""
        self.stopping = True
        names = list(self.loaded_hash)
        await asyncio.gather(*(self.runner.unload(n) for n in names), return_exceptions=True)
        self.loaded_hash.clear()
        self.launched.clear()
        if not self.registered.is_set():
            return
        with contextlib.suppress(EtcdUnavailable, EtcdError):
            ks = self.mirror.keyspace()
            for name, mid in list(ks.states):
                if mid == self.id:
                    await self.registry.remove_unit_state(name, self.id)
            for name, j in ks.jobs.items():
                if j.heartbeat == self.id:
                    await self.registry.clear_heartbeat(name, self.id)
            await self.registry.remove_machine(self.id)
