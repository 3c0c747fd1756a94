"""The cluster's membership as the member sees it: who is in, their URLs, who was removed.

Changed only by applying the raft log (conf changes and the `attributes` each member
publishes), so every member holds the same view at the same index. Like etcd, each change is
also written into the v2 store under `/0` (and so consumes a store index); the view itself
travels in snapshots next to the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import msgpack

from shoal.etcd.server_iface import MemberInfo

MEMBERS_PREFIX = "/0/members"
REMOVED_PREFIX = "/0/removed_members"
VERSION_KEY = "/0/version"


def raft_attributes_path(member_id: int) -> str:
    return f"{MEMBERS_PREFIX}/{member_id:x}/raftAttributes"


def attributes_path(member_id: int) -> str:
    return f"{MEMBERS_PREFIX}/{member_id:x}/attributes"


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
