"""fleet's registry: every read and write fleet makes in etcd, through the v2 keys API only.

The key layout and the typed records it reads into are `keyspace`'s; the records are re-exported
here for the modules that take them from the registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Protocol

from shoal.fleet import facts
from shoal.fleet.etcdv2 import (
    ERR_KEY_NOT_FOUND,
    ERR_NODE_EXIST,
    ERR_TEST_FAILED,
    EtcdError,
    EtcdUnavailable,
    EtcdV2,
    Response,
)
from shoal.fleet.keyspace import (
    JobRecord,
    Keyspace,
    KeyspaceBuilder,
    Lease,
    MachineState,
    UnitState,
    job_object_value,
    lease_value,
    parse_keyspace,
    unit_file_options,
    unit_file_value,
)
from shoal.fleet.metrics import GET, GET_ALL, SET, FleetMetrics
from shoal.fleet.unit import Unit

__all__ = [
    "EtcdError",
    "EtcdUnavailable",
    "EtcdV2",
    "JobRecord",
    "KeysAPI",
    "Keyspace",
    "KeyspaceBuilder",
    "Lease",
    "MachineState",
    "Registry",
    "UnitState",
    "parse_keyspace",
]


class KeysAPI(Protocol):
    """The etcd v2 calls fleet makes; `etcdv2.EtcdV2` implements it."""

    timeout: float

    async def get(
        self, key: str, recursive: bool = False, sort: bool = False, quorum: bool = False
    ) -> Response: ...

    async def set(
        self,
        key: str,
        value: str,
        ttl: float | None = None,
        prev_exist: bool | None = None,
        prev_index: int | None = None,
        prev_value: str | None = None,
    ) -> Response: ...

    async def delete(
        self,
        key: str,
        recursive: bool = False,
        prev_index: int | None = None,
        prev_value: str | None = None,
    ) -> Response: ...

    async def refresh(self, key: str, ttl: float, prev_index: int | None = None) -> Response: ...

    def watch_stream(self, key: str, wait_index: int) -> AsyncIterator[Response]: ...


class Registry:
    """All of fleet's reads and writes, through the etcd v2 keys API only."""

    def __init__(
        self,
        keys: KeysAPI,
        prefix: str = facts.DEFAULT_KEY_PREFIX,
        metrics: FleetMetrics | None = None,
    ) -> None:
        self.metrics = metrics if metrics is not None else FleetMetrics()
        self.keys = keys
        self.prefix = "/" + prefix.strip("/")

    def key(self, *parts: str) -> str:
        return "/".join((self.prefix, *parts))

    async def _subtree(self, path: str, quorum: bool) -> tuple[dict[str, str], int]:
        try:
            resp = await self.keys.get(path, recursive=True, quorum=quorum)
        except EtcdError as e:
            if e.code == ERR_KEY_NOT_FOUND:
                return {}, e.index
            raise
        return {n.key: n.value or "" for n in resp.node.leaves() if not n.dir}, resp.etcd_index

    async def read(self, *dirs: str, quorum: bool = True) -> Keyspace:
        """The keyspace, or only the named subtrees of it (e.g. "states", "machines"), each in one
        recursive GET. quorum=True goes through raft, so it fails (EtcdUnavailable) when the
        cluster has lost quorum rather than answering stale data."""
        async with self._op(GET_ALL):
            return await self._read(dirs, quorum)

    async def _read(self, dirs: tuple[str, ...], quorum: bool) -> Keyspace:
        paths = [self.key(d) for d in dirs] if dirs else [self.prefix]
        parts = await asyncio.gather(*(self._subtree(p, quorum) for p in paths))
        flat: dict[str, str] = {}
        for sub, _ in parts:
            flat.update(sub)
        return parse_keyspace(flat, self.prefix, max(i for _, i in parts))

    async def read_unit(self, name: str, with_state: bool = True) -> Keyspace:
        """Just what one unit's API entity needs: its job, its unit file and (with_state) its
        states and the machines; a few small reads instead of the whole registry."""
        dirs = [f"{facts.JOB_DIR}/{name}"]
        if with_state:
            dirs += [f"{facts.STATES_DIR}/{name}", facts.MACHINES_DIR]
        # Not a quorum read: each costs a raft round (and a WAL fsync) and fleetctl polls a
        # unit many times; reads through the same member still see that member's writes.
        async with self._op(GET):
            return await self._read_unit(name, dirs)

    async def _read_unit(self, name: str, dirs: list[str]) -> Keyspace:
        ks = await self._read(tuple(dirs), quorum=False)
        j = ks.jobs.get(name)
        if j is not None and j.unit_hash:
            sub, _ = await self._subtree(self.key(facts.UNIT_DIR, j.unit_hash), quorum=False)
            for raw in sub.values():
                opts = unit_file_options(raw)
                if opts is not None:
                    ks.unit_files[j.unit_hash] = opts
        return ks

    # machines

    async def create_machine(self, ms: MachineState, ttl: float) -> int:
        """First registration: refuses (EtcdError 105) when the ID is already present."""
        r = await self.keys.set(
            self.key(facts.MACHINES_DIR, ms.id, "object"), ms.to_json(), ttl=ttl, prev_exist=False
        )
        return r.node.modified_index

    async def refresh_machine(self, ms: MachineState, ttl: float) -> int:
        """Heartbeat: reset the key's TTL, or re-create it after it expired (registry/machine.go).

        shoal refreshes with etcd's refresh=true, which does not wake watchers: fleet rewrote the
        object, so every beat of every machine woke every fleetd."""
        key = self.key(facts.MACHINES_DIR, ms.id, "object")
        try:
            r = await self.keys.refresh(key, ttl)
        except EtcdError as e:
            if e.code == ERR_KEY_NOT_FOUND:
                r = await self.keys.set(key, ms.to_json(), ttl=ttl, prev_exist=False)
            else:  # a server without TTL refresh: rewrite the value as fleet did
                r = await self.keys.set(key, ms.to_json(), ttl=ttl, prev_exist=True)
        return r.node.modified_index

    async def remove_machine(self, machine_id: str) -> None:
        await self._delete_quietly(self.key(facts.MACHINES_DIR, machine_id, "object"))

    async def set_machine_metadata(self, machine_id: str, key: str, value: str) -> None:
        await self.keys.set(self.key(facts.MACHINES_DIR, machine_id, "metadata", key), value)

    async def delete_machine_metadata(self, machine_id: str, key: str) -> None:
        # fleet writes "" rather than deleting, so a configured value stays hidden (mergeMetadata).
        await self.set_machine_metadata(machine_id, key, "")

    # units

    @contextlib.asynccontextmanager
    async def _op(self, op: str) -> AsyncIterator[None]:
        """Count a registry operation as fleet's registry does (fleet_registry_*)."""
        started = time.perf_counter()
        try:
            yield
        except BaseException:
            self.metrics.registry_op(op, None)
            raise
        self.metrics.registry_op(op, time.perf_counter() - started)

    async def create_unit(self, unit: Unit) -> None:
        async with self._op(SET):
            await self._create_unit(unit)

    async def _create_unit(self, unit: Unit) -> None:
        try:
            await self.keys.set(
                self.key(facts.UNIT_DIR, unit.hash), unit_file_value(unit), prev_exist=False
            )
        except EtcdError as e:
            if e.code != ERR_NODE_EXIST:
                raise
        await self.keys.set(self.key(facts.JOB_DIR, unit.name, "object"), job_object_value(unit))
        await self.set_target_state(unit.name, unit.target_state)

    async def set_target_state(self, name: str, state: str) -> None:
        await self.keys.set(self.key(facts.JOB_DIR, name, "target-state"), state)

    async def destroy_unit(self, name: str) -> bool:
        """False when the unit did not exist."""
        try:
            await self.keys.delete(self.key(facts.JOB_DIR, name), recursive=True)
        except EtcdError as e:
            if e.code == ERR_KEY_NOT_FOUND:
                return False
            raise
        return True

    async def schedule_unit(self, name: str, machine_id: str) -> bool:
        """Set the target only if unset (prevExist=false): two engines can never both win."""
        try:
            await self.keys.set(
                self.key(facts.JOB_DIR, name, "target"), machine_id, prev_exist=False
            )
        except EtcdError as e:
            if e.code == ERR_NODE_EXIST:
                return False
            raise
        return True

    async def unschedule_unit(self, name: str, machine_id: str) -> None:
        """Remove the target only if it still names that machine (prevValue)."""
        await self._delete_quietly(self.key(facts.JOB_DIR, name, "target"), prev_value=machine_id)

    async def set_heartbeat(self, name: str, machine_id: str) -> None:
        await self.keys.set(self.key(facts.JOB_DIR, name, "job-state"), machine_id)

    async def clear_heartbeat(self, name: str, machine_id: str) -> None:
        await self._delete_quietly(
            self.key(facts.JOB_DIR, name, "job-state"), prev_value=machine_id
        )

    # unit states

    async def save_unit_state(self, st: UnitState) -> None:
        await self.keys.set(self.key(facts.STATES_DIR, st.name, st.machine_id), st.to_json())

    async def remove_unit_state(self, name: str, machine_id: str) -> None:
        await self._delete_quietly(self.key(facts.STATES_DIR, name, machine_id))

    # engine lease (pkg/lease/etcd.go)

    async def acquire_lease(self, machine_id: str, ttl: float) -> int | None:
        """The lease's index when acquired, None when someone else holds it."""
        key = self.key(facts.LEASE_DIR, facts.ENGINE_LEASE_NAME)
        try:
            r = await self.keys.set(key, lease_value(machine_id), ttl=ttl, prev_exist=False)
        except EtcdError as e:
            if e.code == ERR_NODE_EXIST:
                return None
            raise
        return r.node.modified_index

    async def renew_lease(self, machine_id: str, ttl: float, index: int) -> int | None:
        """Compare-and-swap on the index we hold (a TTL refresh, which wakes no watcher); None
        when the lease was lost."""
        key = self.key(facts.LEASE_DIR, facts.ENGINE_LEASE_NAME)
        try:
            try:
                r = await self.keys.refresh(key, ttl, prev_index=index)
            except EtcdError as e:
                if e.code in (ERR_TEST_FAILED, ERR_KEY_NOT_FOUND):
                    raise
                value = lease_value(machine_id)
                r = await self.keys.set(key, value, ttl=ttl, prev_index=index)
        except EtcdError as e:
            if e.code in (ERR_TEST_FAILED, ERR_KEY_NOT_FOUND):
                return None
            raise
        return r.node.modified_index

    async def release_lease(self, index: int) -> None:
        key = self.key(facts.LEASE_DIR, facts.ENGINE_LEASE_NAME)
        await self._delete_quietly(key, prev_index=index)

    async def _delete_quietly(
        self, key: str, prev_value: str | None = None, prev_index: int | None = None
    ) -> None:
        """Delete, treating "already gone" and "no longer ours" as done."""
        try:
            await self.keys.delete(key, prev_value=prev_value, prev_index=prev_index)
        except EtcdError as e:
            if e.code not in (ERR_KEY_NOT_FOUND, ERR_TEST_FAILED):
                raise
