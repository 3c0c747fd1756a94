"""The asyncio etcd v2 client: keys, watch, members, health, version, stats.

Endpoint handling follows the Go v2 client that etcdctl, fleet and discovery were written
against: requests go to a pinned endpoint; any failure on it (connection error, per-request
timeout, 5xx) moves on to the next one, and the first that answers becomes the new pin. When
every endpoint failed the caller gets one `ClusterError` naming each. `sync()` replaces the
endpoint list by the client URLs the cluster publishes in /v2/members.

Timeouts: `timeout` bounds each attempt on one endpoint until response headers arrive (Go's
HeaderTimeoutPerRequest; never applied to watches); `total_timeout` bounds a whole call across
endpoints (etcdctl's --total-timeout) and raises `DeadlineExceeded`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import posixpath
import ssl
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from yarl import URL

from shoal.client.errors import (
    ClusterError,
    DeadlineExceeded,
    EndpointError,
    EtcdError,
    MembersError,
    NoEndpointsError,
    UnexpectedStatus,
    check_peer_urls,
    describe,
)
from shoal.client.model import (
    DecodeError,
    Health,
    Member,
    Response,
    Version,
    decode_error_body,
    decode_health,
    decode_member,
    decode_members,
    decode_message,
    decode_object,
    decode_response,
    decode_version,
    header_int,
)
from shoal.client.protocol import (
    DEFAULT_ENDPOINTS,
    HEADER_ETCD_INDEX,
    HEALTH_PATH,
    KEYS_PREFIX,
    MEMBERS_PREFIX,
    STATS_PREFIX,
    STATUS_TEXT,
    VERSION_PATH,
)

# Called before every attempt with (method, full URL, form/JSON body or None when the request
# has no body): etcdctl --debug prints these as curl commands.
RequestHook = Callable[[str, str, str | None], None]

_PATH_SAFE = "/!$&'()*+,;=:@~"


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


def key_path(key: str) -> str:
    """The canonical /v2/keys path of `key`: leading slash, `.`/`..`/`//` cleaned, a trailing
    slash kept (Go client's CanonicalURLPath)."""
    full = KEYS_PREFIX + "/" + key.lstrip("/") if key else KEYS_PREFIX
    cleaned = posixpath.normpath(full)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if full.endswith("/") and not cleaned.endswith("/"):
        cleaned += "/"
    return cleaned


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


def _flag(value: bool) -> str:
    return "true" if value else "false"


class AsyncClient:
    """An etcd v2 client over aiohttp. Use `async with AsyncClient([...]) as c:`."""

    def __init__(
        self,
        endpoints: Sequence[str] = DEFAULT_ENDPOINTS,
        *,
        timeout: float | None = 2.0,
        total_timeout: float | None = None,
        username: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        on_request: RequestHook | None = None,
    ) -> None:
        self._endpoints = [normalize_endpoint(e) for e in endpoints]
        self._pinned = 0
        self.timeout = timeout
        self.total_timeout = total_timeout
        # HTTP basic auth on every request, as the Go client does for v2 auth.
        self._auth_header = _basic_auth(username, password or "") if username else None
        self._ssl = ssl_context
        self.on_request = on_request
        self._session: aiohttp.ClientSession | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else True)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None),
                auto_decompress=True,
            )
        return self._session

    # -- endpoints -------------------------------------------------------------------------

    @property
    def endpoints(self) -> list[str]:
        return list(self._endpoints)

    def set_endpoints(self, endpoints: Sequence[str]) -> None:
        self._endpoints = [normalize_endpoint(e) for e in endpoints]
        self._pinned = 0

    async def sync(self) -> list[str]:
        """Replace the endpoints by every member's client URLs (from /v2/members)."""
        members = await self.members()
        urls = [u for m in members for u in m.client_urls]
        if not urls:
            raise NoEndpointsError()
        current = self._endpoints[self._pinned] if self._endpoints else ""
        self.set_endpoints(urls)
        if current in self._endpoints:  # keep talking to the member that just answered
            self._pinned = self._endpoints.index(current)
        return self.endpoints

    # -- transport -------------------------------------------------------------------------

    async def request(self, req: Request) -> Reply:
        """Send `req` to the pinned endpoint, failing over as described in the module doc."""
        if req.wait or self.total_timeout is None:
            return await self._failover(req)
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
        url = URL(full, encoded=True)
        if self.on_request is not None:
            self.on_request(req.method, full, req.body)
        headers = {"Content-Type": req.content_type} if req.content_type else {}
        if self._auth_header is not None:
            headers["Authorization"] = self._auth_header
        session = self._get_session()
        try:
            ctx = session.request(
                req.method,
                url,
                data=req.body.encode() if req.body is not None else None,
                headers=headers,
                allow_redirects=False,
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
            raise EndpointFailure(EndpointError(endpoint, detail, is_conn)) from None

    # -- keys ------------------------------------------------------------------------------

    async def _keys(self, req: Request) -> Response:
        while True:
            reply = await self.request(req)
            if reply.status in (200, 201):
                if not reply.body and req.wait:
                    continue  # the server ended a long poll without an event: poll again
                try:
                    return decode_response(reply.body, reply.headers)
                except DecodeError as exc:
                    raise ClusterError(
                        [EndpointError(reply.endpoint, str(exc), connection=False)]
                    ) from None
            raise self._etcd_error(reply)

    @staticmethod
    def _etcd_error(reply: Reply) -> Exception:
        try:
            body = decode_error_body(reply.body)
        except DecodeError:
            return UnexpectedStatus(reply.status, reply.body)
        return EtcdError(
            body, status=reply.status, etcd_index=header_int(reply.headers, HEADER_ETCD_INDEX)
        )

    async def get(
        self, key: str, *, recursive: bool = False, sorted: bool = False, quorum: bool = False
    ) -> Response:
        # Always explicit, as the Go client sends them (and --debug shows them).
        query = {"quorum": _flag(quorum), "recursive": _flag(recursive), "sorted": _flag(sorted)}
        return await self._keys(Request("GET", key_path(key), query))

    async def set(
        self,
        key: str,
        value: str = "",
        *,
        ttl: int | None = None,
        prev_value: str | None = None,
        prev_index: int | None = None,
        prev_exist: bool | None = None,
        dir: bool = False,
        refresh: bool = False,
        no_value_on_success: bool = False,
    ) -> Response:
        """PUT a key (or a directory with dir=True). prev_* make it a compare-and-swap,
        prev_exist=False a create and prev_exist=True an update."""
        query: dict[str, str] = {}
        form: dict[str, str] = {}
        if dir:
            query["dir"] = "true"
        else:
            if prev_value:
                query["prevValue"] = prev_value
            form["value"] = value
        if prev_index:
            query["prevIndex"] = str(prev_index)
        if prev_exist is not None:
            query["prevExist"] = _flag(prev_exist)
        if no_value_on_success:
            query["noValueOnSuccess"] = "true"
        if ttl is not None and ttl > 0:
            form["ttl"] = str(ttl)
        if refresh:
            form["refresh"] = "true"
        req = Request(
            "PUT",
            key_path(key),
            query,
            urlencode(sorted(form.items())),
            "application/x-www-form-urlencoded",
        )
        return await self._keys(req)

    async def create(
        self, key: str, value: str = "", *, ttl: int | None = None, dir: bool = False
    ) -> Response:
        """Create a key that must not exist yet (error 105 otherwise)."""
        return await self.set(key, value, ttl=ttl, dir=dir, prev_exist=False)

    async def update(
        self, key: str, value: str = "", *, ttl: int | None = None, dir: bool = False
    ) -> Response:
        """Change a key that must exist (error 100 otherwise). No ttl removes an existing TTL."""
        return await self.set(key, value, ttl=ttl, dir=dir, prev_exist=True)

    async def refresh(self, key: str, ttl: int) -> Response:
        """Reset a key's TTL without changing its value or waking watchers."""
        return await self.set(key, ttl=ttl, refresh=True, prev_exist=True)

    async def create_in_order(
        self, dir_key: str, value: str, *, ttl: int | None = None
    ) -> Response:
        """POST: a new child of `dir_key` named by the store index (a queue entry)."""
        form = {"value": value}
        if ttl is not None and ttl > 0:
            form["ttl"] = str(ttl)
        req = Request(
            "POST",
            key_path(dir_key),
            {},
            urlencode(sorted(form.items())),
            "application/x-www-form-urlencoded",
        )
        return await self._keys(req)

    async def delete(
        self,
        key: str,
        *,
        dir: bool = False,
        recursive: bool = False,
        prev_value: str | None = None,
        prev_index: int | None = None,
    ) -> Response:
        query: dict[str, str] = {}
        if dir:
            query["dir"] = "true"
        if prev_index:
            query["prevIndex"] = str(prev_index)
        if prev_value:
            query["prevValue"] = prev_value
        if recursive:
            query["recursive"] = "true"
        return await self._keys(Request("DELETE", key_path(key), query))

    async def watch(self, key: str, *, wait_index: int = 0, recursive: bool = False) -> Response:
        """Wait for the first event on `key` at or after `wait_index` (0: the next one)."""
        query = {"wait": "true", "waitIndex": str(wait_index), "recursive": _flag(recursive)}
        return await self._keys(Request("GET", key_path(key), query, wait=True))

    async def watch_iter(
        self, key: str, *, after_index: int = 0, recursive: bool = False
    ) -> AsyncGenerator[Response, None]:
        """Every event on `key` after `after_index` (0: from now), forever, in index order.

        Each event is fetched by a long poll that resumes at the previous event's index + 1,
        so no event is skipped across endpoint failover; an outdated index raises EtcdError 401.
        """
        wait_index = after_index + 1 if after_index else 0
        while True:
            resp = await self.watch(key, wait_index=wait_index, recursive=recursive)
            wait_index = resp.node.modified_index + 1
            yield resp

    # -- members ---------------------------------------------------------------------------

    async def members(self) -> list[Member]:
        reply = await self.request(Request("GET", MEMBERS_PREFIX))
        if reply.status != 200:
            raise UnexpectedStatus(reply.status, reply.body)
        return decode_members(reply.body)

    async def leader(self) -> Member:
        reply = await self.request(Request("GET", MEMBERS_PREFIX + "/leader"))
        if reply.status != 200:
            raise UnexpectedStatus(reply.status, reply.body)
        return decode_member(reply.body)

    async def add_member(self, peer_urls: Sequence[str]) -> Member:
        body = json.dumps({"peerURLs": check_peer_urls(list(peer_urls))}, separators=(",", ":"))
        reply = await self.request(Request("POST", MEMBERS_PREFIX, {}, body, "application/json"))
        if reply.status == 201:
            return decode_member(reply.body)
        if reply.status == 409:
            raise MembersError(decode_message(reply.body), reply.status)
        raise UnexpectedStatus(reply.status, reply.body)

    async def update_member(self, member_id: str, peer_urls: Sequence[str]) -> None:
        body = json.dumps({"peerURLs": check_peer_urls(list(peer_urls))}, separators=(",", ":"))
        path = f"{MEMBERS_PREFIX}/{member_id}"
        reply = await self.request(Request("PUT", path, {}, body, "application/json"))
        if reply.status == 204:
            return
        if reply.status in (404, 409):
            raise MembersError(decode_message(reply.body), reply.status)
        raise UnexpectedStatus(reply.status, reply.body)

    async def remove_member(self, member_id: str) -> None:
        """Remove a member; removing one that is already gone (410) is not an error."""
        reply = await self.request(Request("DELETE", f"{MEMBERS_PREFIX}/{member_id}"))
        if reply.status not in (204, 410):
            raise UnexpectedStatus(reply.status, reply.body)

    # -- cluster information ---------------------------------------------------------------

    async def health(self, endpoint: str | None = None) -> Health:
        """/health of `endpoint` (no failover), or of the first endpoint that answers."""
        if endpoint is not None:
            reply = await self._one(endpoint, Request("GET", HEALTH_PATH))
        else:
            reply = await self._any_status(Request("GET", HEALTH_PATH))
        return decode_health(reply.status, reply.body)

    async def version(self) -> Version:
        reply = await self.request(Request("GET", VERSION_PATH))
        if reply.status != 200:
            raise UnexpectedStatus(reply.status, reply.body)
        return decode_version(reply.body)

    async def stats(self, which: str) -> dict[str, Any]:
        """/v2/stats/<which> for which in self, store, leader (leader: 403 on a follower)."""
        reply = await self.request(Request("GET", f"{STATS_PREFIX}/{which}"))
        if reply.status != 200:
            raise MembersError(decode_message(reply.body), reply.status)
        return decode_object(reply.body)

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
