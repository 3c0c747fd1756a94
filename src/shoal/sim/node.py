"""One simulated machine: its raft node, its "disk" and the tiny state machine it applies."""

from __future__ import annotations

import msgpack

from shoal.raft.rawnode import RawNode
from shoal.raft.storage import MemoryStorage
from shoal.raft.types import ConfState, SnapshotMeta


class AppState:
    """The replicated state machine: the writes applied, in order, and the membership."""

    __slots__ = ("applied", "conf", "seen", "writes")

    def __init__(self) -> None:
        self.writes: list[int] = []
        self.seen: set[int] = set()
        self.applied = 0
        self.conf = ConfState()

    def encode(self) -> bytes:
        return msgpack.packb([self.writes])  # type: ignore[no-any-return]

    @classmethod
    def decode(cls, data: bytes, meta: SnapshotMeta) -> AppState:
        st = cls()
        if data:
            st.writes = list(msgpack.unpackb(data)[0])
            st.seen = set(st.writes)
        st.applied = meta.index
        st.conf = meta.conf_state
        return st


class SimNode:
    def __init__(self, nid: int, storage: MemoryStorage) -> None:
        self.id = nid
        self.storage = storage  # what survives a crash: the node's "disk"
        self.raw: RawNode | None = None
        self.app = AppState()
        self.removed = False
        self.restarts = 0
        self.proposals: dict[int, int] = {}  # write id -> time proposed (lost on crash)
        self.reads: dict[bytes, tuple[int, int]] = {}  # ctx -> (read id, acked count at start)
        self.ready_reads: list[tuple[int, bytes]] = []  # (read index, ctx) awaiting apply

    @property
    def alive(self) -> bool:
        return self.raw is not None
