"""The etcd v2 client HTTP API, routed the way etcd's client port routes: the access
controller (CORS headers, OPTIONS answered at once), then Go's ServeMux (a 301 to the cleaned
path for `..`, `.` or `//`; exact and subtree patterns; `404 page not found` for the rest),
then the handler.

Entry points:
  ClientListener(server, listen_urls)   serves it on etcd's --listen-client-urls with shoal's
                                        own HTTP server (`await start()`, `bound_urls`,
                                        `await stop()`)
  make_app(server)                      the same as an aiohttp Application, for embedding
                                        beside other routes (shoal.etcd.v2http.aioapp)

Requests are read by Go's rules (wire.py: methods, targets, framing and chunked bodies taken or
refused as etcd's client port takes or refuses them) and the target is parsed from the raw
bytes, as Go's server parses it. make_app, under an aiohttp runner, keeps aiohttp's parser.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from shoal.etcd import facts
from shoal.etcd.server_iface import ServerAPI
from shoal.etcd.v2auth.access import Access
from shoal.etcd.v2auth.store import AuthStore
from shoal.etcd.v2http import metrics, misc, respond
from shoal.etcd.v2http.auth import AUTH_PREFIX, AuthHandler
from shoal.etcd.v2http.keys import KEYS_PREFIX, KeysHandler
from shoal.etcd.v2http.members import MEMBERS_PREFIX, MembersHandler
from shoal.etcd.v2http.message import Answer, Request, Response
from shoal.etcd.v2http.server import HTTPServer
from shoal.gocompat.nethttp import (
    FormError,
    clean_path,
    parse_target,
    redirect_body,
    redirect_location,
)
from shoal.tls import TLSInfo

if TYPE_CHECKING:
    from aiohttp import web

_Exact = Callable[[Request, ServerAPI], Coroutine[Any, Any, Response]]

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

_AUTH_PATHS = (AUTH_PREFIX + "/enable", AUTH_PREFIX + "/users", AUTH_PREFIX + "/roles")
_KEYS_LEN = len(KEYS_PREFIX)
_MEMBERS_LEN = len(MEMBERS_PREFIX)


class Router:
    """Request -> answer (or a coroutine of one) for one member's client API."""

    __slots__ = ("auth", "keys", "members", "server")

    def __init__(self, server: ServerAPI, client_cert_auth: bool = False) -> None:
        self.server = server
        # One auth store per listener: users, roles and the switch live in the v2 store.
        access = Access(AuthStore(server), client_cert_auth)
        self.keys = KeysHandler(server, access)
        self.members = MembersHandler(server, access)
        self.auth = AuthHandler(server, access)

    def close(self) -> None:
        """The server is stopping: end open watches so shutdown need not wait for them."""
        self.keys.close()

    def dispatch(self, request: Request) -> Answer | Coroutine[Any, Any, Answer]:
        try:
            target = parse_target(request.raw_path)
        except FormError:
            # Go's server refuses a target it cannot unescape before any handler runs.
            resp = Response(400, facts.BAD_REQUEST_PAGE.encode(), {"Content-Type": facts.TEXT})
            resp.force_close()
            return resp
        if request.method == "OPTIONS":
            if request.raw_path == "*":
                # Go's server answers `OPTIONS *` itself, before etcd's handler (no CORS).
                return Response(200, b"", {})
            return Response(200, b"", respond.base_headers())
        path = target.path
        cleaned = clean_path(path)
        if cleaned != path:
            return _redirect(request.method, cleaned, target.raw_query)

        if path.startswith(KEYS_PREFIX) and (len(path) == _KEYS_LEN or path[_KEYS_LEN] == "/"):
            return self.keys.handle(request, path, target.raw_query)
        if path.startswith(MEMBERS_PREFIX) and (
            len(path) == _MEMBERS_LEN or path[_MEMBERS_LEN] == "/"
        ):
            return self.members.handle(request, path)
        if path.startswith(_AUTH_PATHS):
            return self.auth.handle(request, path)
        handler = _EXACT.get(path)
        if handler is not None:
            return handler(request, self.server)
        return respond.not_found()


def _redirect(method: str, path: str, raw_query: str) -> Response:
    """ServeMux's 301 to the cleaned path (http.Redirect: an HTML body only for GET; a HEAD
    answer has the body's type but no length)."""
    location = redirect_location(path, raw_query)
    headers = respond.base_headers()
    headers["Location"] = location
    if method == "HEAD":
        headers["Content-Type"] = facts.HTML
        return Response(301, b"", headers)
    body = b""
    if method == "GET":
        headers["Content-Type"] = facts.HTML
        body = redirect_body(location)
    return Response(301, body, headers)


def make_app(server: ServerAPI) -> web.Application:
    """The client API of `server` as an aiohttp Application (see shoal.etcd.v2http.aioapp;
    give its AppRunner `runner_options()`). `ClientListener` serves the same without aiohttp."""
    from shoal.etcd.v2http import aioapp  # aiohttp only for those who embed

    return aioapp.make_app(Router(server))


def runner_options() -> dict[str, object]:
    """AppRunner options for make_app's Application (shoal.etcd.v2http.aioapp)."""
    from shoal.etcd.v2http import aioapp

    return aioapp.runner_options()


SHUTDOWN_GRACE = 1.0
"""Seconds requests in flight get to finish when the listener stops; then they (and every
open watch) are cancelled. shoal's choice: a stopping member should not wait on long polls."""


class ClientListener:
    """The API served on etcd-style listen URLs (`http://host:port`, `https://host:port` with
    `tls`; port 0 picks a free port, see `bound_urls`)."""

    def __init__(
        self, server: ServerAPI, listen_urls: list[str], tls: TLSInfo | None = None
    ) -> None:
        self.server = server
        self.listen_urls = list(listen_urls)
        self._tls = tls
        self._ssl = tls.server_context() if tls is not None else None
        self._http: HTTPServer | None = None
        self._router: Router | None = None
        self.bound_urls: list[str] = []

    async def start(self) -> None:
        addrs = [_host_port(u, self._ssl is not None) for u in self.listen_urls]
        client_cert_auth = self._tls is not None and self._tls.client_cert_auth
        self._router = Router(self.server, client_cert_auth)
        http = HTTPServer(self._router.dispatch)
        self._http = http
        try:
            for host, port, secure in addrs:
                bound = await http.listen(host, port, self._ssl if secure else None)
                scheme = "https" if secure else "http"
                self.bound_urls += [f"{scheme}://{_join_host(h)}:{p}" for h, p in bound]
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        http, self._http = self._http, None
        router = self._router
        if http is not None:
            await http.stop(SHUTDOWN_GRACE, router.close if router is not None else None)
        elif router is not None:
            router.close()


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
