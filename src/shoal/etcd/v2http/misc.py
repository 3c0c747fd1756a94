"""The small endpoints beside keys and members: `/v2/stats/{self,leader,store}`,
`/v2/machines`, `/version` and `/health`, each answering exactly as etcd 3.4's handler
(methods allowed, content types, trailing newline or not); and shoal's own `/_shoal/hash`."""

from __future__ import annotations

import json

from shoal.etcd import facts
from shoal.etcd.server_iface import ServerAPI
from shoal.etcd.v2http import respond
from shoal.etcd.v2http.message import Request, Response
from shoal.etcd.v2http.stats import leader_stats_json, self_stats_json

_VERSION_BODY = json.dumps(
    {"etcdserver": facts.SERVER_VERSION, "etcdcluster": facts.CLUSTER_VERSION},
    separators=(",", ":"),
).encode()
_HEALTHY = b'{"health":"true"}'
_UNHEALTHY = '{"health":"false"}'


def _compact(obj: object) -> bytes:
    return respond.go_json(obj).encode()


async def stats_store(request: Request, server: ServerAPI) -> Response:
    if request.method != "GET":
        return respond.method_not_allowed(facts.GET_ONLY)
    return respond.json_body(server.store.stats_json())


async def stats_self(request: Request, server: ServerAPI) -> Response:
    if request.method != "GET":
        return respond.method_not_allowed(facts.GET_ONLY)
    return respond.json_body(_compact(self_stats_json(server.self_stats())))


async def stats_leader(request: Request, server: ServerAPI) -> Response:
    if request.method != "GET":
        return respond.method_not_allowed(facts.GET_ONLY)
    stats = server.leader_stats()
    if stats is None:
        return respond.message(403, facts.NOT_LEADER)
    return respond.json_body(_compact(leader_stats_json(stats)))


async def machines(request: Request, server: ServerAPI) -> Response:
    """Every member's client URLs, sorted, joined by ", " (plain text, no newline)."""
    if request.method not in facts.MACHINES_METHODS:
        return respond.method_not_allowed(facts.MACHINES_METHODS)
    urls = sorted(u for m in server.members() for u in m.client_urls)
    return respond.text_body(", ".join(urls).encode())


async def version(request: Request, server: ServerAPI) -> Response:
    if request.method != "GET":
        return respond.method_not_allowed(facts.GET_ONLY)
    return respond.json_body(_VERSION_BODY)


async def health(request: Request, server: ServerAPI) -> Response:
    """200 `{"health":"true"}` (sniffed as text), or etcd's http.Error 503 with the false
    body and a newline."""
    if request.method != "GET":
        return respond.method_not_allowed(facts.GET_ONLY)
    try:
        ok = await server.health()
    except Exception:
        ok = False
    if ok:
        return respond.text_body(_HEALTHY)
    return respond.go_error(503, _UNHEALTHY)


async def shoal_hash(request: Request, server: ServerAPI) -> Response:
    """shoal only (not etcd): `{"index":<store index>,"hash":"<16 hex digits>"}` of the local
    store, so `shoal torture` can tell that healed members hold the same key space."""
    if request.method != "GET":
        return respond.method_not_allowed(facts.GET_ONLY)
    store = server.store
    return respond.json_body(_compact({"index": store.index, "hash": f"{store.hash():016x}"}))
