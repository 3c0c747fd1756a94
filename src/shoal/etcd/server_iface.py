"""What the v2 HTTP API needs from the member, as a Protocol.

The HTTP layer (`shoal.etcd.v2http`) turns requests into `shoal.store.Request`s and calls these;
the member (`shoal.etcd.member.Member`) implements them over raft. Keeping this seam explicit
lets the HTTP layer be tested against a single-process fake and the member without HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from shoal.etcd.metrics import MemberMetrics
from shoal.raft.types import StateType
from shoal.store import Event, Request, Store


@dataclass(slots=True)
class MemberInfo:
    id: int
    name: str  # "" until the member has started and published its attributes
    peer_urls: list[str]
    client_urls: list[str] = field(default_factory=list)
    is_learner: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": f"{self.id:x}",
            "name": self.name,
            "peerURLs": list(self.peer_urls),
            "clientURLs": list(self.client_urls),
        }


class MembershipError(Exception):
    """A refused membership change; `status` is the HTTP status etcd answers with
    (404 no such member, 409 ID/peerURL exists, 410 permanently removed, 412/500 unsafe...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class SelfStats:
    """What /v2/stats/self reports (the HTTP layer words it as etcd does)."""

    name: str
    id: int
    role: StateType
    start_time: float  # time.time() when the member started
    leader: int  # 0 while no leader is known
    leader_since: float  # time.time() when the known leader last changed
    recv_append: int  # MsgApp received
    send_append: int  # MsgApp sent


@dataclass(frozen=True, slots=True)
class Latency:
    """Round trips to one follower, in milliseconds."""

    current: float = 0.0
    average: float = 0.0
    standard_deviation: float = 0.0
    minimum: float = 0.0
    maximum: float = 0.0


@dataclass(frozen=True, slots=True)
class FollowerStats:
    id: int
    latency: Latency
    fail: int  # messages that could not be sent
    success: int  # messages sent


@dataclass(frozen=True, slots=True)
class LeaderStats:
    """What /v2/stats/leader reports on the leader."""

    leader: int
    followers: list[FollowerStats]


class ServerAPI(Protocol):
    store: Store  # local reads (plain GET/HEAD) and watches go straight to the store
    member_id: int
    cluster_id: int
    name: str
    client_urls: list[str]
    metrics: MemberMetrics  # /metrics; the keys handler counts requests in `metrics.http`

    def leader_id(self) -> int:
        """0 while there is no known leader."""

    def raft_index(self) -> int: ...

    def raft_term(self) -> int: ...

    async def do(self, req: Request) -> Event:
        """Run a write (or a quorum GET, as ReadIndex then a local read) through raft and
        return its event once applied here. Raises shoal.store.EtcdError: the store's own
        errors, or 300 `etcdserver: request timed out` (5 s + 2 x election timeout), or 300
        with another cause when the member is stopping or has no leader."""

    async def linearizable_read(self) -> None:
        """Wait until this member has applied everything committed when the call began
        (ReadIndex). Raises EtcdError 300 on timeout."""

    def members(self) -> list[MemberInfo]: ...

    def is_removed(self, member_id: int) -> bool: ...

    async def add_member(self, peer_urls: list[str], is_learner: bool = False) -> MemberInfo: ...

    async def remove_member(self, member_id: int) -> None: ...

    async def update_member(self, member_id: int, peer_urls: list[str]) -> None: ...

    def self_stats(self) -> SelfStats:
        """/v2/stats/self."""

    def leader_stats(self) -> LeaderStats | None:
        """/v2/stats/leader, or None when this member is not the leader."""

    async def health(self) -> bool:
        """/health: a leader exists and a quorum read succeeds within 1 s."""
