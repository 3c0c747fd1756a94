"""The cluster API: members (/v2/members), endpoint sync, health, version and stats."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shoal.client.errors import (
    MembersError,
    NoEndpointsError,
    UnexpectedStatus,
    check_peer_urls,
)
from shoal.client.failover import FailoverClient, Reply, Request
from shoal.client.model import (
    Health,
    Member,
    Version,
    decode_health,
    decode_member,
    decode_members,
    decode_message,
    decode_object,
    decode_version,
)
from shoal.client.protocol import HEALTH_PATH, MEMBERS_PREFIX, STATS_PREFIX, VERSION_PATH


def _peer_urls_body(peer_urls: Sequence[str]) -> str:
    return json.dumps({"peerURLs": check_peer_urls(list(peer_urls))}, separators=(",", ":"))


def _ok(reply: Reply, status: int = 200) -> Reply:
    if reply.status != status:
        raise UnexpectedStatus(reply.status, reply.body)
    return reply


class ClusterAPI(FailoverClient):
    """The members and cluster-information operations of `AsyncClient`."""

    async def sync(self) -> list[str]:
        """Replace the endpoints by every member's client URLs (from /v2/members)."""
        members = await self.members()
        urls = [u for m in members for u in m.client_urls]
        if not urls:
            raise NoEndpointsError()
        self.set_endpoints(urls, keep_pin=True)
        return self.endpoints

    # -- members ---------------------------------------------------------------------------

    async def members(self) -> list[Member]:
        reply = _ok(await self.request(Request("GET", MEMBERS_PREFIX)))
        return decode_members(reply.body)

    async def leader(self) -> Member:
        reply = _ok(await self.request(Request("GET", MEMBERS_PREFIX + "/leader")))
        return decode_member(reply.body)

    async def add_member(self, peer_urls: Sequence[str]) -> Member:
        body = _peer_urls_body(peer_urls)
        reply = await self.request(Request("POST", MEMBERS_PREFIX, {}, body, "application/json"))
        if reply.status == 201:
            return decode_member(reply.body)
        if reply.status == 409:
            raise MembersError(decode_message(reply.body), reply.status)
        raise UnexpectedStatus(reply.status, reply.body)

    async def update_member(self, member_id: str, peer_urls: Sequence[str]) -> None:
        body = _peer_urls_body(peer_urls)
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
        reply = _ok(await self.request(Request("GET", VERSION_PATH)))
        return decode_version(reply.body)

    async def stats(self, which: str) -> dict[str, Any]:
        """/v2/stats/<which> for which in self, store, leader (leader: 403 on a follower)."""
        reply = await self.request(Request("GET", f"{STATS_PREFIX}/{which}"))
        if reply.status != 200:
            raise MembersError(decode_message(reply.body), reply.status)
        return decode_object(reply.body)
