"""fleet's view of etcd: the few v2 keys calls it makes, over shoal's shared client.

This module adapts `shoal.client.AsyncClient` (endpoint failover, per-request timeouts, the Go
client's wire format) to the small `registry.KeysAPI` surface and to fleet's two kinds of failure:
`EtcdError` (etcd answered with an error code fleet acts on: 100, 101, 105, 401) and
`EtcdUnavailable` (no member answered in time, or none can serve: down, partitioned or without
quorum). Swapping the transport again means changing this file only.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp

from shoal.client import AsyncClient, ClientError
from shoal.client import EtcdError as ClientEtcdError
from shoal.client import Node as ClientNode
from shoal.client import Response as ClientResponse
from shoal.client.model import decode_response

log = logging.getLogger("shoal.fleet.etcd")

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
    def of(n: ClientNode) -> Node:
        return Node(
            key=n.key,
            value=None if n.dir else n.value,
            dir=n.dir,
            nodes=tuple(Node.of(c) for c in n.nodes or ()),
            modified_index=n.modified_index,
            created_index=n.created_index,
            ttl=n.ttl or None,
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

    @staticmethod
    def of(r: ClientResponse) -> Response:
        prev = Node.of(r.prev_node) if r.prev_node is not None else None
        return Response(r.action, Node.of(r.node), prev, r.index)


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


def _ttl(ttl: float | None) -> int | None:
    return None if ttl is None else max(1, round(ttl))


class EtcdV2:
    """`registry.KeysAPI` over shoal's etcd v2 client; each call bounded by `timeout` seconds
    per endpoint (fleet's etcd_request_timeout), except watches, which `watch` bounds itself."""

    def __init__(
        self,
        endpoints: Sequence[str],
        timeout: float = 1.0,
        tls: TLSFiles | None = None,
        username: str = "",
        password: str = "",
    ) -> None:
        self.timeout = timeout
        self.requests = 0  # counted for the scale bench (requests per second at rest)
        self._endpoints = [e.rstrip("/") for e in endpoints]
        self._ssl = (tls or TLSFiles()).context()
        self._auth = aiohttp.BasicAuth(username, password) if username else None
        self._stream_session: aiohttp.ClientSession | None = None
        self._client = AsyncClient(
            list(endpoints),
            timeout=timeout,
            username=username or None,
            password=password or None,
            ssl_context=self._ssl,
            on_request=self._count,
        )

    def _count(self, method: str, url: str, body: str | None) -> None:
        self.requests += 1
        log.debug("etcd %s %s %s", method, url, body or "")

    async def close(self) -> None:
        await self._client.close()
        if self._stream_session is not None:
            await self._stream_session.close()

    async def _call(self, op: Awaitable[ClientResponse]) -> Response:
        try:
            return Response.of(await op)
        except ClientEtcdError as e:
            if e.code in _UNAVAILABLE_CODES:
                raise EtcdUnavailable(str(e)) from None
            raise EtcdError(e.code, e.message, e.cause, e.index) from None
        except ClientError as e:
            raise EtcdUnavailable(str(e)) from None

    async def get(
        self, key: str, recursive: bool = False, sort: bool = False, quorum: bool = False
    ) -> Response:
        return await self._call(
            self._client.get(key, recursive=recursive, sorted=sort, quorum=quorum)
        )

    async def set(
        self,
        key: str,
        value: str,
        ttl: float | None = None,
        prev_exist: bool | None = None,
        prev_index: int | None = None,
        prev_value: str | None = None,
    ) -> Response:
        return await self._call(
            self._client.set(
                key,
                value,
                ttl=_ttl(ttl),
                prev_exist=prev_exist,
                prev_index=prev_index,
                prev_value=prev_value,
            )
        )

    async def delete(
        self,
        key: str,
        recursive: bool = False,
        prev_index: int | None = None,
        prev_value: str | None = None,
    ) -> Response:
        return await self._call(
            self._client.delete(
                key, recursive=recursive, prev_index=prev_index, prev_value=prev_value
            )
        )

    async def refresh(self, key: str, ttl: float, prev_index: int | None = None) -> Response:
        """Reset a key's TTL without changing its value; watchers are not woken."""
        return await self._call(
            self._client.set(
                key,
                ttl=_ttl(ttl),
                refresh=True,
                prev_exist=True if prev_index is None else None,
                prev_index=prev_index,
            )
        )

    async def watch_stream(self, key: str, wait_index: int) -> AsyncIterator[Response]:
        """Every change at or under `key` from `wait_index` on, over one long-lived request
        (etcd's `stream=true`), until the server ends it; the caller resumes after the last
        event. Raises EtcdError 401 when that index is no longer in etcd's history and
        EtcdUnavailable when no endpoint answers.

        shoal's shared client polls one event per request; at a thousand units that meant
        thousands of requests per fleetd for one `fleetctl start`, so the watch streams here."""
        if self._stream_session is None or self._stream_session.closed:
            self._stream_session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else False),
                auth=self._auth,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.timeout),
            )
        params = {
            "wait": "true",
            "recursive": "true",
            "stream": "true",
            "waitIndex": str(wait_index),
        }
        last: Exception | None = None
        for endpoint in self._endpoints:
            url = endpoint + "/v2/keys" + quote("/" + key.lstrip("/"), safe="/@:-_.~")
            self.requests += 1
            try:
                async with self._stream_session.get(url, params=params) as resp:
                    if resp.status != 200:
                        body = await resp.read()
                        try:
                            err = json.loads(body)
                            code = int(err["errorCode"])
                        except (ValueError, KeyError, TypeError):
                            raise EtcdUnavailable(f"watch answered {resp.status}") from None
                        if code in _UNAVAILABLE_CODES:
                            raise EtcdUnavailable(str(err.get("message", "")))
                        raise EtcdError(
                            code,
                            str(err.get("message", "")),
                            str(err.get("cause", "")),
                            int(err.get("index", 0)),
                        )
                    index = int(resp.headers.get("X-Etcd-Index", "0") or 0)
                    while line := await resp.content.readline():
                        if not line.strip():
                            continue
                        yield Response.of(decode_response(line, {"X-Etcd-Index": str(index)}))
                    return
            except (aiohttp.ClientError, OSError) as e:
                last = e
                continue
        raise EtcdUnavailable(f"no etcd endpoint answered the watch: {last}")
