"""`shoal discovery`'s HTTP surface (in-process, a one-member shoal etcd behind it)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web

from shoal.discovery.service import DiscoveryService
from support import free_port, wait_until_async


@asynccontextmanager
async def _service(backend: str, token_ttl: float = 3600.0) -> AsyncIterator[str]:
    svc = DiscoveryService([backend], token_ttl)
    runner = web.ServerRunner(web.Server(svc.handle))
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()
        await svc.close()


async def _req(
    s: aiohttp.ClientSession, method: str, url: str, **kw: Any
) -> tuple[int, dict[str, str], str]:
    async with s.request(method, url, **kw) as r:
        return r.status, dict(r.headers), await r.text()


def _run(body: Callable[[aiohttp.ClientSession], Awaitable[None]]) -> None:
    async def go() -> None:
        async with aiohttp.ClientSession() as s:
            await asyncio.wait_for(body(s), 60)

    asyncio.run(go())


def test_new_token_default_size_and_ttl(shoal_registry: str) -> None:
    async def body(s: aiohttp.ClientSession) -> None:
        async with _service(shoal_registry) as svc:
            status, headers, token = await _req(s, "GET", svc + "/new")
            assert status == 200 and headers["Content-Type"].startswith("text/plain")
            assert token.startswith(svc + "/") and not token.endswith("\n")
            name = token.rsplit("/", 1)[1]
            assert len(name) == 32 and int(name, 16) >= 0
            status, _, text = await _req(s, "GET", token + "/_config/size")
            assert status == 200 and json.loads(text)["node"]["value"] == "3"
            raw = f"{shoal_registry}/v2/keys/_etcd/registry/{name}"
            _, _, text = await _req(s, "GET", raw + "?recursive=false")
            assert 3500 < json.loads(text)["node"]["ttl"] <= 3600
            status, _, text = await _req(s, "GET", svc + "/new?size=five")
            assert status == 400 and "Unable to parse size" in text

    _run(body)


def test_registry_requests_keep_etcds_status_index_and_body(shoal_registry: str) -> None:
    async def body(s: aiohttp.ClientSession) -> None:
        async with _service(shoal_registry) as svc:
            token = (await _req(s, "GET", svc + "/new?size=2"))[2]
            form = {"value": "a=http://127.0.0.1:2380"}
            put = token + "/abc?prevExist=false"
            status, headers, text = await _req(s, "PUT", put, data=form)
            assert status == 201 and int(headers["X-Etcd-Index"]) > 0
            created = json.loads(text)["node"]["createdIndex"]
            status, _, text = await _req(s, "PUT", put, data=form)
            assert status == 412 and json.loads(text)["errorCode"] == 105

            # A recursive watch from the next index returns when a member registers.
            async def watchers() -> int:
                stats = (await _req(s, "GET", shoal_registry + "/v2/stats/store"))[2]
                return int(json.loads(stats)["watchers"])

            async def registered() -> bool:
                return await watchers() > before

            before = await watchers()
            watch = s.get(token + f"?wait=true&recursive=true&waitIndex={created + 1}")
            task = asyncio.ensure_future(watch.__aenter__())
            # The service passes the watch on to its registry: wait until the registry has it.
            await wait_until_async(registered, 20, "the registry to hold the watch")
            await _req(s, "PUT", token + "/def?prevExist=false", data={"value": "b=http://x:1"})
            resp = await task
            event = json.loads(await resp.text())
            await watch.__aexit__(None, None, None)
            assert event["action"] == "create" and event["node"]["key"].endswith("/def")

            status, _, text = await _req(s, "GET", token)
            keys = sorted(n["key"].rsplit("/", 1)[1] for n in json.loads(text)["node"]["nodes"])
            assert keys == ["abc", "def"]  # `_config` is hidden, as in etcd

    _run(body)


def test_tokens_expire_after_the_configured_age(shoal_registry: str) -> None:
    async def body(s: aiohttp.ClientSession) -> None:
        async with _service(shoal_registry, token_ttl=1.0) as svc:
            token = (await _req(s, "GET", svc + "/new"))[2]
            assert (await _req(s, "GET", token + "/_config/size"))[0] == 200

            async def expired() -> bool:
                return (await _req(s, "GET", token + "/_config/size"))[0] == 404

            await wait_until_async(expired, 20, "the token to expire", every=0.2)

    _run(body)


def test_unreachable_backend_is_a_gateway_error() -> None:
    async def body(s: aiohttp.ClientSession) -> None:
        async with _service(f"http://127.0.0.1:{free_port()}") as svc:
            status, _, text = await _req(s, "GET", svc + "/0123abcd/_config/size")
            assert status == 502 and "unable to get response from 1 endpoint(s)" in text
            status, _, _ = await _req(s, "GET", svc + "/new")
            assert status == 500

    _run(body)
