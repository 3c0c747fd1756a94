"""Forwarding one client request to the first endpoint that takes it (etcd 3.4's
proxy/httpproxy/reverse.go).

The body is read once and sent again to each endpoint tried; hop-by-hop headers are dropped both
ways and the client's address is appended to X-Forwarded-For. An endpoint that cannot be reached
(refused, dial timeout) is marked failed and the next one is tried; the first answer, whatever
its status, is relayed as it arrives, chunk by chunk, so a streaming watch reaches the client
event by event. (etcd 3.4's proxy copies the answer into a buffered writer, so `stream=true`
events reach its clients late, in 4 KB lumps; shoal flushes each chunk.)
With no endpoint left the answer is etcd's: 503 `zero endpoints currently available`; with every
one failing, 502 `unable to get response from N endpoint(s)`; both as httptypes.HTTPError JSON.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from shoal.etcd import log
from shoal.etcd.proxy import metrics
from shoal.etcd.proxy.director import PKG, Director
from shoal.etcd.proxy.metrics import ProxyMetrics

# reverse.go singleHopHeaders, plus Host (aiohttp sets the endpoint's).
HOP_HEADERS = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Te",
        "Trailers",
        "Transfer-Encoding",
        "Upgrade",
        "Host",
    )
)
ZERO_ENDPOINTS = "zero endpoints currently available"
NO_RESPONSE = "unable to get response from {} endpoint(s)"


@dataclass(frozen=True)
class Timeouts:
    """--proxy-dial-timeout and --proxy-read-timeout in seconds (0: none, as etcd's 0), and
    the TLS context for https endpoints (None: the system's defaults)."""

    dial: float = 1.0
    read: float = 0.0
    tls: ssl.SSLContext | None = None


def http_error(status: int, message: str, extra: dict[str, str] | None = None) -> web.Response:
    """httptypes.HTTPError.WriteTo: `{"message": ...}` as application/json."""
    headers = dict(extra or {})
    headers["Content-Type"] = "application/json"
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return web.Response(status=status, body=body, headers=headers)


class ReverseProxy:
    """Sends requests to the director's endpoints; one aiohttp session for all of them."""

    def __init__(
        self,
        director: Director,
        timeouts: Timeouts = Timeouts(),
        unreachable: Callable[[str], str | None] = lambda url: None,
        metrics: ProxyMetrics | None = None,
    ) -> None:
        self.director = director
        self.metrics = metrics or ProxyMetrics(process=False)
        self.timeouts = timeouts
        self._session: aiohttp.ClientSession | None = None
        # Why an endpoint cannot be reached now (shoal partition), or None: tried as usual.
        self._unreachable = unreachable
        self._relaying: dict[asyncio.Task[object], str] = {}  # answers being streamed back

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            t = self.timeouts
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=t.dial or None, sock_read=t.read or None
                ),
                auto_decompress=False,
                # Many concurrent watches are normal; etcd keeps 128 idle per member.
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=0, ssl=t.tls or True),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def forward(
        self,
        request: web.BaseRequest,
        extra: dict[str, str] | None = None,
        target: str | None = None,
    ) -> web.StreamResponse:
        """Answer `request` with what the first reachable endpoint answers. `extra` headers
        (the proxy's CORS ones) are added to every answer, as etcd's wrapper adds its own;
        `target` replaces the request's path and query (the discovery service's mapping)."""
        counted = self.metrics
        counted.request_incoming(request.method)
        started = time.monotonic()
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        if request.remote:  # maybeSetForwardedFor: append, comma+space separated
            prior = request.headers.getall("X-Forwarded-For", [])
            headers.pop("X-Forwarded-For", None)
            headers["X-Forwarded-For"] = ", ".join([*prior, request.remote])
        endpoints = self.director.endpoints()
        if not endpoints:
            counted.request_dropped(request.method, metrics.ZERO_ENDPOINTS)
            log.info(PKG, ZERO_ENDPOINTS)
            return http_error(503, "httpproxy: " + ZERO_ENDPOINTS, extra)
        session = self._client()
        for ep in endpoints:
            why = self._unreachable(ep.url)
            if why is not None:
                counted.request_dropped(request.method, metrics.FAILED_SENDING)
                log.info(PKG, f"failed to direct request to {ep.url}: {why}")
                ep.failed(self.director.failure_wait)
                continue
            try:
                upstream = await session.request(
                    request.method,
                    ep.url.rstrip("/") + (request.raw_path if target is None else target),
                    data=body if body else None,
                    headers=headers,
                    allow_redirects=False,
                )
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                counted.request_dropped(request.method, metrics.FAILED_SENDING)
                log.info(PKG, f"failed to direct request to {ep.url}: {_reason(exc)}")
                ep.failed(self.director.failure_wait)
                continue
            # reportRequestHandled: when the member's answer (its headers) is in.
            counted.request_handled(request.method, upstream.status, time.monotonic() - started)
            task = asyncio.current_task()
            async with upstream:
                try:
                    if task is not None:
                        self._relaying[task] = ep.url
                    return await _relay(request, upstream, extra)
                except asyncio.CancelledError:
                    # aiohttp cancels the handler when the client hangs up (a watcher leaving),
                    # and `cut` does when a partition takes the member away: leaving this block
                    # closes the request to the member too.
                    if task is not None and self._relaying.get(task) != "":
                        log.info(PKG, f"client {_addr(request)} closed request prematurely")
                    raise
                finally:
                    if task is not None:
                        self._relaying.pop(task, None)
        msg = NO_RESPONSE.format(len(endpoints))
        counted.request_dropped(request.method, metrics.FAILED_GETTING)
        log.info(PKG, msg)
        return http_error(502, "httpproxy: " + msg, extra)

    def cut(self, blocked: Callable[[str], bool]) -> int:
        """End the answers still streaming from endpoints now blocked (a watch opened before a
        partition must not keep the partitioned side informed). Returns how many."""
        n = 0
        for task, url in list(self._relaying.items()):
            if url and blocked(url):
                log.info(PKG, f"cut the answer streaming from {url} (shoal partition)")
                self._relaying[task] = ""  # not the client's doing: no "closed prematurely"
                task.cancel()
                n += 1
        return n


def _addr(request: web.BaseRequest) -> str:
    """Go's RemoteAddr: host:port."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(request.remote)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "i/o timeout"
    return str(exc) or type(exc).__name__


async def _relay(
    request: web.BaseRequest, upstream: aiohttp.ClientResponse, extra: dict[str, str] | None
) -> web.StreamResponse:
    resp = web.StreamResponse(status=upstream.status, reason=upstream.reason)
    for k, v in (extra or {}).items():
        resp.headers.add(k, v)
    for k, v in upstream.headers.items():
        if k.lower() not in HOP_HEADERS and k.lower() != "content-length":
            resp.headers.add(k, v)
    if upstream.content_length is not None:
        resp.content_length = upstream.content_length
    try:
        await resp.prepare(request)
        async for chunk in upstream.content.iter_any():
            await resp.write(chunk)
        await resp.write_eof()
    except (ConnectionResetError, aiohttp.ClientConnectionResetError):
        log.info(PKG, f"client {_addr(request)} closed request prematurely")
    except (aiohttp.ClientError, TimeoutError) as exc:
        # The member went away mid-answer: the headers are out, so all we can do is cut it.
        log.info(PKG, f"error reading the answer: {_reason(exc)}")
    return resp
