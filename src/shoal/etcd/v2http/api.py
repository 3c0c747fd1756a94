"""The etcd v2 client HTTP API as an aiohttp application, routed the way etcd's client port
routes: the access controller (CORS headers, OPTIONS answered at once), then Go's ServeMux
(a 301 to the cleaned path for `..`, `.` or `//`; exact and subtree patterns; `404 page not
found` for the rest), then the handler.

Entry points:
  make_app(server)                      the aiohttp Application for one member
  ClientListener(server, listen_urls)   serves the same on etcd's --listen-client-urls
                                        (`await start()`, `bound_urls`, `await stop()`)

aiohttp's own router is bypassed (one catch-all route) because it normalises paths differently
from Go; the request target is parsed from the raw bytes instead. ClientListener also reads the
requests themselves by Go's rules (wire.py, goserver.py): methods, targets, framing and chunked
bodies are taken or refused as etcd's client port takes or refuses them. make_app, under a
plain aiohttp runner, keeps aiohttp's parser.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable

from aiohttp import web

from shoal.etcd import facts
from shoal.etcd.server_iface import ServerAPI
from shoal.etcd.v2http import metrics, misc, respond
from shoal.etcd.v2http.goserver import GoServer
from shoal.etcd.v2http.keys import KEYS_PREFIX, KeysHandler
from shoal.etcd.v2http.members import MEMBERS_PREFIX, MembersHandler
from shoal.gocompat.nethttp import (
    FormError,
    clean_path,
    parse_target,
    redirect_body,
    redirect_location,
)
from shoal.tls import TLSInfo

_Exact = Callable[[web.Request, ServerAPI], Awaitable[web.Response]]

# ServeMux's exact patterns other than keys and members (client.go handleV2, etcdhttp).
_EXACT: dict[str, _Exact] = {
    "/v2/stats/store": misc.stats_store,
    "/v2/stats/self": misc.stats_self,
    "/v2/stats/leader": misc.stats_leader,
    "/v2/machines": misc.machines,
    "/version": misc.version,
    "/health": misc.health,
    metrics.PATH: metrics.metrics,
    "/_shoal/hash": misc.shoal_hash,  # shoal's own, for `shoal torture`
}

_KEYS_LEN = len(KEYS_PREFIX)
_MEMBERS_LEN = len(MEMBERS_PREFIX)


class _Router:
    __slots__ = ("keys", "members", "server")

    def __init__(self, server: ServerAPI) -> None:
        self.server = server
        self.keys = KeysHandler(server)
        self.members = MembersHandler(server)

    def close(self) -> None:
        """The server is stopping: end open watches so shutdown need not wait for them."""
        self.keys.close()

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        try:
            target = parse_target(request.raw_path)
        except FormError:
            # Go's server refuses a target it cannot unescape before any handler runs.
            resp = web.Response(
                status=400,
                body=facts.BAD_REQUEST_PAGE.encode(),
                headers={"Content-Type": facts.TEXT},
            )
            resp.force_close()
            return resp
        if request.method == "OPTIONS":
            if request.raw_path == "*":
                # Go's server answers `OPTIONS *` itself, before etcd's handler (no CORS).
                return web.Response(status=200)
            return web.Response(status=200, headers=respond.base_headers())
        path = target.path
        cleaned = clean_path(path)
        if cleaned != path:
            return _redirect(request.method, cleaned, target.raw_query)

        if path.startswith(KEYS_PREFIX) and (len(path) == _KEYS_LEN or path[_KEYS_LEN] == "/"):
            return await self.keys.handle(request, path, target.raw_query)
        if path.startswith(MEMBERS_PREFIX) and (
            len(path) == _MEMBERS_LEN or path[_MEMBERS_LEN] == "/"
        ):
            return await self.members.handle(request, path)
        handler = _EXACT.get(path)
        if handler is not None:
            return await handler(request, self.server)
        return respond.not_found()


def _redirect(method: str, path: str, raw_query: str) -> web.Response:
    """ServeMux's 301 to the cleaned path (http.Redirect: an HTML body only for GET; a HEAD
    answer has the body's type but no length)."""
    location = redirect_location(path, raw_query)
    headers = respond.base_headers()
    headers["Location"] = location
    if method == "HEAD":
        headers["Content-Type"] = facts.HTML
        return web.Response(status=301, headers=headers)
    body = b""
    if method == "GET":
        headers["Content-Type"] = facts.HTML
        body = redirect_body(location)
    return web.Response(status=301, body=body, headers=headers)


