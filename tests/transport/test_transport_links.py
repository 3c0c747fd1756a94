"""Peer links between Transports on loopback: delivery, order, reconnect, refusal, overflow."""

from __future__ import annotations

import asyncio
import logging

import pytest
from transport_harness import (
    CLUSTER,
    LOOPS,
    Member,
    app,
    mesh,
    run,
    start_member,
    stop_all,
    with_members,
)

from shoal.raft.types import Message, MessageType, Snapshot, SnapshotMeta
from shoal.transport.frame import MAGIC, PROTOCOL_VERSION, FrameParser, Hello, Welcome
from support import wait_until_async


@pytest.mark.parametrize("loop", LOOPS)
def test_two_members_exchange_messages_in_order_both_ways(loop: str) -> None:
    async def body(a: Member, b: Member) -> None:
        await mesh(a, b)
        for i in range(2000):
            a.transport.send([app(1, 2, i)])
            b.transport.send([app(2, 1, i, n_entries=3)])
            if i % 97 == 0:
                await asyncio.sleep(0)  # let writers run mid-way, so batches vary in size
        await wait_until_async(lambda: len(b.got) == 2000 and len(a.got) == 2000, what="2000 each")
        assert [m.index for m in b.got] == list(range(2000))
        assert [m.index for m in a.got] == list(range(2000))
        assert b.got[7] == app(1, 2, 7)  # every field survives the trip
        assert a.got[5].entries == app(2, 1, 5, n_entries=3).entries
        assert a.unreachable == [] and b.unreachable == []
        stats = a.transport.stats()[2]
        assert stats.messages_sent == 2000 and stats.messages_received == 2000
        assert stats.messages_failed == 0 and stats.active and stats.connects == 1
        assert stats.appends_sent == 2000 and stats.appends_received == 2000
        assert stats.append_bytes_received > stats.append_bytes_sent  # 3 entries vs 1

    run(with_members([1, 2], body), loop=loop)


def test_three_members_keep_per_peer_order() -> None:
    async def body(*ms: Member) -> None:
        await mesh(*ms)
        for i in range(500):
            for m in ms:
                m.transport.send([app(m.id, p.id, i) for p in ms if p is not m])
        await wait_until_async(lambda: all(len(m.got) == 1000 for m in ms), what="1000 each")
        for m in ms:
            for p in ms:
                if p is not m:
                    assert [x.index for x in m.from_peer(p.id)] == list(range(500))

    run(with_members([1, 2, 3], body))


def test_round_trip_latency_is_measured() -> None:
    async def body(a: Member, b: Member) -> None:
        await mesh(a, b)
        await wait_until_async(lambda: a.transport.stats()[2].latency.count >= 2, what="pings")
        lat = a.transport.stats()[2].latency
        assert 0 < lat.minimum <= lat.average <= lat.maximum < 1000

    run(with_members([1, 2], body))


@pytest.mark.parametrize("loop", LOOPS)
def test_link_reconnects_after_the_peer_restarts_on_the_same_port(loop: str) -> None:
    async def body() -> None:
        a = await start_member(1)
        b = await start_member(2)
        b2: Member | None = None
        try:
            await mesh(a, b)
            a.transport.send([app(1, 2, 0)])
            await wait_until_async(lambda: len(b.got) == 1, what="first message")
            url = b.url
            await b.transport.stop()
            await wait_until_async(lambda: not a.transport.is_active(2), what="link down")
            # While the peer is down, sends fail fast and raft hears it is unreachable.
            a.transport.send([app(1, 2, 1)])
            assert 2 in a.unreachable
            b2 = await start_member(2, listen=url)
            b2.transport.add_peer(1, [a.url])
            await wait_until_async(lambda: a.transport.is_active(2), what="link up again")
            a.transport.send([app(1, 2, 2)])
            await wait_until_async(lambda: len(b2.got) == 1, what="message after restart")
            assert b2.got[0].index == 2
            assert a.transport.stats()[2].connects == 2
        finally:
            await stop_all(a, b, *([b2] if b2 else []))

    run(body(), loop=loop)


def test_update_peer_redials_the_new_url() -> None:
    async def body() -> None:
        a = await start_member(1)
        b = await start_member(2)
        b2 = await start_member(2)  # the same member, moved to another port
        try:
            await mesh(a, b)
            b2.transport.add_peer(1, [a.url])
            a.transport.update_peer(2, [b2.url])
            await wait_until_async(
                lambda: a.transport.stats()[2].url == b2.url and a.transport.is_active(2),
                what="link to the new URL",
            )
            a.transport.send([app(1, 2, 9)])
            await wait_until_async(lambda: len(b2.got) == 1, what="message at the new URL")
            assert b.got == []
        finally:
            await stop_all(a, b, b2)

    run(body())


