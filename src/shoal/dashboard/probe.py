"""What each etcd member says about itself and the cluster, asked over etcd's v2 HTTP API (so a
real etcd 3.4 answers it as well as shoal's): `/v2/members`, `/v2/stats/self`, `/health`, the
raft term from a key read's X-Raft-Term, and the commit and applied indexes from `/metrics`.

HTTP goes through a `Fetcher`, so a cluster with TLS or authentication needs only a fetcher that
carries its certificates or credentials (`HTTPFetcher(ssl=..., headers=...)`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl as ssl_module
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

TIMEOUT = 0.8  # seconds per request: the page must stay under a second behind
HEALTH_TIMEOUT = 1.5  # /health waits up to 1 s for a quorum read on shoal's member


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes


class FetchError(Exception):
    """The endpoint did not answer; the text says why, for the page."""


class Fetcher(Protocol):
    async def get(self, url: str, timeout: float) -> Reply: ...

    async def close(self) -> None: ...


class HTTPFetcher:
    """aiohttp GETs; `ssl` and `headers` (e.g. an Authorization) go with every request."""

    def __init__(
        self, ssl: ssl_module.SSLContext | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        self._ssl = ssl
        self._headers = dict(headers or {})
        self._session: aiohttp.ClientSession | None = None

    async def get(self, url: str, timeout: float) -> Reply:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers)
        try:
            async with self._session.get(
                url, timeout=aiohttp.ClientTimeout(total=timeout), ssl=self._ssl or True
            ) as r:
                return Reply(r.status, dict(r.headers), await r.read())
        except TimeoutError:
            raise FetchError(f"no answer within {timeout:.1f}s") from None
        except aiohttp.ClientConnectorError as e:
            raise FetchError(_connect_error(e)) from None
        except aiohttp.ClientError as e:
            raise FetchError(str(e) or type(e).__name__) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _connect_error(e: aiohttp.ClientConnectorError) -> str:
    err = e.os_error
    if isinstance(err, ConnectionRefusedError):
        return "connection refused (nothing listens on its client port)"
    return (err.strerror if isinstance(err, OSError) and err.strerror else str(err)) or str(e)


@dataclass(slots=True)
class MemberView:
    """One member as the page shows it."""

    id: str
    name: str
    peer_urls: list[str]
    client_urls: list[str]
    reachable: bool = False
    healthy: bool = False
    role: str = ""  # leader | follower | ""
    leader: str = ""  # the leader's id as this member sees it
    term: int | None = None
    commit: int | None = None
    applied: int | None = None
    error: str = ""  # why it is unreachable or unhealthy
    checked: float = 0.0  # time.time() of this view

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "peerURLs": self.peer_urls,
            "clientURLs": self.client_urls,
            "reachable": self.reachable,
            "healthy": self.healthy,
            "role": self.role,
            "leader": self.leader,
            "term": self.term,
            "commit": self.commit,
            "applied": self.applied,
            "error": self.error,
        }


@dataclass(slots=True)
class Membership:
    members: list[MemberView] = field(default_factory=list)
    error: str = ""  # no endpoint answered /v2/members


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


async def membership(fetch: Fetcher, endpoints: list[str]) -> Membership:
    """The member list from the first endpoint that answers /v2/members."""
    errors = []
    for ep in endpoints:
        try:
            r = await fetch.get(ep.rstrip("/") + "/v2/members", TIMEOUT)
        except FetchError as e:
            errors.append(f"{ep}: {e}")
            continue
        doc = _json(r.body)
        if r.status != 200 or not isinstance(doc, dict):
            errors.append(f"{ep}: HTTP {r.status}")
            continue
        out = [
            MemberView(
                str(m.get("id", "")),
                str(m.get("name", "")),
                list(m.get("peerURLs") or []),
                list(m.get("clientURLs") or []),
            )
            for m in doc.get("members", [])
            if isinstance(m, dict)
        ]
        return Membership(sorted(out, key=lambda m: (m.name or "~", m.id)))
    return Membership([], "; ".join(errors) or "no endpoints")


_METRICS = {
    "etcd_server_proposals_committed_total": "commit",
    "etcd_server_proposals_applied_total": "applied",
}


def _metric_values(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        key = _METRICS.get(name)
        if key is not None:
            with contextlib.suppress(ValueError, IndexError):
                out[key] = int(float(rest.split()[0]))
    return out


async def probe_member(fetch: Fetcher, m: MemberView, url: str | None = None) -> MemberView:
    """Fill `m` in from its own client URL (`url`, else its first advertised one)."""
    m.checked = time.time()
    base = (url or (m.client_urls[0] if m.client_urls else "")).rstrip("/")
    if not base:
        m.error = "not started yet (no client URL published)"
        return m
    try:
        stats, keys, metrics, health = await asyncio.gather(
            fetch.get(base + "/v2/stats/self", TIMEOUT),
            fetch.get(base + "/v2/keys/", TIMEOUT),
            fetch.get(base + "/metrics", TIMEOUT),
            fetch.get(base + "/health", HEALTH_TIMEOUT),
        )
    except FetchError as e:
        m.error = str(e)
        return m
    m.reachable = True
    doc = _json(stats.body)
    if isinstance(doc, dict):
        m.role = {"StateLeader": "leader", "StateFollower": "follower"}.get(
            str(doc.get("state", "")), str(doc.get("state", "")).removeprefix("State").lower()
        )
        info = doc.get("leaderInfo")
        m.leader = str(info.get("leader", "")) if isinstance(info, dict) else ""
    term = keys.headers.get("X-Raft-Term")
    m.term = int(term) if term and term.isdigit() else None
    values = _metric_values(metrics.body.decode(errors="replace"))
    m.commit, m.applied = values.get("commit"), values.get("applied")
    hdoc = _json(health.body)
    m.healthy = health.status == 200 and isinstance(hdoc, dict) and hdoc.get("health") == "true"
    if not m.healthy:
        m.error = "unhealthy: no leader or no quorum read within 1 s (/health)"
        if not m.leader:
            m.error = "unhealthy: it knows no leader (/health)"
    return m
