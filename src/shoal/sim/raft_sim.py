"""Deterministic simulation of a raft cluster, with its safety and liveness invariants.

One run = one seed. A cluster of `shoal.raft` cores exchanges messages over a simulated network
(`shoal.sim.network`) on a simulated clock, persists exactly what each Ready asks into a
MemoryStorage that stands for its disk, and applies committed entries to a tiny state machine
(the set of client writes). A nemesis crashes and restarts nodes (from what they persisted, also
between persisting and sending), partitions and heals the network, makes it lossy, duplicating
and reordering, transfers leadership and changes membership. Clients write and read
(linearizable reads through ReadIndex). At every step the run checks:

- election safety: at most one leader per term;
- log matching: two logs with an entry of the same index and term agree on every entry up to it;
- leader completeness: a new leader holds every entry ever applied anywhere;
- state machine safety: every node applies the same entry at the same index;
- linearizable reads: a read sees every write acknowledged before it began;
- durability: every acknowledged write is in every member's state at the end;
- liveness: once the network heals and every node is up, a leader is elected and a new
  proposal commits within a bound.

Everything random comes from `random.Random(seed)`, so a failing seed replays exactly. The
safety checks live in `shoal.sim.invariants`, the faults in `shoal.sim.nemesis`, a machine's
state in `shoal.sim.node`, and the planted bugs the simulator must find in `shoal.sim.mutants`.
"""

from __future__ import annotations

import contextlib
import heapq
import random
import struct
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from shoal.raft.codec import decode_conf_change
from shoal.raft.config import Config
from shoal.raft.errors import ProposalDroppedError, RaftError
from shoal.raft.rawnode import RawNode, Ready
from shoal.raft.storage import MemoryStorage
from shoal.raft.types import (
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    Message,
    MessageType,
    StateType,
)
from shoal.sim import nemesis
from shoal.sim.invariants import History, LogView, Violation, check_log_matching, check_read
from shoal.sim.mutants import plant
from shoal.sim.network import NetworkFaults, delivery_delays
from shoal.sim.node import AppState, SimNode

TICK_MS = 10
LEADER = StateType.LEADER
WRITE = struct.Struct(">Q")


@dataclass
class SimConfig:
    seed: int
    nodes: int = 3
    steps: int = 1000  # ticks of faults, then a liveness phase
    bugs: frozenset[str] = frozenset()
    election_tick: int = 10
    heartbeat_tick: int = 1
    liveness_ticks: int = 600  # bound for a leader + a committed write after healing
    trace: int = 60  # recent events kept for a failure report


@dataclass
class RunResult:
    seed: int
    ok: bool
    violation: str = ""
    stats: dict[str, int] = field(default_factory=dict)
    trace: list[str] = field(default_factory=list)


