"""The cluster's membership as the member sees it: who is in, their URLs, who was removed.

Changed only by applying the raft log (conf changes and the `attributes` each member
publishes), so every member holds the same view at the same index. Like etcd, each change is
also written into the v2 store under `/0` (and so consumes a store index): `apply_conf_change`
is the one place that says what a change writes there. The view itself travels in snapshots
next to the store.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgpack

from shoal.etcd.ids import hexid
from shoal.etcd.server_iface import MemberInfo, MembershipError
from shoal.raft.types import ConfChange, ConfChangeType
from shoal.store import Request
from shoal.store import request as rq

MEMBERS_PREFIX = "/0/members"
REMOVED_PREFIX = "/0/removed_members"
VERSION_KEY = "/0/version"


def raft_attributes_path(member_id: int) -> str:
    return f"{MEMBERS_PREFIX}/{member_id:x}/raftAttributes"


def attributes_path(member_id: int) -> str:
    return f"{MEMBERS_PREFIX}/{member_id:x}/attributes"


def _raft_attributes_write(m: MemberInfo) -> Request:
    value = json.dumps({"peerURLs": m.peer_urls}, separators=(",", ":"))
    return Request(rq.PUT, raft_attributes_path(m.id), value=value)


class PeerOp(enum.Enum):
    """What an applied change asks of the peer transport."""

    ADD = "add"
    REMOVE = "remove"
    UPDATE = "update"


@dataclass(frozen=True, slots=True)
class ConfOutcome:
    """What applying one conf change did: the error its proposer gets (None: accepted, and
    raft must apply it too), the store writes under /0 it makes, and the peer link it changes."""

    error: MembershipError | None = None
    writes: tuple[Request, ...] = ()
    peer: tuple[PeerOp, int, list[str]] | None = None


def member_context(m: MemberInfo) -> bytes:
    """The context of a conf change: the member it adds or updates, as etcd encodes it."""
    return json.dumps(
        {
            "id": m.id,
            "peerURLs": m.peer_urls,
            "name": m.name,
            "clientURLs": m.client_urls,
            "isLearner": m.is_learner,
        },
        separators=(",", ":"),
    ).encode()


def member_from_context(data: bytes) -> MemberInfo:
    d = json.loads(data)
    return MemberInfo(
        int(d["id"]),
        d.get("name", ""),
        list(d.get("peerURLs", [])),
        list(d.get("clientURLs", [])),
        bool(d.get("isLearner", False)),
    )


@dataclass
class Membership:
    members: dict[int, MemberInfo] = field(default_factory=dict)
    removed: set[int] = field(default_factory=set)
    cluster_version: str = ""

    def sorted_members(self) -> list[MemberInfo]:
        return [self.members[i] for i in sorted(self.members)]

    def peer_url_owner(self, url: str) -> int | None:
        for m in self.members.values():
            if url in m.peer_urls:
                return m.id
        return None

    def apply_conf_change(self, cc: ConfChange, in_raft: Callable[[int], bool]) -> ConfOutcome:
        """Apply `cc` (a committed CONF_CHANGE entry) to this view. `in_raft(id)` says whether
        raft's configuration already holds `id` (a second add of the same member)."""
        if cc.node_id in self.removed:
            return ConfOutcome(
                MembershipError(410, f"Member permanently removed: {hexid(cc.node_id)}")
            )
        if cc.type in (ConfChangeType.ADD_NODE, ConfChangeType.ADD_LEARNER):
            m = member_from_context(cc.context)
            existing = self.members.get(m.id)
            err: MembershipError | None = None
            if existing is not None and existing.is_learner and not m.is_learner:
                existing.is_learner = False  # a learner's promotion
            elif existing is not None and in_raft(m.id):
                err = MembershipError(409, "membership: ID exists")
            else:
                if existing is not None:  # known from the configuration before this applied
                    m.name, m.client_urls = existing.name, existing.client_urls
                self.members[m.id] = m
            # The refused second add still writes its raftAttributes and dials the peer, as
            # shoal always has: every member applies it alike, so store indexes stay equal.
            return ConfOutcome(err, (_raft_attributes_write(m),), (PeerOp.ADD, m.id, m.peer_urls))
        if cc.type is ConfChangeType.REMOVE_NODE:
            if cc.node_id not in self.members:
                return ConfOutcome(MembershipError(404, f"No such member: {hexid(cc.node_id)}"))
            del self.members[cc.node_id]
            self.removed.add(cc.node_id)
            writes = (
                Request(rq.DELETE, f"{MEMBERS_PREFIX}/{cc.node_id:x}", dir=True, recursive=True),
                Request(rq.PUT, f"{REMOVED_PREFIX}/{cc.node_id:x}", value="removed"),
            )
            return ConfOutcome(None, writes, (PeerOp.REMOVE, cc.node_id, []))
        # UPDATE_NODE
        m = member_from_context(cc.context)
        cur = self.members.get(m.id)
        if cur is None:
            return ConfOutcome(MembershipError(404, f"No such member: {hexid(m.id)}"))
        cur.peer_urls = m.peer_urls
        return ConfOutcome(None, (_raft_attributes_write(m),), (PeerOp.UPDATE, m.id, m.peer_urls))

    def apply_cluster_key(self, req: Request) -> None:
        """A write under /0 that went through the log as a request (not a conf change): the
        cluster version, or the attributes (name, client URLs) a member published."""
        parts = req.path.split("/")
        if req.path == VERSION_KEY:
            self.cluster_version = req.value
        elif len(parts) == 5 and parts[2] == "members" and parts[4] == "attributes":
            m = self.members.get(int(parts[3], 16))
            if m is not None:
                d = json.loads(req.value)
                m.name = d.get("name", "")
                m.client_urls = list(d.get("clientURLs") or [])

    def encode(self) -> bytes:
        return msgpack.packb(  # type: ignore[no-any-return]
            [
                [
                    [m.id, m.name, m.peer_urls, m.client_urls, m.is_learner]
                    for m in self.sorted_members()
                ],
                sorted(self.removed),
                self.cluster_version,
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> Membership:
        t: Any = msgpack.unpackb(data)
        ms = {r[0]: MemberInfo(r[0], r[1], list(r[2]), list(r[3]), bool(r[4])) for r in t[0]}
        return cls(ms, set(t[1]), t[2])
