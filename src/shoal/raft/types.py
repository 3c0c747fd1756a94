"""The data that crosses the raft core's boundary: entries, hard state, snapshots, messages.

These are plain typed structs (slots dataclasses) with no behaviour beyond construction; the one
encoder for WAL records and peer frames is `shoal.raft.codec`. Names follow etcd's raftpb so a
reader can hold the two side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

NONE = 0
"""Node id 0 means "no node" (no leader, no vote), as in etcd raft."""


class EntryType(IntEnum):
    NORMAL = 0
    CONF_CHANGE = 1


class ConfChangeType(IntEnum):
    ADD_NODE = 0
    REMOVE_NODE = 1
    UPDATE_NODE = 2
    ADD_LEARNER = 3


class MessageType(IntEnum):
    # Local messages: never sent over the network.
    HUP = 0  # start an election (campaign)
    BEAT = 1  # leader: send heartbeats
    PROP = 2  # proposal (also forwarded follower -> leader)
    APP = 3  # AppendEntries
    APP_RESP = 4
    VOTE = 5
    VOTE_RESP = 6
    SNAP = 7  # InstallSnapshot
    HEARTBEAT = 8
    HEARTBEAT_RESP = 9
    UNREACHABLE = 10  # local: the transport could not reach a peer
    SNAP_STATUS = 11  # local: a snapshot send finished (reject = failed)
    CHECK_QUORUM = 12  # local: leader checks it still has an active quorum
    TRANSFER_LEADER = 13
    TIMEOUT_NOW = 14  # leader -> transferee: campaign now, ignoring leases
    READ_INDEX = 15
    READ_INDEX_RESP = 16
    PRE_VOTE = 17
    PRE_VOTE_RESP = 18


LOCAL_MESSAGES = frozenset(
    {
        MessageType.HUP,
        MessageType.BEAT,
        MessageType.UNREACHABLE,
        MessageType.SNAP_STATUS,
        MessageType.CHECK_QUORUM,
    }
)


@dataclass(slots=True)
class Entry:
    term: int
    index: int
    type: EntryType = EntryType.NORMAL
    data: bytes = b""


@dataclass(slots=True)
class HardState:
    """What must be durable before any message that depends on it is sent."""

    term: int = 0
    vote: int = NONE
    commit: int = 0

    def is_empty(self) -> bool:
        return self.term == 0 and self.vote == NONE and self.commit == 0


@dataclass(slots=True, frozen=True)
class ConfState:
    voters: tuple[int, ...] = ()
    learners: tuple[int, ...] = ()


@dataclass(slots=True)
class SnapshotMeta:
    index: int = 0
    term: int = 0
    conf_state: ConfState = field(default_factory=ConfState)


@dataclass(slots=True)
class Snapshot:
    meta: SnapshotMeta = field(default_factory=SnapshotMeta)
    data: bytes = b""

    def is_empty(self) -> bool:
        return self.meta.index == 0


@dataclass(slots=True, frozen=True)
class ConfChange:
    """A single-server membership change, carried as the data of a CONF_CHANGE entry."""

    type: ConfChangeType
    node_id: int
    context: bytes = b""


@dataclass(slots=True)
class Message:
    type: MessageType
    to: int = NONE
    frm: int = NONE
    term: int = 0
    log_term: int = 0
    index: int = 0
    entries: list[Entry] = field(default_factory=list)
    commit: int = 0
    reject: bool = False
    reject_hint: int = 0
    snapshot: Snapshot | None = None
    context: bytes = b""


@dataclass(slots=True, frozen=True)
class ReadState:
    """A linearizable read is safe once the applied index reaches `index`."""

    index: int
    request_ctx: bytes


class StateType(StrEnum):
    """The role of a node (etcd's StateType). A str, so it compares equal to its plain name."""

    FOLLOWER = "follower"
    CANDIDATE = "candidate"
    LEADER = "leader"
    PRE_CANDIDATE = "pre-candidate"

    @property
    def go_name(self) -> str:
        """The name etcd prints (StateType.String(), e.g. in /v2/stats/self: "StateLeader")."""
        return _GO_STATE_NAMES[self]


_GO_STATE_NAMES = {
    StateType.FOLLOWER: "StateFollower",
    StateType.CANDIDATE: "StateCandidate",
    StateType.LEADER: "StateLeader",
    StateType.PRE_CANDIDATE: "StatePreCandidate",
}


@dataclass(slots=True, frozen=True)
class SoftState:
    lead: int
    role: StateType
