"""Configuration of a raft node, with etcd raft's defaults in one place."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from shoal.raft.storage import Storage

# Planted bugs the simulator must be able to find (test-only hook; never set in production):
BUG_COMMIT_OLD_TERM = "commit-old-term"  # (a) commit an earlier term's entry by counting replicas
# (b) grant a vote that the hard state does not record
BUG_VOTE_WITHOUT_PERSIST = "vote-without-persist"
BUG_APPEND_WITHOUT_TRUNCATE = "append-without-truncate"  # (c) keep a conflicting suffix
# (d) serve ReadIndex without confirming leadership with a quorum
BUG_READ_WITHOUT_LEADERSHIP = "read-without-leadership"
PLANTED_BUGS = (
    BUG_COMMIT_OLD_TERM,
    BUG_VOTE_WITHOUT_PERSIST,
    BUG_APPEND_WITHOUT_TRUNCATE,
    BUG_READ_WITHOUT_LEADERSHIP,
)


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
    # Upper bound on the data bytes of uncommitted entries a leader accepts (no quorum: refuse).
    max_uncommitted_entries_size: int = 1 << 30
    check_quorum: bool = True
    pre_vote: bool = True
    disable_proposal_forwarding: bool = False
    # Randomness for election timeouts: seeded by the caller so a simulation replays exactly.
    rng: random.Random = field(default_factory=random.Random)
    bugs: frozenset[str] = frozenset()

    def validate(self) -> None:
        if self.id == 0:
            raise ValueError("cannot use none as id")
        if self.heartbeat_tick <= 0:
            raise ValueError("heartbeat tick must be greater than 0")
        if self.election_tick <= self.heartbeat_tick:
            raise ValueError("election tick must be greater than heartbeat tick")
        if self.max_inflight_msgs <= 0:
            raise ValueError("max inflight messages must be greater than 0")
        unknown = set(self.bugs) - set(PLANTED_BUGS)
        if unknown:
            raise ValueError(f"unknown planted bug(s): {sorted(unknown)}")
