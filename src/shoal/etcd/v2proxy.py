"""The v2 proxy: what a member becomes when discovery finds the cluster full and
--discovery-fallback is `proxy` (etcd 3.4 etcdmain.startProxy + proxy/httpproxy).

It keeps no data: every client request is forwarded, body and streaming answers included, to
one of the cluster's client URLs. Those come from `GET <peer>/members` on the peer URLs the
discovery token lists, refreshed every 30 s (--proxy-refresh-interval's default; every second
while none is known yet, so a proxy started before its cluster comes up sooner). A client URL
that fails is left out for 5 s (--proxy-failure-wait). The peer URLs are kept in
`<data-dir>/proxy/cluster` (`{"PeerURLs": [...]}`), so a restart needs no token.

`Forwarder` is also what `shoal discovery` uses to pass registry requests to its etcd.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from shoal.etcd import log
from shoal.etcd.flags import EtcdConfig
from shoal.gocompat.fmt import sprint_list

PKG = "etcdmain"
REFRESH_INTERVAL = 30.0
FAILURE_WAIT = 5.0
DIAL_TIMEOUT = 1.0
CLUSTER_FILE = "cluster"
# RFC 7230 hop-by-hop headers, dropped both ways as Go's httputil.ReverseProxy does.
HOP_HEADERS = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Proxy-Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Te",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Host",
    )
)


def _go_http_error(status: int, msg: str) -> web.Response:
    """http.Error: the message and a newline, as plain text."""
    return web.Response(
        status=status,
        text=msg + "\n",
        headers={"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
    )


class Forwarder:
    """Forwards requests to the first client URL that answers, streaming the answer back."""

    def __init__(
        self, endpoints: Callable[[], list[str]], failure_wait: float = FAILURE_WAIT
    ) -> None:
        self._endpoints = endpoints
        self._failure_wait = failure_wait
        self._down_until: dict[str, float] = {}
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def available(self) -> list[str]:
        now = time.monotonic()
        return [e for e in self._endpoints() if self._down_until.get(e, 0.0) <= now]

    async def forward(self, request: web.BaseRequest, path_qs: str) -> web.StreamResponse:
        """Send `request` to `<endpoint><path_qs>`; answer with what the endpoint answered."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=DIAL_TIMEOUT),
                auto_decompress=False,
            )
        endpoints = self.available()
        if not endpoints:
            log.info("proxy/httpproxy", "zero endpoints currently available")
            return _go_http_error(503, "zero endpoints currently available")
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        if request.remote:  # as Go's httputil.ReverseProxy: append the client's address
            prior = headers.pop("X-Forwarded-For", "")
            headers["X-Forwarded-For"] = f"{prior}, {request.remote}" if prior else request.remote
        for ep in endpoints:
            try:
                upstream = await self._session.request(
                    request.method,
                    ep.rstrip("/") + path_qs,
                    data=body if body else None,
                    headers=headers,
                    allow_redirects=False,
                )
            except (aiohttp.ClientError, OSError) as exc:
                log.info("proxy/httpproxy", f"failed to direct request to {ep}: {exc}")
                self._down_until[ep] = time.monotonic() + self._failure_wait
                log.info("proxy/httpproxy", f"marked endpoint {ep} unavailable")
                continue
            async with upstream:
                return await self._relay(request, upstream)
        msg = f"unable to get response from {len(endpoints)} endpoint(s)"
        log.info("proxy/httpproxy", msg)
        return _go_http_error(502, msg)

    @staticmethod
    async def _relay(
        request: web.BaseRequest, upstream: aiohttp.ClientResponse
    ) -> web.StreamResponse:
        resp = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for k, v in upstream.headers.items():
            if k.lower() not in HOP_HEADERS and k.lower() != "content-length":
                resp.headers.add(k, v)
        if upstream.content_length is not None:
            resp.content_length = upstream.content_length
        await resp.prepare(request)
        # Chunk by chunk, so a streaming watch reaches the client event by event.
        async for chunk in upstream.content.iter_any():
            await resp.write(chunk)
        await resp.write_eof()
        return resp