class RaftSim:
    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.now = 0
        self.events: list[tuple[int, int, str, Any]] = []
        self._seq = 0
        self.net = NetworkFaults()
        self.nodes: dict[int, SimNode] = {}
        self.next_id = cfg.nodes + 1
        self.history = History()
        self.acked: list[int] = []  # write ids acknowledged to clients, in order
        self.next_write = 1
        self.next_read = 1
        self.healed_at: int | None = None
        self.live_ok_at: int | None = None
        self.trace: deque[str] = deque(maxlen=cfg.trace)
        self.stats = {
            "elections": 0,
            "writes_acked": 0,
            "reads_ok": 0,
            "crashes": 0,
            "mid_crashes": 0,
            "partitions": 0,
            "snapshots_sent": 0,
            "conf_changes": 0,
            "transfers": 0,
            "messages": 0,
        }
        # Flow-control and batching limits vary by seed so every path is exercised.
        self.max_msg_size = self.rng.choice([1, 64, 1 << 20])
        self.max_inflight = self.rng.choice([1, 4, 256])
        # A byte budget for appends in flight, of one to a few messages of 8-byte writes (at
        # least max_msg_size). Drawn from its own generator, so that adding it moved no other
        # choice of an existing seed.
        budgets = {1: [0, 8, 24], 64: [0, 64, 128]}.get(self.max_msg_size, [0])
        self.max_inflight_bytes = random.Random(cfg.seed ^ 0x5EED).choice(budgets)
        self.snapshot_every = self.rng.choice([20, 60, 200])
        # Crash points (FoundationDB's "buggify"): per seed, how likely a node dies at moments
        # where a bug would show. Varying them by seed spreads runs over calm and violent ones.
        self.p_mid_crash = self.rng.choice([0.001, 0.01])  # between persist and send
        self.p_vote_crash = self.rng.choice([0.02, 0.2, 0.5])  # just after granting a vote
        self.p_append_crash = self.rng.choice([0.0, 0.05, 0.2])  # leader, after appending
        self.p_commit_crash = self.rng.choice([0.0, 0.05, 0.3])  # leader, after committing
        self.p_lead_crash = self.rng.choice([0.0, 0.1, 0.4])  # leader, as soon as elected
        self.net.max_delay = self.rng.choice([10, 30])
        self.down_for = self.rng.choice([100, 400, 2000])  # how long a crashed node stays down
        voters = tuple(range(1, cfg.nodes + 1))
        for i in voters:
            st = MemoryStorage()
            st.bootstrap(ConfState(voters, ()), AppState().encode())
            self.nodes[i] = SimNode(i, st)
            self.start(self.nodes[i])

    # -- event queue ---------------------------------------------------------------------------
    def at(self, t: int, kind: str, payload: Any = None) -> None:
        self._seq += 1
        heapq.heappush(self.events, (t, self._seq, kind, payload))

    def log(self, text: str) -> None:
        self.trace.append(f"t={self.now}ms {text}")

    # -- node lifecycle ------------------------------------------------------------------------
    def start(self, n: SimNode) -> None:
        n.restarts += 1
        snap = n.storage.snapshot()
        n.app = AppState.decode(snap.data, snap.meta)
        rng = random.Random(self.cfg.seed * 7919 + n.id * 104729 + n.restarts)
        n.raw = RawNode(
            Config(
                id=n.id,
                storage=n.storage,
                election_tick=self.cfg.election_tick,
                heartbeat_tick=self.cfg.heartbeat_tick,
                max_size_per_msg=self.max_msg_size,
                max_inflight_msgs=self.max_inflight,
                max_inflight_bytes=self.max_inflight_bytes,
                max_uncommitted_entries_size=4096,
                rng=rng,
            )
        )
        if self.cfg.bugs:
            plant(n.raw, self.cfg.bugs)
        n.proposals.clear()
        n.reads.clear()
        n.ready_reads.clear()
        self.at(self.now + self.rng.randint(1, TICK_MS), "tick", (n.id, n.restarts))
        self.log(f"n{n.id} start (restart #{n.restarts - 1})")

    def crash(self, n: SimNode, why: str, restart_within: int = 0) -> None:
        if not n.alive:
            return
        n.raw = None
        if restart_within:
            self.at(self.now + self.rng.randint(1, restart_within), "restart", n.id)
        self.stats["crashes"] += 1
        self.log(f"n{n.id} crash ({why})")

    # -- the Ready loop ------------------------------------------------------------------------
    def process(self, n: SimNode) -> None:
        while n.raw is not None and n.raw.has_ready():
            raw = n.raw
            rd = raw.ready()
            if rd.soft_state is not None and rd.soft_state.role is LEADER:
                self.on_leader(n, raw)
            # (a) persist
            if rd.snapshot is not None:
                n.storage.apply_snapshot(rd.snapshot)
            n.storage.append(rd.entries)
            if rd.hard_state is not None:
                n.storage.set_hard_state(rd.hard_state)
            if rd.messages and self.buggify(self.p_mid_crash):
                self.stats["mid_crashes"] += 1
                self.crash(n, "between persist and send", restart_within=self.down_for)
                return
            leading = raw.raft.role is LEADER
            if rd.soft_state is not None and leading and self.buggify(self.p_lead_crash):
                # Elected, its no-op on disk, and gone before telling anyone.
                self.crash(n, "leader, just elected", restart_within=self.down_for)
                return
            if leading and rd.entries and self.buggify(self.p_append_crash):
                # Sends only part of what it should: the leader dies while replicating.
                for m in rd.messages[: self.rng.randrange(len(rd.messages) + 1)]:
                    self.send(m)
                self.crash(n, "leader, while replicating new entries", restart_within=self.down_for)
                return
            commit_crash = leading and rd.committed_entries and self.buggify(self.p_commit_crash)
            # (b) send; a leader about to crash gets only part of its messages out
            out = rd.messages
            if commit_crash:
                out = out[: self.rng.randrange(len(out) + 1)]
            for m in out:
                self.send(m)
            # (c) apply
            self.apply(n, rd)
            raw.advance(rd)
            if n.raw is None:
                return  # removed itself while applying
            if commit_crash:
                self.crash(n, "leader, just after applying", restart_within=self.down_for)
                return
            self.maybe_compact(n)
            granted = any(m.type is MessageType.VOTE_RESP and not m.reject for m in rd.messages)
            if granted and self.buggify(self.p_vote_crash):
                self.crash(n, "after granting a vote", restart_within=30)
                return

    def buggify(self, p: float) -> bool:
        """True with probability p, until the liveness phase begins (then: never)."""
        return self.healed_at is None and p > 0 and self.rng.random() < p

    def apply(self, n: SimNode, rd: Ready) -> None:
        if rd.snapshot is not None:
            n.app = AppState.decode(rd.snapshot.data, rd.snapshot.meta)
            self.log(f"n{n.id} installed snapshot at {rd.snapshot.meta.index}")
        for e in rd.committed_entries:
            self.history.applied(n.id, e)
            n.app.applied = e.index
            if e.type is EntryType.CONF_CHANGE:
                cc = decode_conf_change(e.data)
                assert n.raw is not None
                n.app.conf = n.raw.apply_conf_change(cc)
                if cc.type is ConfChangeType.REMOVE_NODE and cc.node_id == n.id:
                    n.removed = True
                    n.raw = None
                    self.log(f"n{n.id} applied its own removal and stopped")
                    return
            elif e.data:
                (w,) = WRITE.unpack(e.data)
                if w not in n.app.seen:
                    n.app.seen.add(w)
                    n.app.writes.append(w)
                proposed_at = n.proposals.pop(w, None)
                if proposed_at is not None:
                    self.acked.append(w)
                    self.stats["writes_acked"] += 1
                    healed = self.healed_at
                    if healed is not None and proposed_at >= healed and self.live_ok_at is None:
                        self.live_ok_at = self.now
        for rs in rd.read_states:
            n.ready_reads.append((rs.index, rs.request_ctx))
        self.serve_reads(n)

    def serve_reads(self, n: SimNode) -> None:
        keep = []
        for index, ctx in n.ready_reads:
            if n.app.applied < index:
                keep.append((index, ctx))
                continue
            req = n.reads.pop(ctx, None)
            if req is None:
                continue
            read_id, acked_at_start = req
            acked_before = self.acked[:acked_at_start]
            check_read(n.id, read_id, index, n.app.applied, n.app.seen, acked_before)
            self.stats["reads_ok"] += 1
        n.ready_reads = keep

    def maybe_compact(self, n: SimNode) -> None:
        st = n.storage
        applied = n.app.applied
        if applied - st.snapshot().meta.index < self.snapshot_every:
            return
        st.create_snapshot(applied, n.app.conf, n.app.encode())
        keep = 5
        if applied - keep > st.first_index():
            st.compact(applied - keep)

    # -- invariants (shoal.sim.invariants) ----------------------------------------------------
    def on_leader(self, n: SimNode, raw: RawNode) -> None:
        self.stats["elections"] += 1
        self.history.elected(n.id, raw.raft.term, raw.raft.log)
        self.log(f"n{n.id} became leader in term {raw.raft.term}")

    def check_log_matching(self) -> None:
        logs: dict[int, LogView] = {}
        for n in self.nodes.values():
            if n.raw is None:
                continue
            lg = n.raw.raft.log
            ents = list(n.storage.ents[1:])
            uoff = lg.unstable.offset
            ents = [e for e in ents if e.index < uoff] + lg.unstable.entries
            logs[n.id] = {e.index: (e.term, int(e.type), e.data) for e in ents}
        check_log_matching(logs)

    # -- the network ---------------------------------------------------------------------------
    def send(self, m: Message) -> None:
        self.stats["messages"] += 1
        to = self.nodes.get(m.to)
        if to is None or to.removed:
            return
        if self.net.blocked(m.frm, m.to):
            if m.type is MessageType.SNAP:
                self.at(self.now + TICK_MS, "snap-status", (m.frm, m.to, False))
            elif self.rng.random() < 0.1:
                self.at(self.now + TICK_MS, "unreachable", (m.frm, m.to))
            return
        delays = delivery_delays(self.rng, self.net)
        if not delays and m.type is MessageType.SNAP:
            self.at(self.now + TICK_MS, "snap-status", (m.frm, m.to, False))
        for d in delays:
            # Each copy is its own object, as if serialized: receivers may not share state.
            self.at(self.now + d, "deliver", clone_message(m))

    def deliver(self, m: Message) -> None:
        n = self.nodes[m.to]
        if n.raw is None:
            if m.type is MessageType.SNAP:
                self.at(self.now + TICK_MS, "snap-status", (m.frm, m.to, False))
            return
        if m.type is MessageType.SNAP:
            self.stats["snapshots_sent"] += 1
        with contextlib.suppress(RaftError):
            n.raw.step(m)
        self.process(n)
        if m.type is MessageType.SNAP:
            self.at(self.now + 1, "snap-status", (m.frm, m.to, True))

    # -- clients -------------------------------------------------------------------------------
    def client(self) -> None:
        alive = [n for n in self.nodes.values() if n.alive and not n.removed]
        if alive:
            n = self.rng.choice(alive)
            assert n.raw is not None
            if self.rng.random() < 0.6:
                w = self.next_write
                self.next_write += 1
                try:
                    n.raw.propose(WRITE.pack(w))
                    n.proposals[w] = self.now
                except ProposalDroppedError:
                    pass
            else:
                r = self.next_read
                self.next_read += 1
                ctx = b"r" + WRITE.pack(r)
                try:
                    n.raw.read_index(ctx)
                    n.reads[ctx] = (r, len(self.acked))
                except ProposalDroppedError:
                    pass
            self.process(n)
        self.at(self.now + self.rng.randint(2, 25), "client")

    # -- the nemesis ---------------------------------------------------------------------------
    def leader(self) -> SimNode | None:
        best: SimNode | None = None
        best_term = -1
        for n in self.nodes.values():
            if n.raw is not None and n.raw.raft.role is LEADER and n.raw.raft.term > best_term:
                best, best_term = n, n.raw.raft.term
        return best

    def nemesis(self) -> None:
        nemesis.act(self)

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> RunResult:
        cfg = self.cfg
        fault_end = cfg.steps * TICK_MS
        live_end = fault_end + cfg.liveness_ticks * TICK_MS
        self.at(0, "client")
        self.at(self.rng.randint(100, 500), "nemesis")
        self.at(fault_end, "heal-all")
        next_check = 0
        try:
            while self.events:
                t, _, kind, payload = heapq.heappop(self.events)
                if t > live_end:
                    break
                self.now = t
                self.handle(kind, payload)
                if self.live_ok_at is not None and self.now >= self.live_ok_at + 100 * TICK_MS:
                    break
                if self.now >= next_check:
                    self.check_log_matching()
                    next_check = self.now + 50 * TICK_MS
            self.finish()
        except Violation as v:
            return RunResult(cfg.seed, False, str(v), self.stats, list(self.trace))
        return RunResult(cfg.seed, True, "", self.stats, list(self.trace))

    def handle(self, kind: str, payload: Any) -> None:
        if kind == "deliver":
            self.deliver(payload)
        elif kind == "tick":
            nid, incarnation = payload
            n = self.nodes[nid]
            if n.raw is None or n.restarts != incarnation:
                return  # a crashed node's tick chain ends; start() begins a new one
            n.raw.tick()
            self.process(n)
            self.at(self.now + TICK_MS, "tick", payload)
        elif kind == "client":
            self.client()
        elif kind == "nemesis":
            self.nemesis()
        elif kind == "restart":
            n = self.nodes[payload]
            if n.raw is None and not n.removed:
                self.start(n)
                self.process(n)
        elif kind == "snap-status":
            frm, to, ok = payload
            n = self.nodes[frm]
            if n.raw is not None:
                n.raw.report_snapshot(to, ok)
                self.process(n)
        elif kind == "unreachable":
            frm, to = payload
            n = self.nodes[frm]
            if n.raw is not None:
                n.raw.report_unreachable(to)
                self.process(n)
        elif kind == "heal-all":
            self.net.heal()
            self.healed_at = self.now
            self.log("liveness phase: network healed, every node restarted")
            for n in self.nodes.values():
                if n.raw is None and not n.removed:
                    self.start(n)
                    self.process(n)

    def finish(self) -> None:
        self.check_log_matching()
        if self.live_ok_at is None:
            lead = self.leader()
            raise Violation(
                f"liveness: no write committed within {self.cfg.liveness_ticks} ticks of healing "
                f"(leader: {f'n{lead.id}' if lead else 'none'})"
            )
        lead = self.leader()
        if lead is None or lead.raw is None:
            raise Violation("liveness: no leader at the end of the liveness phase")
        members = set(lead.raw.raft.trk)
        for n in self.nodes.values():
            if n.id not in members or n.raw is None:
                continue
            missing = [w for w in self.acked if w not in n.app.seen]
            if missing and n.raw.raft.log.committed >= lead.raw.raft.log.committed:
                raise Violation(
                    f"durability: n{n.id} lacks acknowledged writes {missing[:5]} at the end"
                )


def clone_message(m: Message) -> Message:
    return Message(
        m.type,
        m.to,
        m.frm,
        m.term,
        m.log_term,
        m.index,
        [Entry(e.term, e.index, e.type, e.data) for e in m.entries],
        m.commit,
        m.reject,
        m.reject_hint,
        m.snapshot,
        m.context,
    )


def run_seed(cfg: SimConfig) -> RunResult:
    return RaftSim(cfg).run()
