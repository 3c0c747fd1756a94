"""A discovery service like discovery.etcd.io, kept in any etcd v2 keys API.

- `GET /new?size=N` (N defaults to 3) makes a token of 32 hex digits, writes
  `/_etcd/registry/<token>/_config/size` = N in the backing etcd, and answers (200, text/plain,
  no newline) with the token URL on this service: `http://<Host of the request>/<token>`.
- `/<token>[/...]` is the registry: every method and query (`wait`, `recursive`, `waitIndex`,
  `prevExist`, ...) is passed to `/v2/keys/_etcd/registry/<token>[/...]`, and the answer comes
  back unchanged (status, X-Etcd-Index and the other X-Etcd/X-Raft headers, body), streamed so
  a watch returns as soon as etcd answers. Keys in bodies keep etcd's `/_etcd/registry/` form,
  as discovery.etcd.io does; members only look at their last path element.

Token expiry (chosen here): the token directory is created with a TTL of --token-ttl
(default 24h) when /new makes it, and nothing refreshes it: a token lives that long from its
creation whatever happens to it, which bounds what a service left running keeps. A member that
uses an expired token is told `discovery: size key not found`. --token-ttl 0 keeps tokens.
"""

from __future__ import annotations

import re
import secrets

from aiohttp import web

from shoal.client.aio import AsyncClient
from shoal.client.errors import ClientError
from shoal.etcd import log
from shoal.etcd.proxy.director import Director
from shoal.etcd.proxy.reverse import ReverseProxy

PKG = "discovery"
REGISTRY = "/_etcd/registry"
"""Where discovery.etcd.io keeps tokens in its etcd (reference section 4)."""
DEFAULT_SIZE = 3
DEFAULT_TOKEN_TTL = 24 * 3600.0
_TOKEN = re.compile(r"^/([A-Za-z0-9_-]+)(/.*)?$")


class DiscoveryService:
    def __init__(self, etcd_endpoints: list[str], token_ttl: float = DEFAULT_TOKEN_TTL) -> None:
        self.endpoints = list(etcd_endpoints)
        self.token_ttl = token_ttl
        self.client = AsyncClient(self.endpoints, timeout=5.0, total_timeout=10.0)
        self.forwarder = ReverseProxy(Director.fixed(self.endpoints))

    async def close(self) -> None:
        await self.client.close()
        await self.forwarder.close()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        if path in ("/new", "/new/"):
            return await self.new_token(request)
        if path == "/":
            return web.Response(text="shoal discovery service: GET /new?size=N makes a token\n")
        m = _TOKEN.match(path)
        if m is None or m.group(1) == "new":
            return web.Response(status=404, text="404 page not found\n")
        target = "/v2/keys" + REGISTRY + request.raw_path
        return await self.forwarder.forward(request, target=target)

    async def new_token(self, request: web.BaseRequest) -> web.Response:
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, text="Method Not Allowed\n")
        raw = request.query.get("size", "")
        size = DEFAULT_SIZE
        if raw:
            try:
                size = int(raw)
            except ValueError:
                return web.Response(status=400, text="Unable to parse size\n")
            if size < 1:
                return web.Response(status=400, text="size must be at least 1\n")
        token = secrets.token_hex(16)
        ttl = int(self.token_ttl) if self.token_ttl > 0 else None
        try:
            await self.client.set(f"{REGISTRY}/{token}", dir=True, ttl=ttl, prev_exist=False)
            await self.client.set(f"{REGISTRY}/{token}/_config/size", str(size))
        except ClientError as e:
            log.error(PKG, f"cannot create token {token}: {e}")
            return web.Response(status=500, text=f"Unable to create token: {e}\n")
        url = f"{request.scheme}://{request.host}/{token}"
        log.info(PKG, f"new token {token} (size {size}, ttl {ttl or 'none'})")
        return web.Response(text=url)
