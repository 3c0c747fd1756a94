"""etcd's v2 discovery protocol: find the initial cluster through a token URL.

Follows etcd 3.4.23 (`etcdserver/api/v2discovery/discovery.go`, checked against the release
tag and a real etcd 3.4.23): the token URL is a key prefix on any etcd v2 keys API (or on a
discovery service that forwards to one). Joining is:

1. checkCluster (fast path): `GET <token>/_config/size`, then `GET <token>`; registrations
   other than `_config`, in createdIndex order; when this member is not among the first
   `size` the cluster is full.
2. createSelf: `PUT <token>/<member id hex>?prevExist=false` with `value=name=peerURL,...`
   (105 "Key already exists" -> duplicate id), then wait until the key is visible.
3. checkCluster again, then waitNodes: a recursive watch on `<token>` from X-Etcd-Index + 1
   until `size` registrations are known (every event under the token counts, as in etcd).
4. The registrations' values joined with `,` are the initial cluster; fewer distinct names
   than `size` is a duplicate name.

Connection failures (and 5xx answers, which the Go client treats alike) are retried forever
with etcd's backoff: 2^n seconds, n capped at 8. The member ID used for the key is etcd's:
sha1 over the sorted advertised peer URLs + the discovery URL itself, which is also the cluster
token of the cluster that forms (embed.Config.PeerURLsMapAndToken).

One difference, on purpose: a missing size key fails with `discovery: size key not found`, the
error the protocol defines; etcd 3.4.23 prints the raw `100: Key not found (...)` there, because
its check type-asserts the wrong error type.
"""

from __future__ import annotations

import asyncio
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from shoal.client.errors import ClusterError, DeadlineExceeded
from shoal.client.failover import FailoverClient, Request
from shoal.client.model import DecodeError, Node, decode_error_body, decode_response
from shoal.etcd import log

PKG = "discovery"

# --- etcd's facts (v2discovery/discovery.go, client/client.go) -----------------------------
ERR_INVALID_URL = "discovery: invalid URL"
ERR_BAD_SIZE_KEY = "discovery: size key is bad"
ERR_SIZE_NOT_FOUND = "discovery: size key not found"
ERR_DUPLICATE_ID = "discovery: found duplicate id"
ERR_DUPLICATE_NAME = "discovery: found duplicate name"
ERR_FULL_CLUSTER = "discovery: cluster is full"
ERR_BAD_ENDPOINT = "discovery: bad discovery endpoint"
CONFIG_KEY = "_config"
MAX_EXPONENTIAL_RETRIES = 8
"""Backoff is 2^retries seconds, retries capped here (256 s), and never gives up."""
REQUEST_TIMEOUT = 5.0
"""client.DefaultRequestTimeout: bounds each Get/Create (not watches)."""
DIAL_TIMEOUT = 30.0
"""transport.NewTransport(..., 30*time.Second) in newDiscovery."""
CODE_KEY_NOT_FOUND = 100
CODE_NODE_EXIST = 105


def notice(pkg: str, msg: str) -> None:
    """capnslog's NOTICE level (`N |`), which etcd uses for discovery's progress lines."""
    log.notice(pkg, msg)


def _notice(msg: str) -> None:
    notice(PKG, msg)


class DiscoveryError(Exception):
    """Discovery failed for good; `str()` is etcd's text for it."""


class DuplicateIDError(DiscoveryError):
    """This member's id is registered already (a previous bootstrap on another data dir)."""

    def __init__(self) -> None:
        super().__init__(ERR_DUPLICATE_ID)


class DuplicateNameError(DiscoveryError):
    """Two registrations carry the same member name."""

    def __init__(self) -> None:
        super().__init__(ERR_DUPLICATE_NAME)


class _Unreachable(Exception):
    """The Go client's ClusterError: no answer, or a 5xx; retried with backoff."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class _KeysError(Exception):
    """etcd answered with an error body."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code


@dataclass(frozen=True, slots=True)
class _Answer:
    node: Node
    index: int


def proxy_url(raw: str) -> str | None:
    """--discovery-proxy as etcd reads it: a URL, or host:port that gets `http://` prefixed."""
    if not raw:
        return None
    if not urlsplit(raw).scheme.startswith("http"):
        raw = "http://" + raw
    log.info(PKG, f'using proxy "{raw}"')
    return raw


