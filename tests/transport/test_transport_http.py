"""Plain HTTP on the peer port, as tools and joining members use it."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from transport_harness import CLUSTER, LOOPS, app, mesh, run, start_member, stop_all

from support import wait_until_async

MEMBERS = [{"id": 1, "name": "coreos-01", "peerURLs": ["http://127.0.0.10:2380"], "clientURLs": []}]


def test_members_and_version_answer_plain_get() -> None:
    async def body() -> None:
        a = await start_member(1, members=lambda: MEMBERS)
        try:
            async with aiohttp.ClientSession() as http:  # one keep-alive connection, 3 requests
                async with http.get(a.url + "/members") as r:
                    assert r.status == 200
                    assert r.headers["Content-Type"] == "application/json"
                    assert r.headers["X-Etcd-Cluster-Id"] == format(CLUSTER, "x")
                    assert await r.json() == MEMBERS
                async with http.get(a.url + "/version") as r:
                    assert r.status == 200
                    assert await r.json() == {"etcdserver": "3.4.23", "etcdcluster": "3.4.0"}
                async with http.get(a.url + "/nope") as r:
                    assert r.status == 404
                    assert await r.text() == "404 page not found\n"
                async with http.post(a.url + "/members") as r:
                    assert r.status == 405
        finally:
            await stop_all(a)

    run(body())


@pytest.mark.parametrize("loop", LOOPS)
def test_http_and_peer_streams_share_the_port(loop: str) -> None:
    async def body() -> None:
        a = await start_member(1)
        b = await start_member(2)
        try:
            await mesh(a, b)
            host, port = a.url.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            # Two pipelined requests, the second asking to close, sent in pieces.
            raw = b"GET /version HTTP/1.1\r\nHost: x\r\n\r\nHEAD /members HTTP/1.1\r\n"
            writer.write(raw)
            await asyncio.sleep(0)
            writer.write(b"Connection: close\r\n\r\n")
            answer = await reader.read()
            writer.close()
            head, _, rest = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK")
            version_body, _, second = rest.partition(b"HTTP/1.1 ")
            assert json.loads(version_body)["etcdserver"] == "3.4.23"
            assert second.startswith(b"200 OK") and second.endswith(b"\r\n\r\n")  # HEAD: no body
            b.transport.send([app(2, 1, 0)])
            await wait_until_async(lambda: len(a.got) == 1, what="stream still works")
        finally:
            await stop_all(a, b)

    run(body(), loop=loop)


def test_garbage_on_the_peer_port_is_dropped() -> None:
    async def body() -> None:
        a = await start_member(1)
        try:
            host, port = a.url.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"\x16\x03\x01\x02\x00hello")  # a TLS ClientHello, say
            assert await reader.read() == b""
            writer.close()
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"GET /version HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
            assert (await reader.read()).startswith(b"HTTP/1.1 501")
            writer.close()
        finally:
            await stop_all(a)

    run(body())


def test_a_failing_members_callback_answers_500_not_a_dead_port() -> None:
    def broken() -> object:
        raise RuntimeError("membership not loaded")

    async def body() -> None:
        a = await start_member(1, members=broken)
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(a.url + "/members") as r:
                    assert r.status == 500
                async with http.get(a.url + "/version") as r:  # same connection, still served
                    assert r.status == 200
        finally:
            await stop_all(a)

    run(body())
