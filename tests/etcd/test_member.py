"""The member over real sockets and disks, in one process: replication, restarts from disk,
snapshots, quorum loss, membership changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from member_harness import Cluster

from shoal.etcd.member import Member, StartError
from shoal.store import EtcdError, Request, keys_path
from shoal.store import request as rq
from support import free_port, wait_until_async


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 120))


def put(key: str, value: str) -> Request:
    return Request(rq.PUT, keys_path(key), value=value)


def value(m: Member, key: str) -> str | None:
    try:
        return m.store.get(keys_path(key), now=time.time()).node.value  # type: ignore[attr-defined]
    except EtcdError:
        return None


async def converged(c: Cluster, key: str, want: str, timeout: float = 20) -> None:
    async def ok() -> bool:
        return all(value(m, key) == want for m in c.members.values())

    await wait_until_async(ok, timeout, f"{key}={want} on every member")


def test_three_members_elect_replicate_and_publish_themselves(tmp_path: Path) -> None:
    async def go() -> None:
        c = Cluster(str(tmp_path))
        try:
            await c.start_all()
            lead = await c.leader()
            follower = next(m for m in c.members.values() if m is not lead)
            ev = await follower.do(put("/seed", "coreos"))  # forwarded to the leader
            assert ev.to_json().startswith(b'{"action":"set"')
            await converged(c, "/seed", "coreos")
            q = await follower.do(Request(rq.GET, keys_path("/seed"), quorum=True))
            assert b'"value":"coreos"' in q.to_json()

            async def published() -> bool:
                return all(
                    sorted(x.name for x in m.members()) == ["m1", "m2", "m3"]
                    for m in c.members.values()
                )

            await wait_until_async(published, 20, "every member's name published")
            assert len({m.cluster_id for m in c.members.values()}) == 1
            assert await lead.health()
        finally:
            await c.stop_all()

    run(go())


def test_a_restarted_member_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    async def go() -> None:
        c = Cluster(str(tmp_path))
        try:
            await c.start_all()
            await c.leader()
            for i in range(50):
                await c.members["m1"].do(put(f"/k{i}", str(i)))
            await c.stop("m3")
            for i in range(50, 80):
                await c.members["m1"].do(put(f"/k{i}", str(i)))
            await c.stop("m1")
            await c.stop("m2")
            for name in ("m1", "m2", "m3"):
                await c.start(name)
            await c.leader()
            await converged(c, "/k79", "79")
            for m in c.members.values():
                assert [value(m, f"/k{i}") for i in range(80)] == [str(i) for i in range(80)]
        finally:
            await c.stop_all()

    run(go())


def test_a_lagging_member_catches_up_from_a_snapshot(tmp_path: Path) -> None:
    async def go() -> None:
        c = Cluster(str(tmp_path), **{"snapshot-count": "20"})
        try:
            await c.start_all()
            await c.leader()
            await c.stop("m3")
            m1 = c.members["m1"]
            for i in range(120):
                await m1.do(put(f"/k{i}", str(i)))
            assert m1.snapshot_index >= 100
            assert m1.mem.first_index() > 10  # the log was compacted behind the snapshot
            m3 = await c.start("m3")
            await converged(c, "/k119", "119")
            assert m3.snapshot_index >= 100  # it got there by installing a snapshot
            assert m3.store.hash() == m1.store.hash()
            assert snaps(tmp_path / "m1") <= 5  # --max-snapshots
        finally:
            await c.stop_all()

    run(go())


def snaps(data_dir: Path) -> int:
    return len(list((data_dir / "member" / "snap").glob("*.snap")))


def test_without_quorum_writes_fail_with_etcd_error_300_and_reads_stay_local(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        c = Cluster(str(tmp_path))
        try:
            await c.start_all()
            await c.leader()
            await c.members["m1"].do(put("/before", "1"))
            await converged(c, "/before", "1")
            await c.stop("m2")
            await c.stop("m3")
            m1 = c.members["m1"]
            t0 = time.monotonic()
            with pytest.raises(EtcdError) as e:
                await m1.do(put("/after", "1"))
            took = time.monotonic() - t0
            assert e.value.code == 300
            assert "etcdserver: request timed out" in e.value.to_json().decode()
            assert took <= m1.cfg.request_timeout + 2
            assert value(m1, "/before") == "1"  # a plain read still answers
            assert not await m1.health()
            with pytest.raises(EtcdError):
                await m1.do(Request(rq.GET, keys_path("/before"), quorum=True))
            await c.start("m2")
            await c.start("m3")
            await c.leader()
            await m1.do(put("/after", "2"))
            await converged(c, "/after", "2")
        finally:
            await c.stop_all()

    run(go())


def test_a_member_added_at_runtime_joins_and_a_removed_one_stops(tmp_path: Path) -> None:
    async def go() -> None:
        c = Cluster(str(tmp_path))
        try:
            await c.start_all()
            lead = await c.leader()
            await lead.do(put("/x", "1"))
            c.urls["m4"] = f"http://127.0.0.1:{free_port()}"
            info = await lead.add_member([c.urls["m4"]])
            assert info.name == ""
            m4 = await c.start("m4", state="existing")
            assert m4.member_id == info.id
            await converged(c, "/x", "1")

            async def named() -> bool:
                return "m4" in [x.name for x in lead.members()]

            await wait_until_async(named, 20, "m4 published")
            await lead.remove_member(m4.member_id)
            await wait_until_async(m4.stopped.is_set, 20, "m4 to stop")
            assert "permanently removed" in m4.stop_reason
            assert lead.is_removed(m4.member_id)
            from shoal.etcd.server_iface import MembershipError

            with pytest.raises(MembershipError) as e:
                await lead.remove_member(m4.member_id)
            assert e.value.status == 410
        finally:
            await c.stop_all()

    run(go())


def test_a_leader_stopping_cleanly_hands_over_leadership_first(tmp_path: Path) -> None:
    async def go() -> None:
        c = Cluster(str(tmp_path), **{"heartbeat-interval": "50", "election-timeout": "2000"})
        try:
            await c.start_all()
            lead = await c.leader()
            await lead.do(put("/k", "v"))
            t0 = time.monotonic()
            await lead.hand_over_leadership()
            # Well within one election timeout (2 s): nobody had to time out and campaign.
            assert lead.lead not in (0, lead.member_id)
            assert time.monotonic() - t0 < 1.5
            others = [m for m in c.members.values() if m is not lead]
            assert any(m.role == "leader" for m in others)
        finally:
            await c.stop_all()

    run(go())


def test_joining_a_cluster_no_peer_answers_for_fails_naming_the_peer(tmp_path: Path) -> None:
    async def go() -> None:
        c = Cluster(str(tmp_path), n=2)  # m2 is never started: its peer URL refuses
        with pytest.raises(StartError) as e:
            await c.start("m1", state="existing")
        m2 = c.urls["m2"]
        assert str(e.value).startswith(f"error validating peerURLs: {m2}: dial tcp "), e.value
        assert str(e.value).endswith("connect: connection refused"), e.value

    run(go())
