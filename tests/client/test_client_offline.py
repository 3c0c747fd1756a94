"""Client behaviour that needs no etcd: decoding, paths, and endpoint failover against small
local servers that misbehave on purpose (refuse, hang, answer 5xx)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from shoal.client import (
    AsyncClient,
    ClusterError,
    DeadlineExceeded,
    EtcdError,
    key_path,
    normalize_endpoint,
)
from shoal.client.model import decode_error_body, decode_response


def test_key_paths_are_cleaned_like_the_go_client() -> None:
    assert key_path("a") == "/v2/keys/a"
    assert key_path("/a/b/") == "/v2/keys/a/b/"
    assert key_path("//a/./b/../c") == "/v2/keys/a/c"
    assert key_path("") == "/v2/keys"
    assert key_path("/") == "/v2/keys/"


def test_endpoints_get_a_scheme() -> None:
    assert normalize_endpoint("127.0.0.1:2379") == "http://127.0.0.1:2379"
    assert normalize_endpoint("https://h:1/") == "https://h:1"


def test_decode_response_with_headers_and_children() -> None:
    body = (
        b'{"action":"get","node":{"key":"/d","dir":true,"nodes":[{"key":"/d/x","value":"1",'
        b'"expiration":"2026-01-01T00:00:00Z","ttl":5,"modifiedIndex":7,"createdIndex":6}],'
        b'"modifiedIndex":3,"createdIndex":3}}\n'
    )
    resp = decode_response(body, {"x-etcd-index": "9", "X-Etcd-Cluster-Id": "abc"})
    assert resp.index == 9 and resp.cluster_id == "abc"
    assert resp.node.dir and resp.node.value == ""
    (child,) = resp.node.nodes or ()
    assert (child.key, child.value, child.ttl, child.created_index) == ("/d/x", "1", 5, 6)
    assert [n.key for n in resp.node.walk()] == ["/d", "/d/x"]


def test_etcd_error_reads_like_etcdctl_prints_it() -> None:
    body = decode_error_body(b'{"errorCode":100,"message":"Key not found","cause":"/a","index":8}')
    err = EtcdError(body, status=404, etcd_index=8)
    assert str(err) == "100: Key not found (/a) [8]"
    assert (err.code, err.cause, err.index, err.etcd_index) == (100, "/a", 8, 8)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def servers() -> AsyncIterator[dict[str, str]]:
    """Local endpoints: 'ok' answers like etcd, 'hang' accepts connections but never answers,
    'e503' says 503, 'dead' refuses connections."""

    async def ok(request: web.Request) -> web.Response:
        body = '{"action":"get","node":{"key":"/a","value":"1","modifiedIndex":4,"createdIndex":4}}'
        return web.Response(text=body + "\n", headers={"X-Etcd-Index": "4"})

    async def unavailable(request: web.Request) -> web.Response:
        return web.Response(status=503, text="")

    runners = []
    urls = {}
    for name, handler in (("ok", ok), ("e503", unavailable)):
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        urls[name] = f"http://127.0.0.1:{port}"
        runners.append(runner)
    # Listening but never accepting: the kernel completes the TCP handshake, nobody answers.
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(16)
    urls["hang"] = f"http://127.0.0.1:{hang.getsockname()[1]}"
    urls["dead"] = f"http://127.0.0.1:{_closed_port()}"
    try:
        yield urls
    finally:
        hang.close()
        for runner in runners:
            await runner.cleanup()


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_failover_skips_dead_hung_and_leaderless_endpoints() -> None:
    async def scenario() -> None:
        async with servers() as urls:
            order = [urls["dead"], urls["hang"], urls["e503"], urls["ok"]]
            async with AsyncClient(order, timeout=0.3) as c:
                resp = await c.get("/a")
                assert resp.node.value == "1" and resp.index == 4
                # The endpoint that answered is now pinned: the next call goes straight there.
                seen: list[str] = []
                c.on_request = lambda m, u, b: seen.append(u)
                await c.get("/a")
                assert seen == [urls["ok"] + "/v2/keys/a?quorum=false&recursive=false&sorted=false"]

    run(scenario())


def test_every_endpoint_failing_is_one_cluster_error_naming_each() -> None:
    async def scenario() -> None:
        async with servers() as urls:
            async with AsyncClient([urls["dead"], urls["hang"], urls["e503"]], timeout=0.3) as c:
                with pytest.raises(ClusterError) as info:
                    await c.get("/a")
            port = urls["dead"].rsplit(":", 1)[1]
            assert [e.detail for e in info.value.errors] == [
                f"dial tcp 127.0.0.1:{port}: connect: connection refused",
                f"client: endpoint {urls['hang']} exceeded header timeout",
                f"client: etcd member {urls['e503']} has no leader",
            ]
            assert not info.value.is_connection_error
            assert str(info.value).startswith(
                "client: etcd cluster is unavailable or misconfigured; error #0: dial tcp"
            )

    run(scenario())


def test_total_timeout_bounds_the_whole_call() -> None:
    async def scenario() -> None:
        async with servers() as urls:
            c = AsyncClient([urls["hang"]], timeout=None, total_timeout=0.3)
            with pytest.raises(DeadlineExceeded, match="context deadline exceeded"):
                await c.get("/a")
            await c.close()

    run(scenario())
