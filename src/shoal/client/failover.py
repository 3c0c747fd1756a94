"""Sending one v2 request to a cluster: the pinned endpoint, failover, timeouts, basic auth,
and the aiohttp session under it.

Endpoint handling follows the Go v2 client that etcdctl, fleet and discovery were written
against: requests go to a pinned endpoint; any failure on it (connection error, per-request
timeout, 5xx) moves on to the next one, and the first that answers becomes the new pin. When
every endpoint failed the caller gets one `ClusterError` naming each.

Timeouts: `timeout` bounds each attempt on one endpoint until response headers arrive (Go's
HeaderTimeoutPerRequest; never applied to watches); `total_timeout` bounds a whole call across
endpoints (etcdctl's --total-timeout) and raises `DeadlineExceeded`; `dial_timeout` bounds
connecting (the Go transport's dial timeout). `proxy` sends every request through an HTTP proxy
(Go's http.ProxyURL), as etcd's discovery does with --discovery-proxy.

What a request means (keys, members, ...) is for the API classes built on `FailoverClient`.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Self
from urllib.parse import quote, urlencode

from shoal.client.errors import (
    ClusterError,
    DeadlineExceeded,
    EndpointError,
    NoEndpointsError,
    describe,
)
from shoal.client.protocol import DEFAULT_ENDPOINTS, STATUS_TEXT

if TYPE_CHECKING:
    import ssl

    import aiohttp

    from shoal.client.blocking import Connections

# Called before every attempt with (method, full URL, form/JSON body or None when the request
# has no body): etcdctl --debug prints these as curl commands.
RequestHook = Callable[[str, str, str | None], None]

_PATH_SAFE = "/!$&'()*+,;=:@~"

DEFAULT_TIMEOUT = 2.0
"""Seconds each attempt on one endpoint may wait for response headers, unless told otherwise."""


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    content_type: str = ""
    wait: bool = False  # long poll: no per-request or total timeout


@dataclass(frozen=True, slots=True)
class Reply:
    """A raw HTTP answer from one endpoint."""

    endpoint: str
    status: int
    headers: Mapping[str, str]
    body: bytes


def normalize_endpoint(raw: str) -> str:
    """Add the http scheme when there is none (`127.0.0.1:2379` works); drop a trailing `/`."""
    raw = raw.strip()
    if "://" not in raw:
        raw = "http://" + raw
    return raw[:-1] if raw.endswith("/") and not raw.endswith("://") else raw


def _unusable(endpoint: str) -> str:
    """Why an endpoint cannot be dialled at all, worded as Go's net/http says it ("" if usable)."""
    scheme, _, rest = endpoint.partition("://")
    if scheme not in ("http", "https"):
        return f'unsupported protocol scheme "{scheme}"'
    if not rest.split("/", 1)[0]:
        return "http: no Host in request URL"
    return ""


