"""Fault injection: partitions, loss and delay set by method or over the peer port's HTTP."""

from __future__ import annotations

import asyncio
import itertools
import random
import time

import aiohttp
import pytest
from transport_harness import LOOPS, Member, app, mesh, run, with_members

from shoal.transport import FAULTS_PATH, Faults, control
from support import wait_until_async


def test_blocked_peer_gets_nothing_either_way_and_unblock_resumes() -> None:
    async def body(a: Member, b: Member, c: Member) -> None:
        await mesh(a, b, c)
        a.transport.block([2])
        for i in range(10):
            a.transport.send([app(1, 2, i), app(1, 3, i)])
            b.transport.send([app(2, 1, i)])  # b does not know; a drops it on arrival
        await wait_until_async(lambda: len(c.got) == 10, what="the unblocked peer still hears a")
        await wait_until_async(
            lambda: a.transport.stats()[2].messages_received == 10, what="b's messages at a"
        )
        a.transport.unblock([2])
        a.transport.send([app(1, 2, 100)])
        b.transport.send([app(2, 1, 100)])
        await wait_until_async(lambda: len(b.got) >= 1 and len(a.got) >= 1, what="after unblock")
        # The first thing through is the marker: nothing sent during the partition leaked.
        assert [m.index for m in b.got] == [100]
        assert [m.index for m in a.got] == [100]
        stats = a.transport.stats()[2]
        assert stats.messages_dropped_by_faults == 20

    run(with_members([1, 2, 3], body))


@pytest.mark.parametrize("loop", LOOPS)
def test_a_lasting_partition_takes_both_links_down_and_heals(loop: str) -> None:
    """As with a real blackhole: silence first, then both sides give the link up (sends fail
    fast and raft hears "unreachable"), and the link returns promptly once healed."""

    async def body(a: Member, b: Member) -> None:
        await mesh(a, b)
        a.transport.block([2])  # set on one side only
        await wait_until_async(
            lambda: not a.transport.is_active(2) and not b.transport.is_active(1),
            what="both links declared dead",
        )
        a.transport.send([app(1, 2, 0)])
        b.transport.send([app(2, 1, 0)])
        assert 2 in a.unreachable and 1 in b.unreachable
        assert "no answer" in b.transport.stats()[1].last_error or (
            "closed during handshake" in b.transport.stats()[1].last_error
        )
        await wait_until_async(
            lambda: "blocked by fault injection" in a.transport.stats()[2].last_error,
            what="redial refused locally",
        )
        a.transport.unblock()
        await mesh(a, b)  # waits for both links to be up again
        a.transport.send([app(1, 2, 1)])
        b.transport.send([app(2, 1, 1)])
        await wait_until_async(
            lambda: len(a.got) == 1 and len(b.got) == 1, what="traffic after heal"
        )
        assert a.got[0].index == 1 and b.got[0].index == 1

    run(with_members([1, 2], body, ping_interval=0.05), loop=loop)


def test_drop_probability_loses_about_that_share() -> None:
    async def body(a: Member, b: Member) -> None:
        await mesh(a, b)
        a.transport.set_faults(Faults(drop=1.0))
        a.transport.send([app(1, 2, i) for i in range(100)])
        a.transport.set_faults(Faults(drop=0.5))
        a.transport.send([app(1, 2, i) for i in range(100, 1100)])
        a.transport.set_faults(Faults())
        a.transport.send([app(1, 2, 9999)])
        await wait_until_async(lambda: b.got and b.got[-1].index == 9999, what="marker")
        indexes = [m.index for m in b.got[:-1]]
        assert all(100 <= i < 1100 for i in indexes)
        assert indexes == sorted(indexes)  # losses never reorder
        assert 400 < len(indexes) < 600

    run(with_members([1, 2], body, rng=random.Random(7)))


def test_delay_holds_messages_back_in_order() -> None:
    async def body(a: Member, b: Member, c: Member) -> None:
        await mesh(a, b, c)
        a.transport.set_faults(Faults(delay_ms=150, peers=frozenset({2})))
        start = time.monotonic()
        a.transport.send([app(1, 2, i) for i in range(5)] + [app(1, 3, 0)])
        await wait_until_async(lambda: len(c.got) == 1, what="undelayed peer")
        assert time.monotonic() - start < 0.15 and b.got == []
        a.transport.set_faults(Faults())  # later messages must still queue behind held ones
        a.transport.send([app(1, 2, 5)])
        await wait_until_async(lambda: len(b.got) == 6, what="delayed messages")
        assert time.monotonic() - start >= 0.15
        assert [m.index for m in b.got] == list(range(6))
        # Inbound delay: b's message to a is held on a's side too.
        a.transport.set_faults(Faults(delay_ms=150))
        t0 = time.monotonic()
        b.transport.send([app(2, 1, 0)])
        await wait_until_async(lambda: len(a.got) == 1, what="delayed inbound")
        assert time.monotonic() - t0 >= 0.15

    run(with_members([1, 2, 3], body))


