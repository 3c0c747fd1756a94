"""`/metrics`: the member's Prometheus metrics in the text format (etcd's etcdhttp
HandleMetrics, on the client port and on --listen-metrics-urls), and the listener for
--listen-metrics-urls, which serves `/metrics` and `/health` alone (404 for the rest), as etcd's
metrics mux does.

Any method is answered, as Go's promhttp handler answers any method."""

from __future__ import annotations

import urllib.parse

from aiohttp import web

from shoal.etcd.metrics import CONTENT_TYPE
from shoal.etcd.server_iface import ServerAPI
from shoal.etcd.v2http import misc, respond

PATH = "/metrics"


async def metrics(request: web.Request, server: ServerAPI) -> web.Response:
    headers = respond.base_headers()
    headers["Content-Type"] = CONTENT_TYPE
    return web.Response(status=200, body=server.metrics.exposition(), headers=headers)


class MetricsListener:
    """`/metrics` and `/health` on etcd's --listen-metrics-urls (`http://host:port`)."""

    def __init__(self, server: ServerAPI, listen_urls: list[str]) -> None:
        self.server = server
        self.listen_urls = list(listen_urls)
        self._runner: web.ServerRunner | None = None
        self.bound_urls: list[str] = []

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.path == PATH:
            return await metrics(request, self.server)
        if request.path == "/health":
            return await misc.health(request, self.server)
        return respond.not_found()

    async def start(self) -> None:
        addrs = [_host_port(u) for u in self.listen_urls]
        runner = web.ServerRunner(web.Server(self._dispatch, access_log=None))  # type: ignore[arg-type]
        await runner.setup()
        self._runner = runner
        try:
            for host, port in addrs:
                await web.TCPSite(runner, host, port, reuse_address=True).start()
        except BaseException:
            await self.stop()
            raise
        self.bound_urls = [f"http://{a[0]}:{a[1]}" for a in runner.addresses]

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


def _host_port(url: str) -> tuple[str, int]:
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http" or u.hostname is None or u.port is None:
        raise ValueError(f'--listen-metrics-urls {url!r}: want the form "http://host:port"')
    return u.hostname, u.port
