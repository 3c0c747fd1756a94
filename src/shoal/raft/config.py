"""Configuration of a raft node, with etcd raft's defaults in one place."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from shoal.raft.storage import Storage


@dataclass
class Config:
    id: int
    storage: Storage
    # Ticks without hearing from a leader before campaigning; randomized in [e, 2e).
    election_tick: int = 10
    # Ticks between a leader's heartbeats.
    heartbeat_tick: int = 1
    # The index already applied by the application at start (0: from the snapshot).
    applied: int = 0
    # Upper bound on the data bytes of one append message (at least one entry is always sent).
    max_size_per_msg: int = 1 << 20
    # Upper bound on the committed entries handed out in one Ready.
    max_committed_size_per_ready: int = 1 << 26
    # Upper bound on unacknowledged append messages per follower in REPLICATE.
    max_inflight_msgs: int = 256
    # Upper bound on the data bytes of unacknowledged append messages per follower in REPLICATE
    # (etcd's MaxInflightBytes); 0: no bound but the message count.
    max_inflight_bytes: int = 0
    # Upper bound on the data bytes of uncommitted entries a leader accepts (no quorum: refuse).
    max_uncommitted_entries_size: int = 1 << 30
    check_quorum: bool = True
    pre_vote: bool = True
    disable_proposal_forwarding: bool = False
    # Randomness for election timeouts: seeded by the caller so a simulation replays exactly.
    rng: random.Random = field(default_factory=random.Random)

    def validate(self) -> None:
        if self.id == 0:
            raise ValueError("cannot use none as id")
        if self.heartbeat_tick <= 0:
            raise ValueError("heartbeat tick must be greater than 0")
        if self.election_tick <= self.heartbeat_tick:
            raise ValueError("election tick must be greater than heartbeat tick")
        if self.max_inflight_msgs <= 0:
            raise ValueError("max inflight messages must be greater than 0")
        if self.max_inflight_bytes and self.max_inflight_bytes < self.max_size_per_msg:
            raise ValueError("max inflight bytes must be >= max message size")