class ClusterView:
    """The client URLs to forward to, learnt from the peers' /members."""

    def __init__(self, cluster_file: str, peer_urls: list[str]) -> None:
        self.cluster_file = cluster_file
        self.peer_urls = peer_urls
        self.client_urls: list[str] = []

    async def refresh(self, session: aiohttp.ClientSession) -> None:
        members: list[dict[str, Any]] | None = None
        for u in self.peer_urls:
            try:
                async with asyncio.timeout(DIAL_TIMEOUT + 2.0):
                    async with session.get(u.rstrip("/") + "/members") as r:
                        raw = await r.read()
                        if r.status != 200:
                            raise ValueError(f"unexpected status {r.status}")
                got = json.loads(raw)
                if not isinstance(got, list):
                    raise ValueError("members: expected a list")
                members = got
                break
            except (aiohttp.ClientError, OSError, ValueError, TimeoutError) as exc:
                log.warning(
                    "etcdserver", f"could not get cluster response from {u}: {exc or 'timeout'}"
                )
        if members is None:
            log.warning("etcdmain", "proxy: could not retrieve cluster information from peers")
            self.client_urls = []
            return
        self.client_urls = sorted(u for m in members for u in m.get("clientURLs") or [])
        peers = sorted(u for m in members for u in m.get("peerURLs") or [])
        tmp = self.cluster_file + ".bak"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"PeerURLs": peers}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.cluster_file)
        if peers != self.peer_urls:
            log.info(
                PKG,
                "proxy: updated peer urls in cluster file from "
                f"{sprint_list(self.peer_urls)} to {sprint_list(peers)}",
            )
        self.peer_urls = peers
        quoted = " ".join(f'"{u}"' for u in self.client_urls)
        log.info("proxy/httpproxy", f"endpoints found [{quoted}]")  # Go's %q of a []string

    async def keep_fresh(self, session: aiohttp.ClientSession) -> None:
        while True:
            await asyncio.sleep(REFRESH_INTERVAL if self.client_urls else 1.0)
            await self.refresh(session)


def proxy_dir(cfg: EtcdConfig) -> str:
    return os.path.join(cfg.data_dir, "proxy")


def saved_peer_urls(cfg: EtcdConfig) -> list[str] | None:
    """The peer URLs a previous run kept, or None when this data dir holds no proxy."""
    path = os.path.join(proxy_dir(cfg), CLUSTER_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except FileNotFoundError:
        return None
    return [str(u) for u in raw.get("PeerURLs") or []]


async def serve(cfg: EtcdConfig, peer_urls: list[str]) -> int:
    """Run the proxy on --listen-client-urls until SIGTERM/SIGINT; returns the exit code."""
    os.makedirs(proxy_dir(cfg), mode=0o700, exist_ok=True)
    view = ClusterView(os.path.join(proxy_dir(cfg), CLUSTER_FILE), peer_urls)
    session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=DIAL_TIMEOUT)
    )
    await view.refresh(session)
    fwd = Forwarder(lambda: view.client_urls)

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        return await fwd.forward(request, request.raw_path)

    server = web.Server(handle, access_log=None)
    runner = web.ServerRunner(server, handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    code = 0
    try:
        for u in cfg.listen_client_urls:
            p = urlsplit(u)
            try:
                await web.TCPSite(runner, p.hostname, p.port, reuse_address=True).start()
            except OSError as e:
                log.critical(PKG, f"listen tcp {p.hostname}:{p.port}: {e.strerror}")
                return 1
            log.info(PKG, f'v2 proxy started listening on client requests on "{u}"')
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        fresh = asyncio.create_task(view.keep_fresh(session))
        await stop.wait()
        log.info("pkg/osutil", "received terminated signal, shutting down...")
        fresh.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fresh
    finally:
        await runner.cleanup()
        await fwd.close()
        await session.close()
    return code