def test_fault_endpoint_partitions_a_running_member() -> None:
    async def body(a: Member, b: Member) -> None:
        await mesh(a, b)
        url = a.url + FAULTS_PATH
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json={"blocked": ["2"], "delay_ms": 5}) as r:
                assert r.status == 200
                assert (await r.json())["blocked"] == ["2"]
            assert a.transport.faults == Faults(blocked=frozenset({2}), delay_ms=5.0)
            a.transport.send([app(1, 2, 0)])
            async with http.get(url) as r:
                assert await r.json() == {
                    "blocked": ["2"],
                    "drop": 0.0,
                    "delay_ms": 5.0,
                    "peers": None,
                }
            async with http.post(url, json={"blocked": [2], "drop": 2}) as r:
                assert r.status == 400
                assert "drop must be between 0 and 1" in (await r.json())["message"]
            async with http.post(url, data=b"{not json") as r:
                assert r.status == 400
            assert a.transport.faults.blocked == {2}  # bad requests change nothing
            async with http.delete(url) as r:
                assert r.status == 200
            assert a.transport.faults == Faults()
        a.transport.send([app(1, 2, 1)])
        await wait_until_async(lambda: len(b.got) == 1, what="delivery after heal")
        assert b.got[0].index == 1

    run(with_members([1, 2], body))


def test_fault_endpoint_can_be_turned_off() -> None:
    async def body(a: Member) -> None:
        async with (
            aiohttp.ClientSession() as http,
            http.post(a.url + FAULTS_PATH, json={"blocked": [2]}) as r,
        ):
            assert r.status == 404
        assert a.transport.faults == Faults()

    run(with_members([1], body, fault_endpoint=False))


def test_partition_heals_under_steady_traffic() -> None:
    """The nemesis's pattern: traffic keeps flowing while a partition comes and goes."""

    async def body(a: Member, b: Member) -> None:
        await mesh(a, b)
        for round_ in range(3):
            a.transport.block([2])
            a.transport.send([app(1, 2, round_ * 10 + i) for i in range(5)])
            await asyncio.sleep(0)
            a.transport.unblock()
            a.transport.send([app(1, 2, round_ * 10 + 5)])
        await wait_until_async(lambda: len(b.got) == 3, what="one message per heal")
        assert [m.index for m in b.got] == [5, 15, 25]

    run(with_members([1, 2], body))


def test_control_client_partitions_and_heals_a_member_from_outside() -> None:
    async def body(a: Member, b: Member) -> None:
        await mesh(a, b)
        f = Faults(blocked=frozenset({2}), drop=0.1, peers=frozenset({2}))
        assert await asyncio.to_thread(control.set_faults, a.url, f) == f
        assert a.transport.faults == f
        assert await asyncio.to_thread(control.get_faults, a.url) == f
        assert await asyncio.to_thread(control.clear_faults, a.url) == Faults()
        assert a.transport.faults == Faults()

    run(with_members([1, 2], body))


def test_control_client_errors_say_what_went_wrong() -> None:
    with pytest.raises(control.FaultControlError, match="cannot reach the member"):
        control.get_faults("http://127.0.0.1:1", timeout=2)

    async def body(a: Member) -> None:
        with pytest.raises(control.FaultControlError, match="HTTP 404"):
            await asyncio.to_thread(control.get_faults, a.url)

    run(with_members([1], body, fault_endpoint=False))


def test_per_peer_order_survives_random_faults() -> None:
    """A small nemesis: partitions, loss and delay flip at random under steady traffic. Each
    receiver must see each sender's messages strictly in order (gaps allowed, never a
    duplicate or a reordering), and everything flows again after the heal."""
    rng = random.Random(11)

    async def body(*ms: Member) -> None:
        await mesh(*ms)
        index = 0
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            index += 1
            for m in ms:
                m.transport.send([app(m.id, p.id, index) for p in ms if p is not m])
            if index % 20 == 0:
                victim = rng.choice(ms)
                others = [p.id for p in ms if p is not victim]
                victim.transport.set_faults(
                    Faults(
                        blocked=frozenset(rng.sample(others, rng.randint(0, 1))),
                        drop=rng.choice([0.0, 0.3]),
                        delay_ms=rng.choice([0, 5, 20]),
                    )
                )
            await asyncio.sleep(0.001)
        for m in ms:
            m.transport.set_faults(Faults())
        await mesh(*ms)
        marker = index + 1
        for m in ms:
            m.transport.send([app(m.id, p.id, marker) for p in ms if p is not m])
        await wait_until_async(
            lambda: all(
                any(x.index == marker for x in m.from_peer(p.id))
                for m in ms
                for p in ms
                if p is not m
            ),
            what="markers after the heal",
        )
        for m in ms:
            for p in ms:
                if p is not m:
                    seen = [x.index for x in m.from_peer(p.id)]
                    assert all(a < b for a, b in itertools.pairwise(seen)), (m.id, p.id)
                    assert len(seen) > 50  # plenty got through between faults

    run(with_members([1, 2, 3], body, ping_interval=0.05, rng=random.Random(5)), timeout=60)


def test_control_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    async def body(a: Member) -> None:
        def cli(*args: str) -> int:
            return control.main([a.url, *args])

        assert await asyncio.to_thread(cli, "--block", "2,0a", "--delay-ms", "3") == 0
        assert a.transport.faults == Faults(blocked=frozenset({2, 10}), delay_ms=3.0)
        assert await asyncio.to_thread(cli) == 0
        assert await asyncio.to_thread(cli, "--drop", "1.5") == 1
        assert await asyncio.to_thread(cli, "--clear") == 0
        assert a.transport.faults == Faults()

    run(with_members([1], body))
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert '"blocked": ["2", "a"]' in lines[0] and lines[0] == lines[1]
    assert "drop must be between 0 and 1" in err
    assert '"blocked": []' in lines[2]
