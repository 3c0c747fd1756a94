"""The client against a real 3-member etcd 3.4: what fleet, discovery and the HTTP server tests
rely on (typed results, etcd's error fields, watches, membership, failover to a live member)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
from collections.abc import Iterator

import pytest

from shoal.client import AsyncClient, Client, ClusterError, EtcdError
from support import wait_until_async


@pytest.fixture(scope="module")
def c(cluster) -> Iterator[Client]:  # type: ignore[no-untyped-def]
    with Client(cluster.client_urls, total_timeout=10) as client:
        yield client


@pytest.fixture(autouse=True)
def _clean(c: Client) -> None:
    with contextlib.suppress(EtcdError):
        c.delete("/c", recursive=True)


def test_set_get_and_the_headers(c: Client) -> None:
    first = c.set("/c/a", "1")
    assert (first.action, first.node.key, first.node.value, first.prev_node) == (
        "set",
        "/c/a",
        "1",
        None,
    )
    assert first.index == first.node.modified_index == first.node.created_index
    assert first.cluster_id and first.raft_term >= 1
    second = c.set("/c/a", "2", ttl=60)
    assert second.prev_node is not None and second.prev_node.value == "1"
    assert second.node.ttl == 60 and second.node.expiration
    got = c.get("/c/a", quorum=True)
    assert got.node.value == "2" and got.index >= second.index


def test_create_update_and_compare(c: Client) -> None:
    assert c.create("/c/k", "v").action == "create"
    with pytest.raises(EtcdError) as exists:
        c.create("/c/k", "v")
    assert (exists.value.code, exists.value.message, exists.value.cause) == (
        105, "Key already exists", "/c/k",
    )  # fmt: skip
    assert exists.value.status == 412 and exists.value.etcd_index == exists.value.index
    assert c.update("/c/k", "w").prev_node is not None
    with pytest.raises(EtcdError) as missing:
        c.update("/c/nope", "w")
    assert missing.value.code == 100 and missing.value.status == 404
    cas = c.set("/c/k", "x", prev_value="w")
    assert cas.action == "compareAndSwap"
    with pytest.raises(EtcdError) as failed:
        c.set("/c/k", "y", prev_value="w", prev_index=1)
    assert failed.value.code == 101 and failed.value.cause == f"[w != x] [1 != {cas.index}]"
    cad = c.delete("/c/k", prev_index=cas.index)
    assert cad.action == "compareAndDelete" and cad.prev_node and cad.prev_node.value == "x"


def test_directories_listing_and_in_order_keys(c: Client) -> None:
    c.set("/c/d", dir=True, ttl=30)
    c.refresh("/c/d", ttl=60)
    q1 = c.create_in_order("/c/q", "job1")
    q2 = c.create_in_order("/c/q", "job2")
    assert q1.node.key < q2.node.key and q1.node.key.startswith("/c/q/")
    c.set("/c/b/x", "1")
    listing = c.get("/c", recursive=True, sorted=True)
    assert [n.key for n in listing.node.walk()] == [
        "/c", "/c/b", "/c/b/x", "/c/d", "/c/q", q1.node.key, q2.node.key,
    ]  # fmt: skip
    with pytest.raises(EtcdError) as not_empty:
        c.delete("/c/b", dir=True)
    assert not_empty.value.code == 108
    assert c.delete("/c/b", recursive=True).node.dir


def test_watch_from_an_index_and_as_a_stream(c: Client) -> None:
    start = c.set("/c/w", "0").index
    c.set("/c/w", "1")
    c.delete("/c/w")
    assert c.watch("/c/w", wait_index=start + 1).node.value == "1"
    stream = c.watch_iter("/c", after_index=start, recursive=True)
    actions = [(e.action, e.node.key) for e in itertools.islice(stream, 2)]
    assert actions == [("set", "/c/w"), ("delete", "/c/w")]


def test_watch_waits_for_the_next_change(cluster) -> None:  # type: ignore[no-untyped-def]
    async def scenario(urls: list[str]) -> None:
        async def watchers() -> int:  # every member's own count: the watch is on one of them
            total = 0
            for url in urls:
                async with AsyncClient([url]) as one:
                    total += int((await one.stats("store"))["watchers"])
            return total

        async with AsyncClient(urls) as a, AsyncClient(urls) as b:
            before = await watchers()
            waiter = asyncio.create_task(a.watch("/c/later"))

            async def registered() -> bool:
                return await watchers() > before

            await wait_until_async(registered, 20, "the watch to be registered")
            assert not waiter.done()
            await b.set("/c/later", "now")
            event = await asyncio.wait_for(waiter, 10)
            assert (event.action, event.node.value) == ("set", "now")

    asyncio.run(scenario(cluster.client_urls))


def test_members_leader_health_version_stats(c: Client, cluster) -> None:  # type: ignore[no-untyped-def]
    members = c.members()
    assert sorted(u for m in members for u in m.client_urls) == sorted(cluster.client_urls)
    assert c.leader().id in {m.id for m in members}
    assert all(c.health(url).healthy for url in cluster.client_urls)
    assert c.version().server.startswith("3.4")
    assert c.stats("self")["id"] in {m.id for m in members}
    assert "getsSuccess" in c.stats("store")


def test_sync_and_failover_to_a_live_member(cluster) -> None:  # type: ignore[no-untyped-def]
    with Client([cluster.client_urls[0]]) as one:
        assert sorted(one.sync()) == sorted(cluster.client_urls)
    cluster.stop(0, signal.SIGKILL)
    try:
        with Client(cluster.client_urls, timeout=1) as c:
            assert c.set("/c/failover", "ok").node.value == "ok"
        with Client([cluster.client_urls[0]]) as dead, pytest.raises(ClusterError) as err:
            dead.get("/c/failover")
        assert err.value.is_connection_error
        assert "connect: connection refused" in str(err.value)
    finally:
        cluster.start(0)
        cluster.wait_ready()
