"""fleet's registry: its key layout in etcd, typed records, and every read and write fleet makes.

Layout under the key prefix (default /_coreos.com/fleet/), as fleet v1.0 wrote it:

    job/<unit>/object         {"Name": ..., "UnitHash": [20 bytes as numbers]}
    job/<unit>/target-state   inactive | loaded | launched
    job/<unit>/target         machine ID the engine scheduled it to
    job/<unit>/job-state      machine ID that has launched it
    unit/<sha1-hex>           {"Raw": "<serialized unit>"}  (shared by identical units)
    states/<unit>/<machineID> {"loadState", "activeState", "subState", "machineState", "unitHash"}
    machines/<id>/object      {"ID", "PublicIP", "Metadata", "Capabilities", "Version"}, with TTL
    machines/<id>/metadata/k  dynamic metadata ("" deletes a configured key)
    lease/engine-leader       {"MachineID": ..., "Version": 1}, with TTL

shoal differs in one respect, on purpose: unit states and job-state carry no TTL. fleet refreshed
them every few seconds from every machine, which is most of its etcd load at rest; here they are
written on change, readers ignore the ones of machines that are not present, and the engine
removes those left behind.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

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
from shoal.fleet.unit import Unit, UnitFileError, UnitOption, parse_unit_file, serialize

__all__ = ["EtcdError", "EtcdUnavailable", "EtcdV2", "KeysAPI", "Registry"]


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


# ---- records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MachineState:
    id: str
    public_ip: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    version: str = facts.FLEET_VERSION

    def to_json(self) -> str:
        return json.dumps(
            {
                "ID": self.id,
                "PublicIP": self.public_ip,
                "Metadata": dict(self.metadata),
                "Capabilities": None,
                "Version": self.version,
            }
        )


@dataclass(frozen=True)
class JobRecord:
    name: str
    unit_hash: str = ""
    target_state: str = ""
    target: str = ""
    heartbeat: str = ""  # job-state: the machine that has launched it


@dataclass(frozen=True)
class UnitState:
    name: str
    machine_id: str
    load_state: str
    active_state: str
    sub_state: str
    unit_hash: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "loadState": self.load_state,
                "activeState": self.active_state,
                "subState": self.sub_state,
                "machineState": {"ID": self.machine_id},
                "unitHash": self.unit_hash,
            }
        )


@dataclass(frozen=True)
class Lease:
    machine_id: str
    version: int
    index: int


@dataclass
class Keyspace:
    """fleet's whole keyspace, parsed. Built from one recursive GET or from the watch mirror."""

    machines: dict[str, MachineState] = field(default_factory=dict)
    jobs: dict[str, JobRecord] = field(default_factory=dict)
    unit_files: dict[str, tuple[UnitOption, ...]] = field(default_factory=dict)
    states: dict[tuple[str, str], UnitState] = field(default_factory=dict)
    lease: Lease | None = None
    index: int = 0

    def unit(self, name: str) -> Unit | None:
        j = self.jobs.get(name)
        if j is None or j.unit_hash not in self.unit_files:
            return None  # a job without its unit file is skipped, as fleet did
        return Unit(name, self.unit_files[j.unit_hash], j.target_state or facts.STATE_INACTIVE)

    def units(self) -> list[Unit]:
        return [u for name in sorted(self.jobs) if (u := self.unit(name)) is not None]

    def current_state(self, name: str) -> str:
        """registry/job_state.go determineJobState: inactive, loaded or launched on its target."""
        j = self.jobs.get(name)
        if j is None or not j.target or j.target not in self.machines:
            return facts.STATE_INACTIVE
        if (name, j.target) not in self.states:
            return facts.STATE_INACTIVE
        return facts.STATE_LAUNCHED if j.heartbeat == j.target else facts.STATE_LOADED

    def live_states(self) -> list[UnitState]:
        """Published states of present machines, sorted by (unit, machine) as fleet's API does."""
        return [self.states[k] for k in sorted(self.states) if k[1] in self.machines]


# fleet stores the hash as Go's [20]byte, which encoding/json writes as an array of numbers.
def _hash_to_json(hex_hash: str) -> list[int]:
    return list(bytes.fromhex(hex_hash))


def _hash_from_json(v: Any) -> str:
    if isinstance(v, list):
        return bytes(int(b) & 0xFF for b in v).hex()
    return str(v) if v else ""


def _unit_raw(value: str) -> str:
    return str(_loads(value).get("Raw", ""))


# Re-parsing the keyspace after each watch event decodes only the values that changed.
# The decoded objects are shared, so nothing here may modify them.
_loads = lru_cache(maxsize=1 << 16)(json.loads)


@lru_cache(maxsize=4096)
def _parse_raw(raw: str) -> tuple[UnitOption, ...] | None:
    try:
        return parse_unit_file(raw)
    except UnitFileError:
        return None


