"""fleet's key layout and operations against a real etcd 3.4 (v2 API) on loopback."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fleet_procs import Etcd

from shoal.fleet import facts
from shoal.fleet.etcdv2 import EtcdError, EtcdUnavailable, EtcdV2
from shoal.fleet.mirror import Mirror
from shoal.fleet.registry import MachineState, Registry, UnitState
from shoal.fleet.unit import Unit, parse_unit_file, unit_hash
from support import wait_until_async

HELLO = parse_unit_file("[Unit]\nDescription=hi\n[Service]\nExecStart=/bin/sleep 100\n")


def run(etcd: Etcd, body: Callable[[Registry], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        keys = EtcdV2([etcd.url], timeout=2.0)
        try:
            return await body(Registry(keys, f"/test-{uuid.uuid4().hex[:8]}/"))
        finally:
            await keys.close()

    return asyncio.run(main())


def test_units_are_stored_in_fleets_layout(etcd: Etcd) -> None:
    async def body(reg: Registry) -> None:
        await reg.create_unit(Unit("hello.service", HELLO, "launched"))
        raw = await reg.keys.get(reg.key("job", "hello.service", "object"))
        obj = json.loads(raw.node.value or "")
        # The hash is Go's [20]byte: a JSON array of numbers.
        assert bytes(obj["UnitHash"]).hex() == unit_hash(HELLO)
        assert obj["Name"] == "hello.service"
        stored = await reg.keys.get(reg.key("unit", unit_hash(HELLO)))
        assert json.loads(stored.node.value or "")["Raw"].startswith("[Unit]\nDescription=hi\n")
        ts = await reg.keys.get(reg.key("job", "hello.service", "target-state"))
        assert ts.node.value == "launched"
        ks = await reg.read()
        u = ks.unit("hello.service")
        assert u is not None and u.options == HELLO and u.target_state == "launched"
        assert ks.current_state("hello.service") == "inactive"

    run(etcd, body)


def test_scheduling_is_compare_and_swap(etcd: Etcd) -> None:
    async def body(reg: Registry) -> None:
        await reg.create_unit(Unit("a.service", HELLO, "launched"))
        assert await reg.schedule_unit("a.service", "m1")
        assert not await reg.schedule_unit("a.service", "m2")  # a second engine loses
        await reg.unschedule_unit("a.service", "m2")  # not its machine: no effect
        assert (await reg.read()).jobs["a.service"].target == "m1"
        await reg.unschedule_unit("a.service", "m1")
        assert (await reg.read()).jobs["a.service"].target == ""

    run(etcd, body)


def test_current_state_follows_published_state_and_heartbeat(etcd: Etcd) -> None:
    async def body(reg: Registry) -> None:
        await reg.create_machine(MachineState("m1", "127.0.0.1"), ttl=30)
        await reg.create_unit(Unit("a.service", HELLO, "launched"))
        await reg.schedule_unit("a.service", "m1")
        await reg.save_unit_state(
            UnitState("a.service", "m1", "loaded", "inactive", "dead", unit_hash(HELLO))
        )
        assert (await reg.read()).current_state("a.service") == "loaded"
        await reg.set_heartbeat("a.service", "m1")
        ks = await reg.read()
        assert ks.current_state("a.service") == "launched"
        assert [s.machine_id for s in ks.live_states()] == ["m1"]
        await reg.remove_machine("m1")  # a state of an absent machine is not shown
        ks = await reg.read()
        assert ks.live_states() == [] and ks.current_state("a.service") == "inactive"

    run(etcd, body)


def test_duplicate_machine_id_is_refused_and_presence_expires(etcd: Etcd) -> None:
    async def body(reg: Registry) -> None:
        await reg.create_machine(MachineState("dup", "127.0.0.1", {"role": "x"}), ttl=1)
        with pytest.raises(EtcdError) as err:
            await reg.create_machine(MachineState("dup", "127.0.0.2"), ttl=1)
        assert err.value.code == 105
        node = await reg.keys.get(reg.key("machines", "dup", "object"))
        assert node.node.ttl is not None and node.node.ttl <= 1
        assert "dup" in (await reg.read()).machines

        async def expired() -> bool:
            return "dup" not in (await reg.read()).machines

        # etcd expires keys within a second or two of their TTL.
        await wait_until_async(expired, 20, "the machine's presence to expire", every=0.1)
        assert "dup" not in (await reg.read()).machines

    run(etcd, body)


def test_dynamic_metadata_overrides_and_empty_value_deletes(etcd: Etcd) -> None:
    async def body(reg: Registry) -> None:
        await reg.create_machine(MachineState("m1", "", {"role": "web", "zone": "a"}), ttl=30)
        await reg.set_machine_metadata("m1", "role", "db")
        await reg.delete_machine_metadata("m1", "zone")
        await reg.set_machine_metadata("m1", "disk", "ssd")
        assert dict((await reg.read()).machines["m1"].metadata) == {"role": "db", "disk": "ssd"}

    run(etcd, body)


def test_engine_lease_is_exclusive_and_renewed_by_index(etcd: Etcd) -> None:
    async def body(reg: Registry) -> None:
        idx = await reg.acquire_lease("m1", ttl=10)
        assert idx is not None
        assert await reg.acquire_lease("m2", ttl=10) is None
        new = await reg.renew_lease("m1", 10, idx)
        assert new is not None and new > idx
        assert await reg.renew_lease("m1", 10, idx) is None  # stale index: lease lost
        ks = await reg.read()
        assert ks.lease is not None and ks.lease.machine_id == "m1"
        raw = await reg.keys.get(reg.key(facts.LEASE_DIR, facts.ENGINE_LEASE_NAME))
        assert json.loads(raw.node.value or "") == {"MachineID": "m1", "Version": 1}
        await reg.release_lease(new)
        assert await reg.acquire_lease("m2", ttl=10) is not None

    run(etcd, body)


def test_destroy_removes_the_job(etcd: Etcd) -> None:
    async def body(reg: Registry) -> None:
        await reg.create_unit(Unit("a.service", HELLO, "loaded"))
        assert await reg.destroy_unit("a.service")
        assert not await reg.destroy_unit("a.service")
        assert (await reg.read()).units() == []

    run(etcd, body)


def test_mirror_follows_writes_and_expiry(etcd: Etcd) -> None:
    async def body(reg: Registry) -> None:
        mirror = Mirror(reg.keys, reg.prefix)
        task = asyncio.create_task(mirror.run())
        try:
            await asyncio.wait_for(mirror.ready.wait(), 5)
            await reg.create_unit(Unit("a.service", HELLO, "launched"))
            await reg.create_machine(MachineState("gone", ""), ttl=1)
            idx = (await reg.keys.get(reg.key("job", "a.service", "target-state"))).etcd_index
            assert await mirror.wait_index(idx, 5)
            ks = mirror.keyspace()
            assert ks.unit("a.service") is not None and "gone" in ks.machines
            await reg.destroy_unit("a.service")
            for _ in range(80):
                ks = mirror.keyspace()
                if "gone" not in ks.machines and not ks.jobs:
                    break
                await mirror.wait_change(mirror.version, 0.1)
            assert "gone" not in ks.machines and not ks.jobs
        finally:
            task.cancel()

    run(etcd, body)


def test_unreachable_etcd_is_reported_as_unavailable() -> None:
    async def main() -> None:
        keys = EtcdV2(["http://127.0.0.1:9"], timeout=0.5)
        try:
            with pytest.raises(EtcdUnavailable):
                await Registry(keys).read()
        finally:
            await keys.close()

    asyncio.run(main())