class Registry:
    """The keys under one discovery token, spoken to through `shoal.client` as etcd's v2 Go
    client does (keys are raw paths under the discovery URL: etcd's KeysAPI with prefix "")."""

    def __init__(self, durl: str, proxy: str = "") -> None:
        u = urlsplit(durl)
        if not u.scheme or not u.netloc:
            raise DiscoveryError(ERR_INVALID_URL)
        self.url = f"{u.scheme}://{u.netloc}"  # etcd logs this as "the discovery URL"
        self.cluster = u.path  # the token: every key below is path.Join("/", token, ...)
        self.proxy = proxy_url(proxy)
        self._client = FailoverClient(
            [self.url],
            timeout=None,
            total_timeout=REQUEST_TIMEOUT,  # not applied to watches
            dial_timeout=DIAL_TIMEOUT,
            proxy=self.proxy,
        )

    async def close(self) -> None:
        await self._client.close()

    def key(self, *parts: str) -> str:
        # Go's path.Join: joined, then cleaned (no trailing slash, no `//`, `.` or `..`).
        return posixpath.normpath(posixpath.join("/", self.cluster.lstrip("/"), *parts))

    async def request(
        self,
        method: str,
        key: str,
        query: dict[str, str] | None = None,
        body: str | None = None,
        wait: bool = False,
    ) -> _Answer:
        ctype = "application/x-www-form-urlencoded" if body else ""
        req = Request(method, key, query or {}, body, ctype, wait=wait)
        while True:
            try:
                reply = await self._client.request(req)
            except DeadlineExceeded as e:
                raise DiscoveryError(str(e)) from None
            except ClusterError as e:
                raise _Unreachable(
                    "; ".join(f"error #{i}: {err}" for i, err in enumerate(e.errors))
                ) from None
            if reply.status in (200, 201):
                if not reply.body and wait:
                    continue  # a long poll ended without an event: the Go watcher polls again
                try:
                    resp = decode_response(reply.body, reply.headers)
                except DecodeError:
                    raise DiscoveryError(ERR_BAD_ENDPOINT) from None
                return _Answer(resp.node, resp.index)
            try:
                err = decode_error_body(reply.body)
            except DecodeError:
                raise DiscoveryError(ERR_BAD_ENDPOINT) from None
            text = f"{err.code}: {err.message} ({err.cause}) [{err.index}]"
            raise _KeysError(err.code, text)

    async def get(self, key: str) -> _Answer:
        q = {"quorum": "false", "recursive": "false", "sorted": "false"}
        return await self.request("GET", key, q)

    async def create(self, key: str, value: str) -> _Answer:
        return await self.request("PUT", key, {"prevExist": "false"}, urlencode({"value": value}))

    async def watch(self, key: str, wait_index: int, recursive: bool) -> _Answer:
        q = {"wait": "true", "waitIndex": str(wait_index), "recursive": str(recursive).lower()}
        return await self.request("GET", key, q, wait=True)


Sleep = Callable[[float], Any]