class KeyspaceBuilder:
    """Fleet's keyspace kept up to date key by key: each set or delete costs O(1), so the watch
    mirror can follow thousands of units without re-parsing everything on every event.
    `snapshot()` hands out a copy that later changes do not touch."""

    def __init__(self, prefix: str, index: int = 0) -> None:
        self.base = "/" + prefix.strip("/") + "/"
        self.ks = Keyspace(index=index)
        self._mobj: dict[str, dict[str, Any]] = {}
        self._mdyn: dict[str, dict[str, str]] = {}
        self._jobs: dict[str, dict[str, str]] = {}

    def snapshot(self) -> Keyspace:
        ks = self.ks
        return Keyspace(
            dict(ks.machines),
            dict(ks.jobs),
            dict(ks.unit_files),
            dict(ks.states),
            ks.lease,
            ks.index,
        )

    def set(self, key: str, value: str) -> None:
        self._change(key, value)

    def delete(self, key: str) -> None:
        self._change(key, None)

    def _change(self, key: str, value: str | None) -> None:
        if not key.startswith(self.base):
            return
        parts = key[len(self.base) :].split("/")
        top, n = parts[0], len(parts)
        ks = self.ks
        try:
            if top == facts.MACHINES_DIR and n == 3 and parts[2] == "object":
                if value is None:
                    self._mobj.pop(parts[1], None)
                else:
                    self._mobj[parts[1]] = _loads(value)
                self._machine(parts[1])
            elif top == facts.MACHINES_DIR and n == 4 and parts[2] == "metadata":
                dyn = self._mdyn.setdefault(parts[1], {})
                if value is None:
                    dyn.pop(parts[3], None)
                else:
                    dyn[parts[3]] = value
                self._machine(parts[1])
            elif top == facts.JOB_DIR and n == 3:
                fields = self._jobs.setdefault(parts[1], {})
                if value is None:
                    fields.pop(parts[2], None)
                else:
                    fields[parts[2]] = value
                self._job(parts[1])
            elif top == facts.UNIT_DIR and n == 2:
                opts = None if value is None else _parse_raw(_unit_raw(value))
                if opts is None:
                    ks.unit_files.pop(parts[1], None)
                else:
                    ks.unit_files[parts[1]] = opts
            elif top == facts.STATES_DIR and n == 3:
                if value is None:
                    ks.states.pop((parts[1], parts[2]), None)
                    return
                d = _loads(value)
                ks.states[(parts[1], parts[2])] = UnitState(
                    parts[1],
                    parts[2],
                    str(d.get("loadState", "")),
                    str(d.get("activeState", "")),
                    str(d.get("subState", "")),
                    str(d.get("unitHash", "")),
                )
            elif top == facts.LEASE_DIR and parts[1:] == [facts.ENGINE_LEASE_NAME]:
                if value is None:
                    ks.lease = None
                    return
                d = _loads(value)
                ks.lease = Lease(str(d.get("MachineID", "")), int(d.get("Version", 0)), 0)
        except (ValueError, AttributeError, TypeError):
            pass  # a value fleet could not parse either; skipped, as fleet logged and went on

    def _machine(self, mid: str) -> None:
        obj = self._mobj.get(mid)
        if obj is None:
            self.ks.machines.pop(mid, None)
            return
        md = {str(k): str(v) for k, v in (obj.get("Metadata") or {}).items()}
        # registry/machine.go mergeMetadata: dynamic values win, "" deletes.
        for k, v in self._mdyn.get(mid, {}).items():
            if v == "":
                md.pop(k, None)
            else:
                md[k] = v
        self.ks.machines[mid] = MachineState(
            str(obj.get("ID") or mid),
            str(obj.get("PublicIP") or ""),
            md,
            str(obj.get("Version", "")),
        )

    def _job(self, name: str) -> None:
        d = self._jobs.get(name, {})
        raw = d.get("object")
        if raw is None:
            self.ks.jobs.pop(name, None)
            if not d:
                self._jobs.pop(name, None)
            return
        try:
            unit_hash = _hash_from_json(_loads(raw).get("UnitHash"))
        except (ValueError, AttributeError):
            self.ks.jobs.pop(name, None)
            return
        self.ks.jobs[name] = JobRecord(
            name, unit_hash, d.get("target-state", ""), d.get("target", ""), d.get("job-state", "")
        )


def parse_keyspace(flat: Mapping[str, str], prefix: str, index: int = 0) -> Keyspace:
    """Typed view of fleet's keys. `flat` maps full etcd keys to values (directories omitted)."""
    b = KeyspaceBuilder(prefix, index)
    for key, value in flat.items():
        b.set(key, value)
    return b.ks


# ---- the registry ------------------------------------------------------------------------------


class Registry:
    """All of fleet's reads and writes, through the etcd v2 keys API only."""

    def __init__(self, keys: KeysAPI, prefix: str = facts.DEFAULT_KEY_PREFIX) -> None:
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
        ks = await self.read(*dirs, quorum=False)
        j = ks.jobs.get(name)
        if j is not None and j.unit_hash:
            sub, _ = await self._subtree(self.key(facts.UNIT_DIR, j.unit_hash), quorum=False)
            for raw in sub.values():
                opts = _parse_raw(_unit_raw(raw))
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

    async def create_unit(self, unit: Unit) -> None:
        h = unit.hash
        try:
            await self.keys.set(
                self.key(facts.UNIT_DIR, h),
                json.dumps({"Raw": serialize(unit.options)}),
                prev_exist=False,
            )
        except EtcdError as e:
            if e.code != ERR_NODE_EXIST:
                raise
        obj = json.dumps({"Name": unit.name, "UnitHash": _hash_to_json(h)})
        await self.keys.set(self.key(facts.JOB_DIR, unit.name, "object"), obj)
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

    def _lease_value(self, machine_id: str) -> str:
        return json.dumps({"MachineID": machine_id, "Version": facts.ENGINE_VERSION})

    async def acquire_lease(self, machine_id: str, ttl: float) -> int | None:
        """The lease's index when acquired, None when someone else holds it."""
        key = self.key(facts.LEASE_DIR, facts.ENGINE_LEASE_NAME)
        try:
            r = await self.keys.set(key, self._lease_value(machine_id), ttl=ttl, prev_exist=False)
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
                value = self._lease_value(machine_id)
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
