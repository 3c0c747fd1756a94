"""fleet's keyspace as typed values: its key layout in etcd, one record type per kind of key,
and the one encoder and decoder of each record's value.

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
removes those left behind. The reads and writes themselves are `registry`'s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from shoal.fleet import facts
from shoal.fleet.unit import Unit, UnitFileError, UnitOption, parse_unit_file, serialize

K = TypeVar("K")
V = TypeVar("V")


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
    load_error: str = ""
    """shoal's addition: why the machine could not load the unit (fleet itself only has
    loadState `error`; the reason was in that machine's systemd). Omitted when empty, so fleet
    reads the record as its own."""

    def to_json(self) -> str:
        doc: dict[str, object] = {
            "loadState": self.load_state,
            "activeState": self.active_state,
            "subState": self.sub_state,
            "machineState": {"ID": self.machine_id},
            "unitHash": self.unit_hash,
        }
        if self.load_error:
            doc["shoalLoadError"] = self.load_error
        return json.dumps(doc)


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


# Re-parsing the keyspace after each watch event decodes only the values that changed.
# The decoded objects are shared, so nothing here may modify them.
_loads = lru_cache(maxsize=1 << 16)(json.loads)


@lru_cache(maxsize=4096)
def _parse_raw(raw: str) -> tuple[UnitOption, ...] | None:
    try:
        return parse_unit_file(raw)
    except UnitFileError:
        return None


def unit_file_value(unit: Unit) -> str:
    """The value of `unit/<hash>`."""
    return json.dumps({"Raw": serialize(unit.options)})


def unit_file_options(value: str) -> tuple[UnitOption, ...] | None:
    """The options held by a `unit/<hash>` value; None when fleet could not parse it either."""
    return _parse_raw(str(_loads(value).get("Raw", "")))


def job_object_value(unit: Unit) -> str:
    """The value of `job/<unit>/object`."""
    return json.dumps({"Name": unit.name, "UnitHash": _hash_to_json(unit.hash)})


def lease_value(machine_id: str) -> str:
    """The value of `lease/engine-leader` held by `machine_id` (pkg/lease/etcd.go)."""
    return json.dumps({"MachineID": machine_id, "Version": facts.ENGINE_VERSION})


def _put(d: dict[K, V], key: K, value: V | None) -> None:
    """Set `key`, or remove it when `value` is None (a deleted etcd key)."""
    if value is None:
        d.pop(key, None)
    else:
        d[key] = value


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
                _put(self._mobj, parts[1], None if value is None else _loads(value))
                self._machine(parts[1])
            elif top == facts.MACHINES_DIR and n == 4 and parts[2] == "metadata":
                _put(self._mdyn.setdefault(parts[1], {}), parts[3], value)
                self._machine(parts[1])
            elif top == facts.JOB_DIR and n == 3:
                _put(self._jobs.setdefault(parts[1], {}), parts[2], value)
                self._job(parts[1])
            elif top == facts.UNIT_DIR and n == 2:
                opts = None if value is None else unit_file_options(value)
                _put(ks.unit_files, parts[1], opts)
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
                    str(d.get("shoalLoadError", "")),
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
