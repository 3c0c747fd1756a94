"""The Raft state machine: roles, elections, replication, commitment, reads, membership.

Pure and deterministic: it is driven by `step(message)` and `tick()`, and leaves its outputs in
`msgs`, `read_states` and its log for `RawNode` to collect into a Ready. It never does I/O,
reads a clock or uses asyncio. The structure follows etcd's raft.go so the two read side by side;
comments cite the sections of the Raft paper (Ongaro & Ousterhout 2014) and thesis.

Who is in the cluster and what is known of each member lives in `shoal.raft.tracker`, the rules
of membership changes in `shoal.raft.confchange`, majority arithmetic in `shoal.raft.quorum`.
This module stays one state machine of under 800 lines on purpose, as etcd's raft.go is one:
the step functions of the roles and the transitions between them read as a whole, and spreading
them over modules (mixins sharing one state) would hide which role handles which message.
"""

from __future__ import annotations

from collections.abc import Callable

from shoal.raft import confchange, quorum
from shoal.raft.codec import decode_conf_change
from shoal.raft.config import Config
from shoal.raft.errors import (
    CompactedError,
    ConfChangeError,
    ConfChangePendingError,
    ProposalDroppedError,
    SnapshotTemporarilyUnavailableError,
    UnavailableError,
)
from shoal.raft.log import RaftLog
from shoal.raft.progress import Progress, ProgressState
from shoal.raft.readonly import ReadOnly
from shoal.raft.tracker import ProgressTracker
from shoal.raft.types import (
    NONE,
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

# Context of a vote request sent because of a leadership transfer: it overrides leader leases.
CAMPAIGN_TRANSFER = b"CampaignTransfer"

MT = MessageType


def _payload_size(ents: list[Entry]) -> int:
    return sum(len(e.data) for e in ents)


def vote_resp_type(t: MessageType) -> MessageType:
    if t is MT.VOTE:
        return MT.VOTE_RESP
    if t is MT.PRE_VOTE:
        return MT.PRE_VOTE_RESP
    raise AssertionError(f"not a vote message: {t}")


class Raft:
    def __init__(self, c: Config) -> None:
        c.validate()
        self.id = c.id
        self.cfg = c
        self.log = RaftLog(c.storage, c.max_committed_size_per_ready)
        self.rng = c.rng
        self.max_msg_size = c.max_size_per_msg
        self.max_uncommitted_size = c.max_uncommitted_entries_size
        self.check_quorum = c.check_quorum
        self.pre_vote = c.pre_vote
        self.election_timeout = c.election_tick
        self.heartbeat_timeout = c.heartbeat_tick

        self.term = 0
        self.vote = NONE
        self.lead = NONE
        self.role = StateType.FOLLOWER
        self.trk = ProgressTracker(c.max_inflight_msgs, c.max_inflight_bytes)
        self.msgs: list[Message] = []
        self.read_states: list[ReadState] = []
        self.read_only = ReadOnly()
        self.pending_read_index: list[Message] = []
        self.lead_transferee = NONE
        self.pending_conf_index = 0
        self.uncommitted_size = 0
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = 0
        self._step_fn: Callable[[Message], None] = self._step_follower
        self._tick_fn: Callable[[], None] = self._tick_election

        hs, cs = c.storage.initial_state()
        self.trk.reset_config(cs, 0)
        if not hs.is_empty():
            self._load_state(hs)
        if self.term < self.log.last_term():
            # Never be in a term older than our own log (a snapshot installed by hand, say):
            # ReadIndex and the commit rule compare terms and would be fooled.
            self.term = self.log.last_term()
        if c.applied > 0:
            self.log.applied_to(c.applied)
        self.become_follower(self.term, NONE)

    # -- state views ---------------------------------------------------------------------------
    def voters(self) -> list[int]:
        return self.trk.voter_nodes()

    def learners(self) -> list[int]:
        return self.trk.learner_nodes()

    def conf_state(self) -> ConfState:
        return self.trk.conf_state()

    def promotable(self) -> bool:
        return self.trk.is_voter(self.id)

    def hard_state(self) -> HardState:
        return HardState(self.term, self.vote, self.log.committed)

    def soft_state(self) -> SoftState:
        return SoftState(self.lead, self.role)

    def _load_state(self, hs: HardState) -> None:
        if hs.commit < self.log.committed or hs.commit > self.log.last_index():
            raise AssertionError(
                f"{self.id} state.commit {hs.commit} is out of range "
                f"[{self.log.committed}, {self.log.last_index()}]"
            )
        self.log.committed = hs.commit
        self.term = hs.term
        self.vote = hs.vote

    # -- sending -------------------------------------------------------------------------------
    def send(self, m: Message) -> None:
        m.frm = self.id
        if m.type in (MT.VOTE, MT.VOTE_RESP, MT.PRE_VOTE, MT.PRE_VOTE_RESP):
            if m.term == 0:
                raise AssertionError(f"term should be set when sending {m.type.name}")
        else:
            if m.term != 0:
                raise AssertionError(f"term should not be set when sending {m.type.name}")
            # Proposals and read requests are forwarded without a term: they are local requests
            # relayed to the leader, not messages of the current term.
            if m.type not in (MT.PROP, MT.READ_INDEX):
                m.term = self.term
        self.msgs.append(m)

    def send_append(self, to: int, send_if_empty: bool = True) -> bool:
        """Send entries (or a snapshot when they are compacted) to `to`; False if nothing sent."""
        pr = self.trk[to]
        if pr.is_paused():
            return False
        try:
            log_term = self.log.term(pr.next - 1)
            ents = self.log.entries(pr.next, self.max_msg_size)
        except (CompactedError, UnavailableError):
            return self._send_snapshot(to, pr)
        if not ents and not send_if_empty:
            return False
        self.send(
            Message(
                MT.APP,
                to=to,
                index=pr.next - 1,
                log_term=log_term,
                entries=ents,
                commit=self.log.committed,
            )
        )
        if ents:
            last = ents[-1].index
            if pr.state is ProgressState.REPLICATE:
                pr.optimistic_update(last)
                pr.inflights.add(last, _payload_size(ents))
            elif pr.state is ProgressState.PROBE:
                pr.probe_sent = True
        return True

    def _send_snapshot(self, to: int, pr: Progress) -> bool:
        if not pr.recent_active:
            return False
        try:
            snap = self.log.snapshot()
        except SnapshotTemporarilyUnavailableError:
            return False
        if snap.is_empty():
            raise AssertionError("need non-empty snapshot")
        pr.become_snapshot(snap.meta.index)
        self.send(Message(MT.SNAP, to=to, snapshot=snap))
        return True

    def send_heartbeat(self, to: int, ctx: bytes) -> None:
        # A follower may not have the leader's whole log: never tell it to commit past its match.
        commit = min(self.trk[to].match, self.log.committed)
        self.send(Message(MT.HEARTBEAT, to=to, commit=commit, context=ctx))

    def bcast_append(self) -> None:
        for i in self.trk:
            if i != self.id:
                self.send_append(i)

    def bcast_heartbeat(self, ctx: bytes = b"") -> None:
        if not ctx:
            last = self.read_only.last_pending_ctx()
            ctx = last if last is not None else b""
        for i in self.trk:
            if i != self.id:
                self.send_heartbeat(i, ctx)

    # -- commitment ----------------------------------------------------------------------------
    def maybe_commit(self) -> bool:
        return self.log.maybe_commit(self.trk.committed(), self.term)

    def committed_entry_in_current_term(self) -> bool:
        return self.log.term_or_zero(self.log.committed) == self.term

    # -- role changes --------------------------------------------------------------------------
    def reset(self, term: int) -> None:
        if self.term != term:
            self.term = term
            self.vote = NONE
        self.lead = NONE
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.reset_randomized_election_timeout()
        self.abort_leader_transfer()
        self.trk.reset_votes()
        last = self.log.last_index()
        for i, p in list(self.trk.progress.items()):
            np = self.trk.new_progress(last + 1, p.is_learner)
            if i == self.id:
                np.match = last
            self.trk.progress[i] = np
        self.pending_conf_index = 0
        self.uncommitted_size = 0
        self.read_only = ReadOnly()
        self.pending_read_index = []

    def reset_randomized_election_timeout(self) -> None:
        self.randomized_election_timeout = self.election_timeout + self.rng.randrange(
            self.election_timeout
        )

    def become_follower(self, term: int, lead: int) -> None:
        self._step_fn = self._step_follower
        self.reset(term)
        self._tick_fn = self._tick_election
        self.lead = lead
        self.role = StateType.FOLLOWER

    def become_candidate(self) -> None:
        if self.role is StateType.LEADER:
            raise AssertionError("invalid transition [leader -> candidate]")
        self._step_fn = self._step_candidate
        self.reset(self.term + 1)
        self._tick_fn = self._tick_election
        self.vote = self.id
        self.role = StateType.CANDIDATE

    def become_pre_candidate(self) -> None:
        if self.role is StateType.LEADER:
            raise AssertionError("invalid transition [leader -> pre-candidate]")
        # PreVote (thesis 9.6) changes neither the term nor the vote: a node cut off from the
        # cluster cannot disrupt it by coming back with an inflated term.
        self._step_fn = self._step_candidate
        self.trk.reset_votes()
        self._tick_fn = self._tick_election
        self.lead = NONE
        self.role = StateType.PRE_CANDIDATE

    def become_leader(self) -> None:
        if self.role is StateType.FOLLOWER:
            raise AssertionError("invalid transition [follower -> leader]")
        self._step_fn = self._step_leader
        self.reset(self.term)
        self._tick_fn = self._tick_heartbeat
        self.lead = self.id
        self.role = StateType.LEADER
        pr = self.trk[self.id]
        pr.become_replicate()
        pr.recent_active = True  # the leader is always active to itself (CheckQuorum keeps it)
        # Any conf change in the log may still be uncommitted: refuse new ones until it applies.
        self.pending_conf_index = self.log.last_index()
        # A no-op entry of the new term (section 8): commits everything before it, and lets
        # ReadIndex know when the leader's commit index is current.
        if not self.append_entries([Entry(0, 0)]):
            raise AssertionError("empty entry was dropped")

    # -- proposals -----------------------------------------------------------------------------
    def append_entries(self, proposed: list[Entry]) -> bool:
        # New Entry objects: the proposal's own may be shared with a caller (or a duplicate).
        li = self.log.last_index()
        t = self.term
        es = [Entry(t, li + 1 + i, e.type, e.data) for i, e in enumerate(proposed)]
        size = _payload_size(es)
        if (
            self.uncommitted_size > 0
            and size > 0
            and self.uncommitted_size + size > self.max_uncommitted_size
        ):
            return False
        self.uncommitted_size += size
        li = self.log.append(es)
        self.trk[self.id].maybe_update(li)
        self.maybe_commit()
        return True

    def reduce_uncommitted_size(self, ents: list[Entry]) -> None:
        if self.uncommitted_size == 0:
            return
        self.uncommitted_size = max(0, self.uncommitted_size - _payload_size(ents))

    # -- ticks ---------------------------------------------------------------------------------
    def tick(self) -> None:
        self._tick_fn()

    def past_election_timeout(self) -> bool:
        return self.election_elapsed >= self.randomized_election_timeout

    def _tick_election(self) -> None:
        self.election_elapsed += 1
        if self.promotable() and self.past_election_timeout():
            self.election_elapsed = 0
            self.step(Message(MT.HUP, frm=self.id))

    def _tick_heartbeat(self) -> None:
        self.heartbeat_elapsed += 1
        self.election_elapsed += 1
        if self.election_elapsed >= self.election_timeout:
            self.election_elapsed = 0
            if self.check_quorum:
                self.step(Message(MT.CHECK_QUORUM, frm=self.id))
            if self.role is StateType.LEADER and self.lead_transferee != NONE:
                self.abort_leader_transfer()
        if self.role is not StateType.LEADER:
            return
        if self.heartbeat_elapsed >= self.heartbeat_timeout:
            self.heartbeat_elapsed = 0
            self.step(Message(MT.BEAT, frm=self.id))

    # -- elections -----------------------------------------------------------------------------
    def campaign(self, transfer: bool = False, pre: bool = False) -> None:
        if not self.promotable():
            return
        if pre:
            self.become_pre_candidate()
            vote_msg = MT.PRE_VOTE
            term = self.term + 1  # the term we would campaign in; ours is unchanged
        else:
            self.become_candidate()
            vote_msg = MT.VOTE
            term = self.term
        if self.poll(self.id, vote_resp_type(vote_msg), True) is quorum.VoteResult.WON:
            # A cluster of one: won at once.
            if pre:
                self.campaign(transfer=transfer)
            else:
                self.become_leader()
            return
        ctx = CAMPAIGN_TRANSFER if transfer else b""
        for i in self.trk:
            if i == self.id or not self.trk.is_voter(i):
                continue
            self.send(
                Message(
                    vote_msg,
                    to=i,
                    term=term,
                    index=self.log.last_index(),
                    log_term=self.log.last_term(),
                    context=ctx,
                )
            )

    def poll(self, node: int, t: MessageType, granted: bool) -> quorum.VoteResult:
        self.trk.record_vote(node, granted)
        return self.trk.tally_votes()[2]

    def _has_unapplied_conf_change(self) -> bool:
        if self.log.committed <= self.log.applied:
            return False
        ents = self.log.slice(self.log.applied + 1, self.log.committed + 1)
        return any(e.type is EntryType.CONF_CHANGE for e in ents)

    # -- the message entry point ---------------------------------------------------------------
    def step(self, m: Message) -> None:
        if m.term == 0:
            pass  # local message
        elif m.term > self.term:
            if m.type in (MT.VOTE, MT.PRE_VOTE):
                force = m.context == CAMPAIGN_TRANSFER
                in_lease = (
                    self.check_quorum
                    and self.lead != NONE
                    and self.election_elapsed < self.election_timeout
                )
                if not force and in_lease:
                    # Leader lease (thesis 4.2.3): we heard from a leader within the minimum
                    # election timeout, so ignore this vote rather than disrupt a live leader.
                    return
            if m.type is MT.PRE_VOTE:
                pass  # never change our term for a pre-vote
            elif m.type is MT.PRE_VOTE_RESP and not m.reject:
                pass  # the term in a granted pre-vote is the future term: wait for the quorum
            elif m.type in (MT.APP, MT.HEARTBEAT, MT.SNAP):
                self.become_follower(m.term, m.frm)
            else:
                self.become_follower(m.term, NONE)
        elif m.term < self.term:
            if (self.check_quorum or self.pre_vote) and m.type in (MT.HEARTBEAT, MT.APP):
                # A stale leader cut off by a partition: tell it the current term so it steps
                # down (with CheckQuorum/PreVote nobody else would bump its term).
                self.send(Message(MT.APP_RESP, to=m.frm))
            elif m.type is MT.PRE_VOTE:
                self.send(Message(MT.PRE_VOTE_RESP, to=m.frm, term=self.term, reject=True))
            return

        t = m.type
        if t is MT.HUP:
            if self.role is StateType.LEADER:
                return
            if self._has_unapplied_conf_change():
                return  # cannot campaign while a committed conf change is not yet applied
            self.campaign(pre=self.pre_vote)
        elif t in (MT.VOTE, MT.PRE_VOTE):
            can_vote = (
                self.vote == m.frm
                or (self.vote == NONE and self.lead == NONE)
                or (t is MT.PRE_VOTE and m.term > self.term)
            )
            if can_vote and self.log.is_up_to_date(m.index, m.log_term):
                # The response carries the candidate's term: a granted pre-vote refers to the
                # future term, and a granted vote to the term we just moved to.
                self.send(Message(vote_resp_type(t), to=m.frm, term=m.term))
                if t is MT.VOTE:
                    self.election_elapsed = 0
                    self.vote = m.frm
            else:
                self.send(Message(vote_resp_type(t), to=m.frm, term=self.term, reject=True))
        else:
            self._step_fn(m)

    # -- leader --------------------------------------------------------------------------------
    def _step_leader(self, m: Message) -> None:
        t = m.type
        if t is MT.BEAT:
            self.bcast_heartbeat()
            return
        if t is MT.CHECK_QUORUM:
            if not self.trk.quorum_active(self.id):
                self.become_follower(self.term, NONE)
            for i, p in self.trk.progress.items():
                if i != self.id:
                    p.recent_active = False
            return
        if t is MT.PROP:
            self._leader_propose(m)
            return
        if t is MT.READ_INDEX:
            self._leader_read_index(m)
            return

        pr = self.trk.get(m.frm)
        if pr is None:
            return
        if t is MT.APP_RESP:
            self._leader_append_resp(m, pr)
        elif t is MT.HEARTBEAT_RESP:
            self._leader_heartbeat_resp(m, pr)
        elif t is MT.SNAP_STATUS:
            if pr.state is not ProgressState.SNAPSHOT:
                return
            if m.reject:
                pr.pending_snapshot = 0
            pr.become_probe()
            # Wait for the next heartbeat response before probing again.
            pr.probe_sent = True
        elif t is MT.UNREACHABLE:
            if pr.state is ProgressState.REPLICATE:
                pr.become_probe()
        elif t is MT.TRANSFER_LEADER:
            self._leader_transfer(m, pr)

    def _leader_propose(self, m: Message) -> None:
        if not m.entries:
            raise AssertionError("stepped empty MsgProp")
        if self.id not in self.trk:
            raise ProposalDroppedError("this node was removed from the cluster")
        if self.lead_transferee != NONE:
            raise ProposalDroppedError("leadership transfer in progress")
        local = m.frm == self.id and len(m.entries) == 1
        for i, e in enumerate(m.entries):
            if e.type is not EntryType.CONF_CHANGE:
                continue
            if self.pending_conf_index > self.log.applied:
                if local:
                    raise ConfChangePendingError()
                # Refuse a second change: keep the batch, drop this entry's effect.
                m.entries[i] = Entry(0, 0)
                continue
            # No change is pending, so the configuration it will apply to is the current one:
            # refuse now one that confchange would refuse when applied (etcd finds out there).
            try:
                self.check_conf_change(decode_conf_change(e.data))
            except ConfChangeError:
                if local:
                    raise
                m.entries[i] = Entry(0, 0)
                continue
            self.pending_conf_index = self.log.last_index() + i + 1
        if not self.append_entries(m.entries):
            raise ProposalDroppedError("too many uncommitted entries (no quorum?)")
        self.bcast_append()

    def _leader_read_index(self, m: Message) -> None:
        if self.trk.vote_result({self.id: True}) is quorum.VoteResult.WON:
            self._respond_read_index(m, self.log.committed)  # a cluster of one
            return
        if not self.committed_entry_in_current_term():
            # Thesis 6.4: until the no-op of this term commits, our commit index may be stale.
            self.pending_read_index.append(m)
            return
        self.read_only.add_request(self.log.committed, m)
        self.bcast_heartbeat(m.entries[0].data)

    def _respond_read_index(self, req: Message, index: int) -> None:
        if req.frm in (NONE, self.id):
            self.read_states.append(ReadState(index, req.entries[0].data))
        else:
            self.send(Message(MT.READ_INDEX_RESP, to=req.frm, index=index, entries=req.entries))

    def _release_pending_read_index(self) -> None:
        if not self.pending_read_index or not self.committed_entry_in_current_term():
            return
        pending, self.pending_read_index = self.pending_read_index, []
        for m in pending:
            self._leader_read_index(m)

    def _leader_append_resp(self, m: Message, pr: Progress) -> None:
        pr.recent_active = True
        if m.reject:
            hint = m.reject_hint
            if m.log_term > 0:
                hint = self.log.find_conflict_by_term(m.reject_hint, m.log_term)
            if pr.maybe_decr_to(m.index, hint):
                if pr.state is ProgressState.REPLICATE:
                    pr.become_probe()
                self.send_append(m.frm)
            return
        old_paused = pr.is_paused()
        if not pr.maybe_update(m.index):
            return
        if pr.state is ProgressState.PROBE:
            pr.become_replicate()
        elif pr.state is ProgressState.SNAPSHOT and pr.match >= pr.pending_snapshot:
            pr.become_probe()
            pr.become_replicate()
        elif pr.state is ProgressState.REPLICATE:
            pr.inflights.free_le(m.index)
        if self.maybe_commit():
            self._release_pending_read_index()
            self.bcast_append()
        elif old_paused:
            self.send_append(m.frm)
        # Keep the pipe full while there is more to send and room in flight.
        while self.send_append(m.frm, send_if_empty=False):
            pass
        if m.frm == self.lead_transferee and pr.match == self.log.last_index():
            self.send(Message(MT.TIMEOUT_NOW, to=m.frm))

    def _leader_heartbeat_resp(self, m: Message, pr: Progress) -> None:
        pr.recent_active = True
        pr.probe_sent = False
        if pr.state is ProgressState.REPLICATE and pr.inflights.full():
            pr.inflights.free_first_one()
        if pr.match < self.log.last_index():
            self.send_append(m.frm)
        if not m.context:
            return
        acks = self.read_only.recv_ack(m.frm, m.context)
        if acks is None:
            return
        votes = {i: True for i in acks}
        votes[self.id] = True
        if self.trk.vote_result(votes) is not quorum.VoteResult.WON:
            return
        for rs in self.read_only.advance(m.context):
            self._respond_read_index(rs.req, rs.index)

    def _leader_transfer(self, m: Message, pr: Progress) -> None:
        if pr.is_learner:
            return
        transferee = m.frm
        if self.lead_transferee != NONE:
            if self.lead_transferee == transferee:
                return
            self.abort_leader_transfer()
        if transferee == self.id:
            return
        # The transfer must finish within an election timeout or it is abandoned (thesis 3.10).
        self.election_elapsed = 0
        self.lead_transferee = transferee
        if pr.match == self.log.last_index():
            self.send(Message(MT.TIMEOUT_NOW, to=transferee))
        else:
            self.send_append(transferee)

    def abort_leader_transfer(self) -> None:
        self.lead_transferee = NONE

    # -- candidate -----------------------------------------------------------------------------
    def _step_candidate(self, m: Message) -> None:
        t = m.type
        pre = self.role is StateType.PRE_CANDIDATE
        my_resp = MT.PRE_VOTE_RESP if pre else MT.VOTE_RESP
        if t is MT.PROP:
            raise ProposalDroppedError("no leader: an election is in progress")
        if t is MT.APP:
            self.become_follower(m.term, m.frm)
            self.handle_append(m)
        elif t is MT.HEARTBEAT:
            self.become_follower(m.term, m.frm)
            self.handle_heartbeat(m)
        elif t is MT.SNAP:
            self.become_follower(m.term, m.frm)
            self.handle_snapshot(m)
        elif t is my_resp:
            res = self.poll(m.frm, t, not m.reject)
            if res is quorum.VoteResult.WON:
                if pre:
                    self.campaign()
                else:
                    self.become_leader()
                    self.bcast_append()
            elif res is quorum.VoteResult.LOST:
                # A pre-candidate's term is unchanged; a candidate keeps the term it moved to.
                self.become_follower(self.term, NONE)

    # -- follower ------------------------------------------------------------------------------
    def _step_follower(self, m: Message) -> None:
        t = m.type
        if t is MT.PROP:
            if self.lead == NONE:
                raise ProposalDroppedError("no leader")
            if self.cfg.disable_proposal_forwarding:
                raise ProposalDroppedError("proposal forwarding is disabled")
            m.to = self.lead
            self.send(m)
        elif t is MT.APP:
            self.election_elapsed = 0
            self.lead = m.frm
            self.handle_append(m)
        elif t is MT.HEARTBEAT:
            self.election_elapsed = 0
            self.lead = m.frm
            self.handle_heartbeat(m)
        elif t is MT.SNAP:
            self.election_elapsed = 0
            self.lead = m.frm
            self.handle_snapshot(m)
        elif t is MT.TRANSFER_LEADER:
            if self.lead == NONE:
                return
            m.to = self.lead
            self.send(m)
        elif t is MT.TIMEOUT_NOW:
            if self.promotable():
                # Transfer: campaign at once, without pre-vote, overriding leader leases.
                self.campaign(transfer=True)
        elif t is MT.READ_INDEX:
            if self.lead == NONE:
                raise ProposalDroppedError("no leader to confirm a read index")
            m.to = self.lead
            self.send(m)
        elif t is MT.READ_INDEX_RESP:
            if len(m.entries) != 1:
                return
            self.read_states.append(ReadState(m.index, m.entries[0].data))

    def handle_append(self, m: Message) -> None:
        if m.index < self.log.committed:
            self.send(Message(MT.APP_RESP, to=m.frm, index=self.log.committed))
            return
        last = self.log.maybe_append(m.index, m.log_term, m.commit, m.entries)
        if last is not None:
            self.send(Message(MT.APP_RESP, to=m.frm, index=last))
            return
        # Reject, with a hint: the largest index <= m.index whose term is <= m.log_term. The
        # leader skips every entry of a conflicting term at once (section 5.3, fast backtracking).
        hint = min(m.index, self.log.last_index())
        hint = self.log.find_conflict_by_term(hint, m.log_term)
        self.send(
            Message(
                MT.APP_RESP,
                to=m.frm,
                index=m.index,
                reject=True,
                reject_hint=hint,
                log_term=self.log.term_or_zero(hint),
            )
        )

    def handle_heartbeat(self, m: Message) -> None:
        # The leader sends min(its commit, our match). Our log can end before that match when
        # its tail of acknowledged entries was lost (a torn WAL tail): commit only what we hold
        # (a prefix of what the leader matched, so safe) and answer, so that the leader's next
        # append is refused and it sends the lost entries again (etcd panics here instead).
        self.log.commit_to(min(m.commit, self.log.last_index()))
        self.send(Message(MT.HEARTBEAT_RESP, to=m.frm, context=m.context))

    def handle_snapshot(self, m: Message) -> None:
        assert m.snapshot is not None
        if self.restore(m.snapshot):
            self.send(Message(MT.APP_RESP, to=m.frm, index=self.log.last_index()))
        else:
            self.send(Message(MT.APP_RESP, to=m.frm, index=self.log.committed))

    def restore(self, s: Snapshot) -> bool:
        """Install a snapshot; False if it is not newer than what we have committed."""
        if s.meta.index <= self.log.committed:
            return False
        if self.role is not StateType.FOLLOWER:
            return False
        if self.log.match_term(s.meta.index, s.meta.term):
            # We already have the snapshot's last entry: just fast-forward the commit index.
            self.log.commit_to(s.meta.index)
            return False
        self.log.restore(s)
        last = self.log.last_index()
        self.trk.reset_config(s.meta.conf_state, last)
        pr = self.trk.get(self.id)
        if pr is not None:
            pr.match = last
        return True

    # -- membership ----------------------------------------------------------------------------
    def check_conf_change(self, cc: ConfChange) -> None:
        """Raise ConfChangeError if `cc` cannot apply to the current configuration."""
        confchange.simple(self.trk.config, [cc])

    def apply_conf_change(self, cc: ConfChange) -> ConfState:
        """Called by the application when a CONF_CHANGE entry is applied (section 4.1 of the
        thesis: a single-server change takes effect on each node when applied). Raises
        ConfChangeError, with the configuration unchanged, if the change is refused."""
        cfg = confchange.simple(self.trk.config, [cc])
        self.trk.switch_to(cfg, self.log.last_index())
        if self.lead_transferee != NONE and not self.trk.is_voter(self.lead_transferee):
            self.abort_leader_transfer()  # the transferee was removed or demoted
        if self.role is not StateType.LEADER or not cfg.voters:
            return cfg.conf_state()
        if self.id in cfg.learners:
            # A leader demoted to a learner may neither vote nor count for commitment: it steps
            # down in its term, and the voters elect a leader among themselves (etcd does the
            # same with StepDownOnRemoval).
            self.become_follower(self.term, NONE)
            return cfg.conf_state()
        # The quorum may have shrunk: entries may now be committed.
        if self.maybe_commit():
            self._release_pending_read_index()
            self.bcast_append()
        else:
            for i in self.trk:
                if i != self.id:
                    self.send_append(i, send_if_empty=False)
        return cfg.conf_state()