def test_full_queue_drops_and_reports_unreachable() -> None:
    async def body(a: Member, b: Member) -> None:
        await mesh(a, b)
        # 50 messages in one call: the writer cannot run in between, so 40 overflow.
        a.transport.send([app(1, 2, i) for i in range(50)])
        assert a.unreachable == [2]  # once per send call, not once per message
        assert a.transport.stats()[2].messages_failed == 40
        await wait_until_async(lambda: len(b.got) == 10, what="the 10 queued messages")
        assert [m.index for m in b.got] == list(range(10))
        # The link itself is fine: later messages go through.
        a.transport.send([app(1, 2, 50)])
        await wait_until_async(lambda: len(b.got) == 11, what="message after overflow")

    run(with_members([1, 2], body, queue_size=10))


def test_sends_to_a_peer_that_never_answers_report_unreachable() -> None:
    async def body(a: Member) -> None:
        a.transport.add_peer(9, ["http://127.0.0.1:1"])  # nothing listens on port 1
        await wait_until_async(lambda: a.transport.stats()[9].last_error != "", what="dial failure")
        a.transport.send([app(1, 9, 0)])
        assert 9 in a.unreachable
        assert not a.transport.is_active(9)
        assert "dial http://127.0.0.1:1" in a.transport.stats()[9].last_error

    run(with_members([1], body))


def test_peer_of_another_cluster_is_refused() -> None:
    async def body() -> None:
        a = await start_member(1, cluster_id=CLUSTER)
        b = await start_member(2, cluster_id=CLUSTER + 1)
        try:
            a.transport.add_peer(2, [b.url])
            b.transport.add_peer(1, [a.url])
            await wait_until_async(
                lambda: "cluster ID mismatch" in a.transport.stats()[2].last_error,
                what="refusal",
            )
            assert "cluster ID mismatch" in b.transport.stats()[1].last_error
            a.transport.send([app(1, 2, 0)])
            assert 2 in a.unreachable
            assert not a.transport.is_active(2) and not b.transport.is_active(1)
            assert b.got == [] and a.got == []
        finally:
            await stop_all(a, b)

    run(body())


def test_unknown_sender_is_refused_until_added() -> None:
    async def body(a: Member, b: Member) -> None:
        a.transport.add_peer(2, [b.url])  # b does not know a yet
        await wait_until_async(
            lambda: "not a known peer" in a.transport.stats()[2].last_error, what="refusal"
        )
        b.transport.add_peer(1, [a.url])  # b applies the conf change adding a
        await wait_until_async(lambda: a.transport.is_active(2), what="accepted after add")
        a.transport.send([app(1, 2, 1)])
        await wait_until_async(lambda: len(b.got) == 1, what="delivery")

    run(with_members([1, 2], body))


def test_removed_member_is_refused_and_told_so() -> None:
    async def body(a: Member, b: Member) -> None:
        await mesh(a, b)
        b.transport.remove_peer(1)
        await wait_until_async(lambda: a.removed == [2], what="a learns it was removed")
        assert not a.transport.is_active(2)
        assert "removed" in a.transport.stats()[2].last_error
        a.transport.send([app(1, 2, 0)])
        assert b.got == []
        b.transport.send([app(2, 1, 0)])  # messages to a removed peer are dropped quietly
        assert b.transport.peers() == []

    run(with_members([1, 2], body))


def test_large_snapshot_does_not_hold_up_other_peers() -> None:
    async def body(a: Member, b: Member, c: Member) -> None:
        await mesh(a, b, c)
        data = bytes(range(256)) * (32 * 1024)  # 8 MiB
        snap = Message(
            MessageType.SNAP, to=2, frm=1, term=3, snapshot=Snapshot(SnapshotMeta(99, 3), data)
        )
        a.transport.send([snap])
        for i in range(200):
            a.transport.send([app(1, 3, i)])
        await wait_until_async(lambda: len(c.got) == 200, what="small messages to c")
        await wait_until_async(lambda: len(b.got) == 1, what="snapshot at b")
        got = b.got[0].snapshot
        assert got is not None and got.data == data and got.meta.index == 99
        assert a.snap_status == [(2, True)]

    run(with_members([1, 2, 3], body))


def test_snapshot_to_an_unreachable_peer_reports_failure() -> None:
    async def body(a: Member) -> None:
        a.transport.add_peer(9, ["http://127.0.0.1:1"])
        await wait_until_async(lambda: a.transport.stats()[9].last_error != "", what="failure")
        snap = Message(MessageType.SNAP, to=9, frm=1, snapshot=Snapshot(SnapshotMeta(5, 1)))
        a.transport.send([snap])
        assert a.snap_status == [(9, False)]

    run(with_members([1], body))