def _basic_auth(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


class FailoverClient:
    """Requests to a list of endpoints, as described in the module doc. Use it as an async
    context manager (or call `close`) to release its connections."""

    def __init__(
        self,
        endpoints: Sequence[str] = DEFAULT_ENDPOINTS,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        total_timeout: float | None = None,
        username: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        on_request: RequestHook | None = None,
        dial_timeout: float | None = None,
        proxy: str | None = None,
        blocking: bool = False,
    ) -> None:
        """`blocking`: send over plain sockets (shoal.client.blocking) instead of aiohttp; the
        coroutines then finish without ever yielding, so a command-line client can run them
        without an event loop (and without importing asyncio or aiohttp). Not with a proxy."""
        self._endpoints = [normalize_endpoint(e) for e in endpoints]
        self._dial_timeout = dial_timeout
        self._proxy = proxy
        self._pinned = 0
        self.timeout = timeout
        self.total_timeout = total_timeout
        # HTTP basic auth on every request, as the Go client does for v2 auth.
        self._auth_header = _basic_auth(username, password or "") if username else None
        self._ssl = ssl_context
        self.on_request = on_request
        self._session: aiohttp.ClientSession | None = None
        self._blocking: Connections | None = None
        if blocking and proxy is None:
            from shoal.client.blocking import Connections

            self._blocking = Connections(ssl_context, dial_timeout)
        self._deadline: float | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._blocking is not None:
            self._blocking.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else True)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._dial_timeout),
                auto_decompress=True,
            )
        return self._session

    # -- endpoints -------------------------------------------------------------------------

    @property
    def endpoints(self) -> list[str]:
        return list(self._endpoints)

    def set_endpoints(self, endpoints: Sequence[str], *, keep_pin: bool = False) -> None:
        """Replace the endpoints. With `keep_pin`, stay on the pinned endpoint if it is still
        listed (keep talking to the member that just answered)."""
        current = self._endpoints[self._pinned] if self._endpoints else None
        self._endpoints = [normalize_endpoint(e) for e in endpoints]
        self._pinned = 0
        if keep_pin and current in self._endpoints:
            self._pinned = self._endpoints.index(current)

    # -- requests --------------------------------------------------------------------------

    async def request(self, req: Request) -> Reply:
        """Send `req` to the pinned endpoint, failing over as described in the module doc."""
        if self._blocking is not None:
            total = None if req.wait else self.total_timeout
            self._deadline = None if total is None else time.monotonic() + total
            return await self._failover(req)
        if req.wait or self.total_timeout is None:
            return await self._failover(req)
        import asyncio

        try:
            async with asyncio.timeout(self.total_timeout):
                return await self._failover(req)
        except TimeoutError:
            raise DeadlineExceeded() from None

    async def _failover(self, req: Request) -> Reply:
        eps = list(self._endpoints)
        if not eps:
            raise NoEndpointsError()
        pinned = self._pinned % len(eps)
        errors: list[EndpointError] = []
        for i in range(len(eps)):
            k = (pinned + i) % len(eps)
            try:
                reply = await self._attempt(eps[k], req)
            except EndpointFailure as failure:
                errors.append(failure.error)
                continue
            if reply.status // 100 == 5:
                if reply.status in (500, 503):
                    text = f"client: etcd member {eps[k]} has no leader"
                else:
                    status_text = STATUS_TEXT.get(reply.status, str(reply.status))
                    text = f"client: etcd member {eps[k]} returns server error [{status_text}]"
                errors.append(EndpointError(eps[k], text, connection=False))
                continue
            if eps == self._endpoints:
                self._pinned = k
            return reply
        raise ClusterError(errors)

    async def _attempt(self, endpoint: str, req: Request) -> Reply:
        bad = _unusable(endpoint)
        if bad:
            raise EndpointFailure(EndpointError(endpoint, bad, connection=False))
        # Encoded by hand so the URL (and --debug's curl line) reads as the Go client's:
        # path escaped like url.URL.EscapedPath, query sorted and escaped like url.Values.
        full = endpoint + quote(req.path, safe=_PATH_SAFE)
        if req.query:
            full += "?" + urlencode(sorted(req.query.items()))
        if self.on_request is not None:
            self.on_request(req.method, full, req.body)
        headers = {"Content-Type": req.content_type} if req.content_type else {}
        if self._auth_header is not None:
            headers["Authorization"] = self._auth_header
        if self._blocking is not None:
            return self._attempt_blocking(self._blocking, endpoint, full, req, headers)
        import asyncio

        import aiohttp
        from yarl import URL

        url = URL(full, encoded=True)
        session = self._get_session()
        try:
            ctx = session.request(
                req.method,
                url,
                data=req.body.encode() if req.body is not None else None,
                headers=headers,
                allow_redirects=False,
                proxy=self._proxy,
            )
            if req.wait or self.timeout is None:
                resp = await ctx
            else:
                try:
                    async with asyncio.timeout(self.timeout):
                        resp = await ctx
                except TimeoutError:
                    # Not a "connection error" for etcdctl's exit code, as in the Go client.
                    text = f"client: endpoint {endpoint} exceeded header timeout"
                    raise EndpointFailure(EndpointError(endpoint, text, connection=False)) from None
            async with resp:
                body = await resp.read()
                return Reply(endpoint, resp.status, dict(resp.headers), body)
        except (aiohttp.ClientError, OSError) as exc:
            detail, is_conn = describe(exc, url)
            if isinstance(exc, aiohttp.ClientProxyConnectionError):
                detail = "proxyconnect tcp: " + detail  # the proxy is what we dialled, as Go says
            raise EndpointFailure(EndpointError(endpoint, detail, is_conn)) from None

    def _attempt_blocking(
        self,
        conns: Connections,
        endpoint: str,
        full: str,
        req: Request,
        headers: dict[str, str],
    ) -> Reply:
        from shoal.client.blocking import Failure, HeaderTimeout

        timeout = None if req.wait else self.timeout
        by_deadline = False
        if self._deadline is not None:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise DeadlineExceeded()
            if timeout is None or left < timeout:
                timeout, by_deadline = left, True
        rest = full.partition("://")[2]
        target = "/" + rest.partition("/")[2]
        body = req.body.encode() if req.body is not None else None
        try:
            status, hdrs, data = conns.exchange(
                endpoint, req.method, target, headers, body, timeout
            )
        except HeaderTimeout:
            if by_deadline:
                raise DeadlineExceeded() from None
            text = f"client: endpoint {endpoint} exceeded header timeout"
            raise EndpointFailure(EndpointError(endpoint, text, connection=False)) from None
        except Failure as f:
            raise EndpointFailure(EndpointError(endpoint, f.text, f.connection)) from None
        return Reply(endpoint, status, hdrs, data)

    async def _one(self, endpoint: str, req: Request) -> Reply:
        try:
            return await self._attempt(normalize_endpoint(endpoint), req)
        except EndpointFailure as failure:
            raise ClusterError([failure.error]) from None

    async def _any_status(self, req: Request) -> Reply:
        """Like request(), but a 503 (unhealthy member) is an answer, not a failure."""
        errors: list[EndpointError] = []
        for endpoint in self._endpoints:
            try:
                return await self._attempt(endpoint, req)
            except EndpointFailure as failure:
                errors.append(failure.error)
        raise ClusterError(errors) if errors else NoEndpointsError()


class EndpointFailure(Exception):
    """Internal: one attempt on one endpoint failed; the failover loop catches it."""

    def __init__(self, error: EndpointError) -> None:
        self.error = error
        super().__init__(error.detail)
