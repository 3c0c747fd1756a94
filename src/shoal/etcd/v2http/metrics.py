"""`/metrics`: the member's Prometheus metrics in the text format (etcd's etcdhttp
HandleMetrics, on the client port and on --listen-metrics-urls), and the listener for
--listen-metrics-urls, which serves `/metrics` and `/health` alone (404 for the rest), as etcd's
metrics mux does.

Any method is answered, as Go's promhttp handler answers any method."""

from __future__ import annotations

import urllib.parse
from collections.abc import Coroutine
from typing import Any

from shoal.etcd.metrics import CONTENT_TYPE
from shoal.etcd.server_iface import ServerAPI
from shoal.etcd.v2http import misc, respond
from shoal.etcd.v2http.message import Answer, Request, Response
from shoal.etcd.v2http.server import HTTPServer
from shoal.gocompat.nethttp import FormError, parse_target

PATH = "/metrics"


async def metrics(request: Request, server: ServerAPI) -> Response:
    headers = respond.base_headers()
    headers["Content-Type"] = CONTENT_TYPE
    return Response(200, server.metrics.exposition(), headers)


class MetricsListener:
    """`/metrics` and `/health` on etcd's --listen-metrics-urls (`http://host:port`)."""

    def __init__(self, server: ServerAPI, listen_urls: list[str]) -> None:
        self.server = server
        self.listen_urls = list(listen_urls)
        self._http: HTTPServer | None = None
        self.bound_urls: list[str] = []

    def _dispatch(self, request: Request) -> Answer | Coroutine[Any, Any, Answer]:
        try:
            path = parse_target(request.raw_path).path
        except FormError:
            path = ""
        if path == PATH:
            return metrics(request, self.server)
        if path == "/health":
            return misc.health(request, self.server)
        return respond.not_found()

    async def start(self) -> None:
        addrs = [_host_port(u) for u in self.listen_urls]
        http = HTTPServer(self._dispatch)
        self._http = http
        try:
            for host, port in addrs:
                for h, p in await http.listen(host, port):
                    self.bound_urls.append(f"http://{h}:{p}")
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.stop(1.0)


def _host_port(url: str) -> tuple[str, int]:
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http" or u.hostname is None or u.port is None:
        raise ValueError(f'--listen-metrics-urls {url!r}: want the form "http://host:port"')
    return u.hostname, u.port