def test_listen_urls_are_checked() -> None:
    async def body(a: Member) -> None:
        with pytest.raises(ValueError, match="must start with http:// or https://"):
            a.transport.add_peer(2, ["ftp://127.0.0.1:2380"])
        with pytest.raises(ValueError, match="no port"):
            a.transport.add_peer(2, ["http://127.0.0.1"])
        with pytest.raises(ValueError, match="own peer"):
            a.transport.add_peer(1, ["http://127.0.0.1:2380"])
        with pytest.raises(OSError):
            await start_member(5, listen=a.url)  # port taken

    run(with_members([1], body))


@pytest.mark.parametrize("loop", LOOPS)
def test_a_peer_that_stops_answering_is_declared_unreachable(loop: str) -> None:
    """A stopped process (SIGSTOP) keeps its sockets open but reads nothing and answers no
    PING: the link must give up on it, even with a writer stuck behind a full socket."""

    thaw = asyncio.Event()

    async def frozen_peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(4)
        (_, payload), *_ = FrameParser().feed(await reader.read(1024))
        hello = Hello.decode(payload)
        writer.write(Welcome(1, hello.target, hello.cluster_id).encode())
        await thaw.wait()  # never read again until the test ends
        writer.close()

    async def body(a: Member) -> None:
        server = await asyncio.start_server(frozen_peer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            a.transport.add_peer(9, [f"http://127.0.0.1:{port}"])
            await wait_until_async(lambda: a.transport.is_active(9), what="handshake")
            big = Message(MessageType.APP, to=9, frm=1, context=b"z" * (1 << 20))
            a.transport.send([big] * 64)  # far more than the socket buffers hold
            await wait_until_async(lambda: not a.transport.is_active(9), what="declared dead")
            assert "no answer" in a.transport.stats()[9].last_error
            assert 9 in a.unreachable
        finally:
            thaw.set()
            server.close()

    run(with_members([1], body, ping_interval=0.1), loop=loop)


def test_a_url_that_now_belongs_to_another_member_is_refused() -> None:
    async def body(a: Member, b: Member, c: Member) -> None:
        await mesh(a, c)
        a.transport.add_peer(2, [c.url])  # stale configuration: c listens where b was
        await wait_until_async(
            lambda: "this is member 3, not 2" in a.transport.stats()[2].last_error,
            what="wrong-target refusal",
        )
        a.transport.send([app(1, 2, 0)])
        assert c.got == [] and 2 in a.unreachable

    run(with_members([1, 2, 3], body))


def inactive_reasons(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the links logged when they went down (`peer X became inactive: <reason>`)."""
    return [
        r.getMessage().partition("became inactive: ")[2]
        for r in caplog.records
        if "became inactive: " in r.getMessage()
    ]


def test_a_copy_of_a_member_is_named_in_both_members_reasons(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Issue 19, row 16: coreos-01's data dir copied and started on another address. The two
    # members with one ID take turns on their peers' streams; each must hear why its stream
    # keeps ending (not a bare "connection closed by peer"), and the peer says it once.
    caplog.set_level(logging.INFO, logger="shoal.rafthttp")

    async def body() -> None:
        b = await start_member(2)
        a = await start_member(1)
        copy = await start_member(1, listen="http://127.0.0.2:0")
        try:
            b.transport.add_peer(1, [a.url])
            a.transport.add_peer(2, [b.url])
            await wait_until_async(lambda: a.transport.is_active(2), what="a's link up")
            copy.transport.add_peer(2, [b.url])

            def told(other: Member) -> bool:
                # The reason names the peer that ended the stream and the other member.
                return any(
                    f"{b.url} closed the stream: member 1 opened another stream: " in r
                    and f"and {other.url} both run as member 1 (a copy of its data dir?" in r
                    for r in inactive_reasons(caplog)
                )

            await wait_until_async(lambda: told(copy), what="a told about the copy")
            await wait_until_async(lambda: told(a), what="the copy told about a")
        finally:
            await stop_all(a, b, copy)

    run(body())
    warned = [r.getMessage() for r in caplog.records if "two members stream as 1" in r.getMessage()]
    assert len(warned) == 1, warned


def test_a_stream_replaced_by_the_same_member_says_so_without_a_copy_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="shoal.rafthttp")

    async def body(a: Member, b: Member) -> None:
        await mesh(a, b)
        # A second stream from a's own address (as when a redials before b noticed the old
        # stream die): the old one ends with the reason, and nobody is called a copy.
        host, port = b.url.removeprefix("http://").rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(MAGIC + Hello(PROTOCOL_VERSION, 1, 2, CLUSTER, a.url).encode())
        await reader.read(1024)
        want = f"{b.url} closed the stream: member 1 opened another stream, from {a.url}"
        await wait_until_async(
            lambda: want in inactive_reasons(caplog), what="a told its stream was replaced"
        )
        writer.close()

    run(with_members([1, 2], body))
    assert not [r for r in caplog.records if "two members stream" in r.getMessage()]
