"""A minimal async client of etcd's v2 keys API (the only way fleet talks to etcd).

Kept deliberately small and behind `registry.KeysAPI`, so it can be swapped for shoal's shared
client (src/shoal/client/) by changing one import in registry.py. It speaks plain HTTP(S) to any
v2 server: shoal etcd or a real etcd 3.4 started with --enable-v2.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

# etcd v2 error codes that fleet treats specially (etcd error/error.go).
ERR_KEY_NOT_FOUND = 100
ERR_TEST_FAILED = 101
ERR_NODE_EXIST = 105
ERR_EVENT_INDEX_CLEARED = 401
# 300 "Raft Internal Error", 301 "During Leader Election": the cluster cannot answer now.
_UNAVAILABLE_CODES = frozenset({300, 301})


class EtcdError(Exception):
    """etcd answered with an error body ({"errorCode", "message", "cause", "index"})."""

    def __init__(self, code: int, message: str, cause: str = "", index: int = 0) -> None:
        super().__init__(f"{code}: {message} ({cause}) [{index}]")
        self.code = code
        self.message = message
        self.cause = cause
        self.index = index


class EtcdUnavailable(Exception):
    """No endpoint answered in time (down, partitioned, or without quorum)."""


@dataclass(frozen=True)
class Node:
    key: str
    value: str | None = None
    dir: bool = False
    nodes: tuple[Node, ...] = ()
    modified_index: int = 0
    created_index: int = 0
    ttl: int | None = None

    @staticmethod
    def from_json(d: dict[str, Any]) -> Node:
        return Node(
            key=d.get("key", "/"),
            value=d.get("value"),
            dir=bool(d.get("dir", False)),
            nodes=tuple(Node.from_json(n) for n in d.get("nodes") or ()),
            modified_index=int(d.get("modifiedIndex", 0)),
            created_index=int(d.get("createdIndex", 0)),
            ttl=d.get("ttl"),
        )

    def leaves(self) -> Iterator[Node]:
        """Every value node at or under this one."""
        if not self.dir:
            yield self
        for n in self.nodes:
            yield from n.leaves()


@dataclass(frozen=True)
class Response:
    action: str
    node: Node
    prev_node: Node | None
    etcd_index: int


@dataclass(frozen=True)
class TLSFiles:
    cafile: str = ""
    certfile: str = ""
    keyfile: str = ""

    def context(self) -> ssl.SSLContext | None:
        if not (self.cafile or self.certfile):
            return None
        ctx = ssl.create_default_context(cafile=self.cafile or None)
        if self.certfile:
            ctx.load_cert_chain(self.certfile, self.keyfile or None)
        return ctx


class EtcdV2:
    """Keys API over HTTP with endpoint failover; each call bounded by `timeout` seconds."""

    def __init__(
        self,
        endpoints: Sequence[str],
        timeout: float = 1.0,
        tls: TLSFiles | None = None,
        username: str = "",
        password: str = "",
    ) -> None:
        self._endpoints = [e.rstrip("/") for e in endpoints]
        self._current = 0
        self.timeout = timeout
        self._ssl = (tls or TLSFiles()).context()
        self._auth = aiohttp.BasicAuth(username, password) if username else None
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0  # counted for the scale bench (requests per second at rest)

    def _sess(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            conn = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else False)
            self._session = aiohttp.ClientSession(connector=conn, auth=self._auth)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _request(
        self,
        method: str,
        key: str,
        params: dict[str, str],
        form: dict[str, str] | None = None,
        timeout: float | None = None,
        idle_ok: bool = False,
    ) -> Response:
        path = "/v2/keys" + quote("/" + key.lstrip("/"), safe="/@:-_.~")
        limit = aiohttp.ClientTimeout(total=timeout if timeout is not None else self.timeout)
        last: Exception | None = None
        n = len(self._endpoints)
        for attempt in range(n):
            idx = (self._current + attempt) % n
            url = self._endpoints[idx] + path
            self.requests += 1
            try:
                async with self._sess().request(
                    method, url, params=params, data=form, timeout=limit
                ) as resp:
                    body = await resp.read()
                    etcd_index = int(resp.headers.get("X-Etcd-Index", "0") or 0)
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError, OSError) as e:
                if idle_ok and isinstance(e, TimeoutError):
                    raise  # a long poll that saw no change: the caller re-issues it
                last = e
                continue
            self._current = idx
            try:
                doc = json.loads(body) if body else {}
            except ValueError:
                doc = {}
            if not isinstance(doc, dict):
                doc = {}
            if "errorCode" in doc:
                code = int(doc["errorCode"])
                if code in _UNAVAILABLE_CODES:
                    raise EtcdUnavailable(doc.get("message", "etcd unavailable"))
                raise EtcdError(
                    code,
                    doc.get("message", ""),
                    str(doc.get("cause", "")),
                    int(doc.get("index", 0)),
                )
            if status >= 500 or "node" not in doc:
                raise EtcdUnavailable(f"etcd answered {status}: {body[:200]!r}")
            prev = doc.get("prevNode")
            return Response(
                action=doc.get("action", ""),
                node=Node.from_json(doc["node"]),
                prev_node=Node.from_json(prev) if prev else None,
                etcd_index=etcd_index,
            )
        raise EtcdUnavailable(f"no etcd endpoint reachable ({', '.join(self._endpoints)}): {last}")

    async def get(
        self, key: str, recursive: bool = False, sort: bool = False, quorum: bool = False
    ) -> Response:
        params = {}
        if recursive:
            params["recursive"] = "true"
        if sort:
            params["sorted"] = "true"
        if quorum:
            params["quorum"] = "true"
        return await self._request("GET", key, params)

    async def set(
        self,
        key: str,
        value: str,
        ttl: float | None = None,
        prev_exist: bool | None = None,
        prev_index: int | None = None,
        prev_value: str | None = None,
    ) -> Response:
        form = {"value": value}
        if ttl is not None:
            form["ttl"] = str(max(1, round(ttl)))
        if prev_exist is not None:
            form["prevExist"] = "true" if prev_exist else "false"
        if prev_index is not None:
            form["prevIndex"] = str(prev_index)
        if prev_value is not None:
            form["prevValue"] = prev_value
        return await self._request("PUT", key, {}, form)

    async def delete(
        self,
        key: str,
        recursive: bool = False,
        prev_index: int | None = None,
        prev_value: str | None = None,
    ) -> Response:
        params = {}
        if recursive:
            params["recursive"] = "true"
        if prev_index is not None:
            params["prevIndex"] = str(prev_index)
        if prev_value is not None:
            params["prevValue"] = prev_value
        return await self._request("DELETE", key, params)

    async def watch(self, key: str, wait_index: int, timeout: float) -> Response:
        """Long-poll for the first change at or under `key` with index >= wait_index; raises
        TimeoutError when nothing changed within `timeout`."""
        params = {"wait": "true", "recursive": "true", "waitIndex": str(wait_index)}
        return await self._request("GET", key, params, timeout=timeout, idle_ok=True)


async def wait_ready(client: EtcdV2, deadline: float) -> None:
    """Retry a read until etcd answers or `deadline` (loop time) passes; for tests and startup."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            await client.get("/")
            return
        except EtcdUnavailable:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.1)
