"""The application's handle on the core: feed it inputs, take back one Ready batch at a time.

The contract (etcd's RawNode):

1. Inputs: `tick()`, `step(msg)` for messages from peers, `propose(data)`,
   `propose_conf_change(cc)`, `read_index(ctx)`, `transfer_leadership(to)`.
2. When `has_ready()`, take `rd = ready()` and, in this order:
   a. persist `rd.hard_state` (if not None), `rd.entries` and `rd.snapshot` durably
      (then append them to the MemoryStorage / apply the snapshot to it);
   b. send `rd.messages` (never before (a): a vote or an acknowledgement must be on disk first);
   c. apply `rd.committed_entries` to the state machine, calling `apply_conf_change` for
      CONF_CHANGE entries; serve `rd.read_states` once applied has reached their index;
   d. call `advance(rd)`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from shoal.raft.config import Config
from shoal.raft.core import Raft
from shoal.raft.errors import ProposalDroppedError, StepLocalMsgError, StepPeerNotFoundError
from shoal.raft.progress import ProgressState
from shoal.raft.types import (
    LOCAL_MESSAGES,
    ConfChange,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    ReadState,
    Snapshot,
    SoftState,
    StateType,
)


@dataclass(slots=True)
class Ready:
    soft_state: SoftState | None = None
    hard_state: HardState | None = None
    read_states: list[ReadState] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    snapshot: Snapshot | None = None
    committed_entries: list[Entry] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    @property
    def must_sync(self) -> bool:
        """True when something must reach the disk with fsync before messages go out."""
        return bool(self.entries) or self.hard_state is not None or self.snapshot is not None


@dataclass(slots=True, frozen=True)
class PeerProgress:
    """What a leader knows of one member (a copy: changing it changes nothing in the core)."""

    match: int
    next: int
    state: ProgressState
    is_learner: bool
    recent_active: bool  # heard from since the last CheckQuorum
    paused: bool  # no more appends are sent to it until it answers
    inflight: int  # append messages sent and not yet acknowledged


@dataclass(slots=True, frozen=True)
class Status:
    id: int
    term: int
    vote: int
    commit: int
    applied: int
    lead: int
    role: StateType
    last_index: int
    progress: dict[int, tuple[int, int, str]]  # id -> (match, next, state), on the leader only
    # The membership as this node knows it (on every node), sorted.
    voters: tuple[int, ...] = ()
    learners: tuple[int, ...] = ()
    # id -> the leader's view of that member; on the leader only (empty elsewhere).
    peers: dict[int, PeerProgress] = field(default_factory=dict)

    def is_member(self, node: int) -> bool:
        return node in self.voters or node in self.learners


class RawNode:
    def __init__(self, config: Config) -> None:
        self.raft = Raft(config)
        self._prev_soft = self.raft.soft_state()
        self._prev_hard = self.raft.hard_state()

    # -- inputs --------------------------------------------------------------------------------
    def tick(self) -> None:
        self.raft.tick()

    def campaign(self) -> None:
        self.raft.step(Message(MessageType.HUP))

    def propose(self, data: bytes) -> None:
        """Raises ProposalDroppedError when it cannot be accepted now (no leader, ...)."""
        self.raft.step(
            Message(MessageType.PROP, frm=self.raft.id, entries=[Entry(0, 0, data=data)])
        )

    def propose_many(self, datas: list[bytes]) -> None:
        """Several proposals as one message: one append to the log, one round of replication."""
        self.raft.step(
            Message(
                MessageType.PROP, frm=self.raft.id, entries=[Entry(0, 0, data=d) for d in datas]
            )
        )

    def propose_conf_change(self, cc: ConfChange) -> None:
        from shoal.raft.codec import encode_conf_change

        self.raft.step(
            Message(
                MessageType.PROP,
                frm=self.raft.id,
                entries=[Entry(0, 0, EntryType.CONF_CHANGE, encode_conf_change(cc))],
            )
        )

    def apply_conf_change(self, cc: ConfChange) -> ConfState:
        return self.raft.apply_conf_change(cc)

    def step(self, m: Message) -> None:
        """A message from a peer. Messages the core cannot use are dropped, as on a network."""
        if m.type in LOCAL_MESSAGES:
            raise StepLocalMsgError()
        if (
            m.type in (MessageType.APP_RESP, MessageType.HEARTBEAT_RESP, MessageType.SNAP_STATUS)
            and m.frm not in self.raft.trk
            and self.raft.role is StateType.LEADER
        ):
            raise StepPeerNotFoundError()
        # A forwarded proposal or read that cannot be served now is dropped: the sender retries.
        with contextlib.suppress(ProposalDroppedError):
            self.raft.step(m)

    def read_index(self, ctx: bytes) -> None:
        """Ask for a linearizable read; a ReadState with this ctx appears in a later Ready."""
        self.raft.step(
            Message(MessageType.READ_INDEX, frm=self.raft.id, entries=[Entry(0, 0, data=ctx)])
        )

    def transfer_leadership(self, transferee: int) -> None:
        self.raft.step(Message(MessageType.TRANSFER_LEADER, frm=transferee))

    def report_unreachable(self, node: int) -> None:
        with contextlib.suppress(ProposalDroppedError):
            self.raft.step(Message(MessageType.UNREACHABLE, frm=node))

    def report_snapshot(self, node: int, ok: bool) -> None:
        self.raft.step(Message(MessageType.SNAP_STATUS, frm=node, reject=not ok))

    # -- outputs -------------------------------------------------------------------------------
    def has_ready(self) -> bool:
        r = self.raft
        # Cheapest checks first: this runs after every input.
        if r.msgs or r.log.unstable.entries or r.read_states:
            return True
        if r.log.unstable.snapshot is not None or r.log.has_next_ents():
            return True
        ps = self._prev_soft
        if r.lead != ps.lead or r.role != ps.role:
            return True
        return r.hard_state() != self._prev_hard

    def ready(self) -> Ready:
        r = self.raft
        rd = Ready(
            entries=r.log.unstable_entries(),
            committed_entries=r.log.next_ents(),
            messages=r.msgs,
        )
        r.msgs = []
        soft = r.soft_state()
        if soft != self._prev_soft:
            rd.soft_state = soft
        hs = r.hard_state()
        if hs != self._prev_hard:
            rd.hard_state = hs
        if r.log.unstable.snapshot is not None:
            rd.snapshot = r.log.unstable.snapshot
        if r.read_states:
            rd.read_states = r.read_states
            r.read_states = []
        if r.role is StateType.LEADER and rd.committed_entries:
            r.reduce_uncommitted_size(rd.committed_entries)
        return rd

    def advance(self, rd: Ready) -> None:
        r = self.raft
        if rd.soft_state is not None:
            self._prev_soft = rd.soft_state
        if rd.hard_state is not None:
            self._prev_hard = rd.hard_state
        if rd.committed_entries:
            r.log.applied_to(rd.committed_entries[-1].index)
        elif rd.snapshot is not None:
            r.log.applied_to(rd.snapshot.meta.index)
        if rd.entries:
            last = rd.entries[-1]
            r.log.stable_to(last.index, last.term)
        if rd.snapshot is not None:
            r.log.stable_snap_to(rd.snapshot.meta.index)
        if r.role is StateType.LEADER:
            r._release_pending_read_index()

    def status(self) -> Status:
        r = self.raft
        progress: dict[int, tuple[int, int, str]] = {}
        peers: dict[int, PeerProgress] = {}
        if r.role is StateType.LEADER:
            for i, p in r.trk.progress.items():
                progress[i] = (p.match, p.next, p.state.value)
                peers[i] = PeerProgress(
                    p.match,
                    p.next,
                    p.state,
                    p.is_learner,
                    p.recent_active,
                    p.is_paused(),
                    p.inflights.count(),
                )
        cs = r.trk.conf_state()
        return Status(
            r.id,
            r.term,
            r.vote,
            r.log.committed,
            r.log.applied,
            r.lead,
            r.role,
            r.log.last_index(),
            progress,
            cs.voters,
            cs.learners,
            peers,
        )