class Discovery:
    """One run of the protocol for the member `member_id` (0 for a proxy, which never
    registers)."""

    def __init__(self, registry: Registry, member_id: int, sleep: Sleep = asyncio.sleep) -> None:
        self.reg = registry
        self.id_hex = f"{member_id:x}"
        self.retries = 0
        self._sleep = sleep

    @property
    def self_key(self) -> str:
        return self.reg.key(self.id_hex)

    async def join_cluster(self, config: str) -> str:
        """Register `config` (this member's `name=url,...`) and return the initial cluster."""
        await self.check_cluster()  # fast path: a full cluster fails before registering
        await self.create_self(config)
        nodes, size, index = await self.check_cluster()
        everyone = await self.wait_nodes(nodes, size, index)
        return nodes_to_cluster(everyone, size)

    async def get_cluster(self) -> str:
        """The cluster a proxy forwards to: the first `size` registrations (waiting for them)."""
        try:
            nodes, size, index = await self.check_cluster()
        except FullClusterError as full:
            return nodes_to_cluster(full.nodes, full.size)
        return nodes_to_cluster(await self.wait_nodes(nodes, size, index), size)

    async def create_self(self, contents: str) -> None:
        try:
            ans = await self.reg.create(self.self_key, contents)
        except _KeysError as e:
            if e.code == CODE_NODE_EXIST:
                raise DuplicateIDError() from None
            raise DiscoveryError(str(e)) from None
        except _Unreachable as e:
            raise DiscoveryError(
                f"client: etcd cluster is unavailable or misconfigured; {e}"
            ) from None
        # Make sure the registration is visible on the server we talk to (as etcd does).
        try:
            await self.reg.watch(self.self_key, ans.node.created_index, recursive=False)
        except (_KeysError, _Unreachable) as e:
            raise DiscoveryError(str(e)) from None

    async def check_cluster(self) -> tuple[list[Node], int, int]:
        while True:
            try:
                return await self._check_cluster_once()
            except _Unreachable as e:
                log.error(PKG, e.detail)
                await self._backoff("cluster status check")

    async def _check_cluster_once(self) -> tuple[list[Node], int, int]:
        try:
            ans = await self.reg.get(self.reg.key(CONFIG_KEY, "size"))
        except _KeysError as e:
            if e.code == CODE_KEY_NOT_FOUND:
                raise DiscoveryError(ERR_SIZE_NOT_FOUND) from None
            raise DiscoveryError(str(e)) from None
        value = ans.node.value
        if not value.isdigit() or not value.isascii():  # strconv.ParseUint(v, 10, 0)
            raise DiscoveryError(ERR_BAD_SIZE_KEY)
        size = int(value)
        if size >= 1 << 64:
            raise DiscoveryError(ERR_BAD_SIZE_KEY)
        try:
            ans = await self.reg.get(self.reg.key())
        except _KeysError as e:
            raise DiscoveryError(str(e)) from None
        nodes = [n for n in ans.node.nodes or () if posixpath.basename(n.key) != CONFIG_KEY]
        nodes.sort(key=lambda n: n.created_index)
        me = self.id_hex
        last = size - 1 if size > 0 else 1 << 64  # Go's uint64 size-1 wraps for a size of 0
        for i, n in enumerate(nodes):
            if posixpath.basename(n.key) == me:
                break
            if i >= last:
                raise FullClusterError(nodes[:size], size)
        return nodes, size, ans.index

    async def _backoff(self, step: str) -> None:
        self.retries += 1
        delay = float(1 << min(self.retries, MAX_EXPONENTIAL_RETRIES))
        log.info(PKG, f"{step}: error connecting to {self.reg.url}, retrying in {delay:g}s")
        await self._sleep(delay)

    async def wait_nodes(self, nodes: list[Node], size: int, index: int) -> list[Node]:
        everyone = list(nodes[:size])
        for n in everyone:
            base = posixpath.basename(n.key)
            if base == self.id_hex:
                _notice(f"found self {base} in the cluster")
            else:
                _notice(f"found peer {base} in the cluster")
        wait_index = index + 1
        while len(everyone) < size:
            _notice(f"found {len(everyone)} peer(s), waiting for {size - len(everyone)} more")
            try:
                ans = await self.reg.watch(self.reg.key(), wait_index, recursive=True)
            except _Unreachable as e:
                log.error(PKG, e.detail)
                await self._backoff("waiting for other nodes")
                nodes, size, index = await self.check_cluster()
                return await self.wait_nodes(nodes, size, index)
            except _KeysError as e:
                raise DiscoveryError(str(e)) from None
            wait_index = ans.node.modified_index + 1
            _notice(f"found peer {posixpath.basename(ans.node.key)} in the cluster")
            everyone.append(ans.node)
        _notice(f"found {len(everyone)} needed peer(s)")
        return everyone


class FullClusterError(DiscoveryError):
    """`size` members registered before this one: it may not join (a proxy may)."""

    def __init__(self, nodes: list[Node], size: int) -> None:
        super().__init__(ERR_FULL_CLUSTER)
        self.nodes = nodes
        self.size = size


def urls_map(cluster: str) -> dict[str, list[str]]:
    """types.NewURLsMap: `name=url,...` -> {name: [urls]}; ValueError when malformed."""
    out: dict[str, list[str]] = {}
    for part in cluster.split(","):
        name, eq, url = part.partition("=")
        u = urlsplit(url)
        if not eq or u.scheme not in ("http", "https", "unix", "unixs") or not u.netloc:
            raise ValueError(part)
        if u.path not in ("", "/") or u.port is None:
            raise ValueError(part)
        out.setdefault(name, []).append(url)
    return out


def nodes_to_cluster(nodes: list[Node], size: int) -> str:
    cluster = ",".join(n.value for n in nodes)
    try:
        names = urls_map(cluster)
    except ValueError:
        raise DiscoveryError(ERR_INVALID_URL) from None
    if len(names) != size:
        raise DuplicateNameError()
    return cluster


def registration(name: str, peer_urls: list[str]) -> str:
    """This member's registration value: URLsMap.String() of {name: peer urls} (sorted pairs)."""
    return ",".join(sorted(f"{name}={u}" for u in peer_urls))