def make_app(server: ServerAPI) -> web.Application:
    """The client API of `server` as an aiohttp Application (for embedding beside other
    routes; give its AppRunner `runner_options()` so a watch notices its client leaving).
    `ClientListener` serves the same handler without the Application's routing layer."""
    app = web.Application()
    router = _Router(server)
    # 100-continue is sent by the handlers when they read a body, as Go does.
    app.router.add_route("*", "/{tail:.*}", router.dispatch, expect_handler=_no_expect_handling)

    async def end_watches(_: web.Application) -> None:
        router.close()

    app.on_shutdown.append(end_watches)
    return app


async def _no_expect_handling(request: web.Request) -> None:
    return None


def runner_options() -> dict[str, object]:
    """AppRunner options matching etcd's client port: a request line of at most 4096 bytes
    (etcd drops the connection beyond; aiohttp answers 400), 1 MiB headers, handlers
    cancelled when their client disconnects (watches are removed then), no access log.

    aiohttp limits the request target, not the line: the target may be 4081 bytes, which is
    exact for GET and PUT lines (`GET <target> HTTP/1.1\r\n`) and lets a POST, HEAD or DELETE
    line run 1 to 3 bytes over etcd's limit."""
    return {
        "handler_cancellation": True,
        "max_line_size": facts.MAX_REQUEST_LINE - len("GET ") - len(" HTTP/1.1\r\n"),
        "max_field_size": facts.MAX_HEADER_BYTES,
        "access_log": None,
    }


SHUTDOWN_GRACE = 1.0
"""Seconds requests in flight get to finish when the listener stops; then they (and every
open watch) are cancelled. shoal's choice: a stopping member should not wait on long polls."""


class ClientListener:
    """The app served on etcd-style listen URLs (`http://host:port`, `https://host:port` with
    `tls`; port 0 picks a free port, see `bound_urls`)."""

    def __init__(
        self, server: ServerAPI, listen_urls: list[str], tls: TLSInfo | None = None
    ) -> None:
        self.server = server
        self.listen_urls = list(listen_urls)
        self._ssl = tls.server_context() if tls is not None else None
        self._runner: web.BaseRunner | None = None
        self._router: _Router | None = None
        self.bound_urls: list[str] = []

    async def start(self) -> None:
        addrs = [_host_port(u, self._ssl is not None) for u in self.listen_urls]
        # aiohttp's low-level server: the one catch-all handler needs no Application routing.
        self._router = _Router(self.server)
        # Requests are read by Go's rules (goserver), not aiohttp's C parser.
        lowlevel = GoServer(self._router.dispatch, **runner_options())
        runner = web.ServerRunner(lowlevel, shutdown_timeout=SHUTDOWN_GRACE)
        await runner.setup()
        self._runner = runner
        try:
            for host, port, secure in addrs:
                before = len(runner.addresses)
                ssl = self._ssl if secure else None
                site = web.TCPSite(runner, host, port, reuse_address=True, ssl_context=ssl)
                await site.start()
                scheme = "https" if secure else "http"
                self.bound_urls += [
                    f"{scheme}://{_join_host(a[0])}:{a[1]}" for a in runner.addresses[before:]
                ]
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if self._router is not None:
            self._router.close()
        if runner is not None:
            await runner.cleanup()


def _host_port(url: str, have_tls: bool) -> tuple[str, int, bool]:
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https"):
        raise ValueError(f"listen URL {url!r}: only http:// and https:// are served")
    if u.scheme == "https" and not have_tls:
        raise ValueError(
            "TLS key/cert (--cert-file, --key-file) must be provided for client url "
            f"{url} with HTTPS scheme"
        )
    if u.hostname is None or u.port is None:
        raise ValueError(f'listen URL {url!r}: want the form "{u.scheme}://host:port"')
    return u.hostname, u.port, u.scheme == "https"


def _join_host(h: str) -> str:
    return f"[{h}]" if ":" in h else h
