"""`shoal partition` for a worker: cut a proxy off from members, as a network partition would.

A shoal member takes its faults on its peer port (`/_shoal/faults`, transport.faults); a proxy has
no peer port, so shoal's proxy answers the same endpoint, with the same JSON, on its client
listener. The members it blocks (by member ID, as etcd prints them) become unreachable to it:
requests are not sent to their client URLs (each one fails as a dial would, and the endpoint is
held out for the failure wait, as etcd's proxy does after a real failure) and their peer URLs are
not asked for `/members`. `drop` and `delay_ms` are accepted and kept but not applied (they are
about raft messages, which a proxy does not carry). etcd's own proxy has no such endpoint.
"""

from __future__ import annotations

import json

from aiohttp import web

from shoal.transport.faults import Faults, parse_member_id
from shoal.transport.peer_http import FAULTS_PATH

__all__ = ["FAULTS_PATH", "Partition"]

BLOCKED = "partitioned from this proxy (shoal partition)"
"""The reason logged for a request not sent to a blocked member."""


class Partition:
    """The faults set on this proxy, and the member IDs behind each URL (learnt from /members)."""

    def __init__(self) -> None:
        self.faults = Faults()
        self._ids: dict[str, int] = {}

    def learn(self, members: list[dict[str, object]]) -> None:
        """Remember which member each client and peer URL belongs to."""
        for m in members:
            try:
                # The peer port's /members has ids as JSON numbers (the client API: hex).
                mid = parse_member_id(m.get("id"))
            except ValueError:
                continue
            for key in ("clientURLs", "peerURLs"):
                urls = m.get(key)
                for u in urls if isinstance(urls, list) else []:
                    self._ids[str(u)] = mid

    def blocked(self, url: str) -> bool:
        mid = self._ids.get(url)
        return mid is not None and mid in self.faults.blocked

    def answer(self, request: web.BaseRequest, body: bytes) -> web.Response:
        """GET shows the faults, POST/PUT replace them, DELETE clears them (transport's API)."""
        if request.method in ("POST", "PUT"):
            try:
                self.faults = Faults.from_json(json.loads(body or b"{}"))
            except ValueError as e:
                return _json(400, {"message": f"bad faults: {e}"})
        elif request.method == "DELETE":
            self.faults = Faults()
        elif request.method not in ("GET", "HEAD"):
            return web.Response(
                status=405, text="Method Not Allowed\n",
                headers={"Allow": "GET, HEAD, POST, PUT, DELETE"},
            )  # fmt: skip
        return _json(200, self.faults.to_json())


def _json(status: int, doc: object) -> web.Response:
    return web.Response(status=status, text=json.dumps(doc) + "\n", content_type="application/json")
