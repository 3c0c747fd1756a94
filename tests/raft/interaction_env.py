"""Data-driven interaction tests for the raft core (after etcd's rafttest/interaction_env).

A test file is a script: each step is a command line, a `----` line, and the output the step
must produce, ended by an empty line. Lines starting with `#` and empty lines between steps are
comments. `run_file()` runs every step against one `InteractionEnv` and returns the file as it
should read with the actual outputs, so a caller can diff it against the file or rewrite it.

The env holds raft nodes that persist into a MemoryStorage and a network that is a list of
messages nobody has delivered yet. Nothing happens unless a step says so: `stabilize` is the
only step that runs the cluster until it is quiet. Commands (arguments as `key=value`, lists
as `(1,2,3)`):

  add-nodes N [voters=(..)] [learners=(..)] [index=I] [checkquorum=B] [prevote=B]
            [election-tick=3] [max-inflight=N] [max-inflight-bytes=N] [max-size-per-msg=N]
      N new nodes; with voters, their storage starts from a snapshot at I (default 1) holding
      that configuration, otherwise empty (a node about to join).
  campaign ID | propose ID DATA | propose-conf-change ID vN|lN|rN|uN | read-index ID CTX
  transfer-leadership from=ID to=ID | report-unreachable FROM TO
  tick-heartbeat ID [n=K] | tick-election ID [n=K] | set-randomized-election-timeout ID timeout=T
  process-ready [ID..] | deliver-msgs [drop=(..)] [ID..] | stabilize [ID..]
  compact ID INDEX | status ID | raft-log ID | raft-state

Election timeouts are not randomized here (a node campaigns after exactly election-tick ticks)
unless a step sets one, so a transcript does not depend on a random generator. CheckQuorum and
PreVote are off unless asked for (as in etcd's tests; shoal's Config turns both on).
"""

from __future__ import annotations

import random
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shoal.raft.codec import decode_conf_change
from shoal.raft.confchange import describe as describe_changes
from shoal.raft.config import Config
from shoal.raft.errors import ConfChangeError, RaftError
from shoal.raft.rawnode import RawNode, Ready
from shoal.raft.storage import MemoryStorage
from shoal.raft.types import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
    SnapshotMeta,
    StateType,
)

MSG_NAMES = {
    MessageType.HUP: "MsgHup",
    MessageType.BEAT: "MsgBeat",
    MessageType.PROP: "MsgProp",
    MessageType.APP: "MsgApp",
    MessageType.APP_RESP: "MsgAppResp",
    MessageType.VOTE: "MsgVote",
    MessageType.VOTE_RESP: "MsgVoteResp",
    MessageType.SNAP: "MsgSnap",
    MessageType.HEARTBEAT: "MsgHeartbeat",
    MessageType.HEARTBEAT_RESP: "MsgHeartbeatResp",
    MessageType.UNREACHABLE: "MsgUnreachable",
    MessageType.SNAP_STATUS: "MsgSnapStatus",
    MessageType.CHECK_QUORUM: "MsgCheckQuorum",
    MessageType.TRANSFER_LEADER: "MsgTransferLeader",
    MessageType.TIMEOUT_NOW: "MsgTimeoutNow",
    MessageType.READ_INDEX: "MsgReadIndex",
    MessageType.READ_INDEX_RESP: "MsgReadIndexResp",
    MessageType.PRE_VOTE: "MsgPreVote",
    MessageType.PRE_VOTE_RESP: "MsgPreVoteResp",
}
CHANGE_LETTERS = {
    "v": ConfChangeType.ADD_NODE,
    "l": ConfChangeType.ADD_LEARNER,
    "r": ConfChangeType.REMOVE_NODE,
    "u": ConfChangeType.UPDATE_NODE,
}


# -- describing what crosses the boundary -------------------------------------------------------
def _data(b: bytes) -> str:
    return '"' + b.decode("utf-8", "backslashreplace") + '"'


def describe_entry(e: Entry) -> str:
    if e.type is EntryType.CONF_CHANGE:
        cc = decode_conf_change(e.data)
        return f"{e.term}/{e.index} EntryConfChange {describe_changes([cc])}"
    return f"{e.term}/{e.index} EntryNormal {_data(e.data)}"


def describe_conf(cs: ConfState) -> str:
    s = "voters=(" + " ".join(map(str, cs.voters)) + ")"
    if cs.learners:
        s += " learners=(" + " ".join(map(str, cs.learners)) + ")"
    return s


def describe_snapshot(s: Snapshot) -> str:
    m = s.meta
    return f"Index:{m.index} Term:{m.term} ConfState:{describe_conf(m.conf_state)}"


def describe_message(m: Message) -> str:
    s = f"{m.frm}->{m.to} {MSG_NAMES[m.type]} Term:{m.term} Log:{m.log_term}/{m.index}"
    if m.reject:
        s += f" Rejected (Hint: {m.reject_hint})"
    if m.commit:
        s += f" Commit:{m.commit}"
    if m.entries:
        s += " Entries:[" + ", ".join(describe_entry(e) for e in m.entries) + "]"
    if m.snapshot is not None:
        s += " Snapshot: " + describe_snapshot(m.snapshot)
    if m.context:
        s += f" Context:{_data(m.context)}"
    return s


def describe_hard_state(hs: HardState) -> str:
    return f"HardState Term:{hs.term} Vote:{hs.vote} Commit:{hs.commit}"


def describe_ready(rd: Ready) -> list[str]:
    out = [f"Ready MustSync={str(rd.must_sync).lower()}:"]
    if rd.soft_state is not None:
        out.append(f"Lead:{rd.soft_state.lead} State:{rd.soft_state.role.go_name}")
    if rd.hard_state is not None:
        out.append(describe_hard_state(rd.hard_state))
    if rd.read_states:
        out.append("ReadStates:")
        out += [f"Index:{rs.index} Ctx:{_data(rs.request_ctx)}" for rs in rd.read_states]
    if rd.entries:
        out.append("Entries:")
        out += [describe_entry(e) for e in rd.entries]
    if rd.snapshot is not None:
        out.append("Snapshot " + describe_snapshot(rd.snapshot))
    if rd.committed_entries:
        out.append("CommittedEntries:")
        out += [describe_entry(e) for e in rd.committed_entries]
    if rd.messages:
        out.append("Messages:")
        out += [describe_message(m) for m in rd.messages]
    return out


# -- the environment ------------------------------------------------------------------------------
class _NoJitter(random.Random):
    """Election timeouts without their random part: exactly election-tick ticks."""

    def randrange(self, *args: object, **kwargs: object) -> int:
        return 0


@dataclass
class Node:
    raw: RawNode
    storage: MemoryStorage
    config: Config


@dataclass
class InteractionEnv:
    nodes: dict[int, Node] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    out: list[str] = field(default_factory=list)

    def emit(self, line: str, indent: int = 0) -> None:
        self.out.append("  " * indent + line)

    def node(self, arg: str) -> Node:
        nid = int(arg)
        if nid not in self.nodes:
            raise ValueError(f"no node {nid}")
        return self.nodes[nid]

    # -- driving -------------------------------------------------------------------------------
    def process_ready(self, nid: int) -> bool:
        n = self.nodes[nid]
        if not n.raw.has_ready():
            return False
        rd = n.raw.ready()
        self.emit(f"> {nid} handling Ready")
        for line in describe_ready(rd):
            self.emit(line, 1)
        # Persist before sending (the Ready contract), then apply, then advance.
        if rd.snapshot is not None:
            n.storage.apply_snapshot(rd.snapshot)
        n.storage.append(rd.entries)
        if rd.hard_state is not None:
            n.storage.set_hard_state(rd.hard_state)
        self.messages.extend(rd.messages)
        for e in rd.committed_entries:
            if e.type is not EntryType.CONF_CHANGE:
                continue
            cc = decode_conf_change(e.data)
            try:
                cs = n.raw.apply_conf_change(cc)
            except ConfChangeError as err:
                self.emit(f"{nid} refused {describe_changes([cc])}: {err}", 1)
            else:
                self.emit(f"{nid} applied {describe_changes([cc])}: {describe_conf(cs)}", 1)
        n.raw.advance(rd)
        return True

    def deliver(self, nid: int, drop: bool = False) -> bool:
        mine = [m for m in self.messages if m.to == nid]
        if not mine:
            return False
        self.messages = [m for m in self.messages if m.to != nid]
        if drop:
            self.emit(f"dropped: {len(mine)} message(s) to {nid}")
            for m in mine:
                self.emit(describe_message(m), 1)
            return True
        self.emit(f"> {nid} receiving messages")
        for m in mine:
            self.emit(describe_message(m), 1)
            try:
                self.nodes[nid].raw.step(m)
            except RaftError as err:
                self.emit(f"error: {err}", 1)
        return True

    def stabilize(self, ids: list[int]) -> None:
        while True:
            busy = False
            for i in ids:
                busy |= self.process_ready(i)
            for i in ids:
                busy |= self.deliver(i)
            if not busy:
                return

    # -- state ---------------------------------------------------------------------------------
    def roles(self) -> dict[int, tuple[StateType, int]]:
        return {i: (n.raw.raft.role, n.raw.raft.term) for i, n in self.nodes.items()}

    def report_changes(self, before: dict[int, tuple[StateType, int]]) -> None:
        for i, (role, term) in self.roles().items():
            if before.get(i) != (role, term):
                self.emit(f"{i} is {role.go_name} at term {term}")

    def raft_state(self) -> None:
        for i, n in sorted(self.nodes.items()):
            r = n.raw.raft
            kind = "Voter" if r.trk.is_voter(i) else "Learner" if i in r.trk else "Non-member"
            self.emit(f"{i}: {r.role.go_name} ({kind}) Term:{r.term} Lead:{r.lead}")

    def raft_log(self, n: Node) -> None:
        lg = n.raw.raft.log
        first, last = lg.first_index(), lg.last_index()
        if last < first:
            self.emit(f"log is empty: first index={first}, last index={last}")
            return
        for e in lg.slice(first, last + 1):
            self.emit(describe_entry(e))

    def status(self, n: Node) -> None:
        st = n.raw.status()
        r = n.raw.raft
        self.emit(f"{describe_conf(ConfState(st.voters, st.learners))} commit={st.commit}")
        if not st.peers:
            self.emit(f"{st.role.go_name}: no progress (only the leader tracks it)")
        for i in sorted(r.trk):
            if i in st.peers:
                self.emit(f"{i}: {r.trk[i].describe()}")


# -- commands -------------------------------------------------------------------------------------
def _ids(v: str) -> list[int]:
    return [int(x) for x in v.strip("()").replace(",", " ").split() if x]


def _bool(v: str) -> bool:
    if v not in ("true", "false"):
        raise ValueError(f"want true or false, got {v!r}")
    return v == "true"


def _split(args: list[str]) -> tuple[list[str], dict[str, str]]:
    pos = [a for a in args if "=" not in a]
    kw = dict(a.split("=", 1) for a in args if "=" in a)
    return pos, kw


def cmd_add_nodes(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    count = int(pos[0])
    voters, learners = tuple(_ids(kw.get("voters", ""))), tuple(_ids(kw.get("learners", "")))
    index = int(kw.get("index", "1"))
    first = max(env.nodes, default=0) + 1
    for nid in range(first, first + count):
        st = MemoryStorage()
        if voters:
            cs = ConfState(voters, learners)
            st.apply_snapshot(Snapshot(SnapshotMeta(index, 1, cs)))
            st.set_hard_state(HardState(1, 0, index))
        max_msg = int(kw.get("max-size-per-msg", str(1 << 20)))
        cfg = Config(
            id=nid,
            storage=st,
            election_tick=int(kw.get("election-tick", "3")),
            heartbeat_tick=1,
            max_size_per_msg=max_msg,
            max_inflight_msgs=int(kw.get("max-inflight", "256")),
            max_inflight_bytes=int(kw.get("max-inflight-bytes", "0")),
            check_quorum=_bool(kw.get("checkquorum", "false")),
            pre_vote=_bool(kw.get("prevote", "false")),
            rng=_NoJitter(nid),
        )
        env.nodes[nid] = Node(RawNode(cfg), st, cfg)
        r = env.nodes[nid].raw.raft
        env.emit(
            f"{nid}: {describe_conf(r.conf_state())} term={r.term} commit={r.log.committed} "
            f"last={r.log.last_index()}"
        )


def cmd_campaign(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    env.node(pos[0]).raw.campaign()


def cmd_propose(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    env.node(pos[0]).raw.propose(pos[1].encode())


def cmd_propose_conf_change(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    if len(pos) != 2:
        raise ValueError("one change at a time: propose-conf-change ID vN|lN|rN|uN")
    spec = pos[1]
    cc = ConfChange(CHANGE_LETTERS[spec[0]], int(spec[1:]))
    env.node(pos[0]).raw.propose_conf_change(cc)


def cmd_read_index(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    env.node(pos[0]).raw.read_index(pos[1].encode())


def cmd_transfer_leadership(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    env.node(kw["from"]).raw.transfer_leadership(int(kw["to"]))


def cmd_report_unreachable(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    env.node(pos[0]).raw.report_unreachable(int(pos[1]))


def _tick(env: InteractionEnv, n: Node, times: int) -> None:
    for _ in range(times):
        n.raw.tick()


def cmd_tick_heartbeat(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    n = env.node(pos[0])
    _tick(env, n, n.config.heartbeat_tick * int(kw.get("n", "1")))


def cmd_tick_election(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    n = env.node(pos[0])
    _tick(env, n, n.config.election_tick * int(kw.get("n", "1")))


def cmd_set_timeout(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    env.node(pos[0]).raw.raft.randomized_election_timeout = int(kw["timeout"])


def _which(env: InteractionEnv, pos: list[str]) -> list[int]:
    return [int(p) for p in pos] if pos else sorted(env.nodes)


def cmd_process_ready(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    for i in _which(env, pos):
        env.process_ready(i)


def cmd_deliver_msgs(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    for i in _ids(kw.get("drop", "")):
        env.deliver(i, drop=True)
    if "drop" not in kw or pos:
        for i in _which(env, pos):
            env.deliver(i)


def cmd_stabilize(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    env.stabilize(_which(env, pos))


def cmd_compact(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    n = env.node(pos[0])
    index = int(pos[1])
    # What an application does: snapshot its state at an applied index, then drop the entries.
    n.storage.create_snapshot(index, n.raw.raft.conf_state(), b"")
    n.storage.compact(index)
    env.raft_log(n)


def cmd_status(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    env.status(env.node(pos[0]))


def cmd_raft_log(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    env.raft_log(env.node(pos[0]))


def cmd_raft_state(env: InteractionEnv, pos: list[str], kw: dict[str, str]) -> None:
    env.raft_state()


Command = Callable[[InteractionEnv, list[str], dict[str, str]], None]
COMMANDS: dict[str, Command] = {
    "add-nodes": cmd_add_nodes,
    "campaign": cmd_campaign,
    "propose": cmd_propose,
    "propose-conf-change": cmd_propose_conf_change,
    "read-index": cmd_read_index,
    "transfer-leadership": cmd_transfer_leadership,
    "report-unreachable": cmd_report_unreachable,
    "tick-heartbeat": cmd_tick_heartbeat,
    "tick-election": cmd_tick_election,
    "set-randomized-election-timeout": cmd_set_timeout,
    "process-ready": cmd_process_ready,
    "deliver-msgs": cmd_deliver_msgs,
    "stabilize": cmd_stabilize,
    "compact": cmd_compact,
    "status": cmd_status,
    "raft-log": cmd_raft_log,
    "raft-state": cmd_raft_state,
}
# Steps that report only their outcome: the role changes they caused, an error, or "ok".
_QUIET = {"campaign", "propose", "propose-conf-change", "read-index", "transfer-leadership"}
_QUIET |= {"report-unreachable", "tick-heartbeat", "tick-election"}
_QUIET |= {"set-randomized-election-timeout"}


def run_step(env: InteractionEnv, line: str) -> list[str]:
    words = shlex.split(line)
    name, (pos, kw) = words[0], _split(words[1:])
    if name not in COMMANDS:
        raise ValueError(f"unknown command {name!r}")
    env.out = []
    before = env.roles()
    try:
        COMMANDS[name](env, pos, kw)
    except RaftError as err:
        env.emit(f"error: {type(err).__name__}: {err}")
    if name in _QUIET:
        env.report_changes(before)
    return env.out or ["ok"]


# -- the file format ------------------------------------------------------------------------------
@dataclass
class Step:
    line: int  # 1-based line of the command, for messages
    command: str
    expected: list[str]


def parse(text: str) -> list[str | Step]:
    """The file as comments (kept verbatim) and steps."""
    lines = text.splitlines()
    parts: list[str | Step] = []
    i = 0
    while i < len(lines):
        ln = lines[i]
        if not ln.strip() or ln.startswith("#"):
            parts.append(ln)
            i += 1
            continue
        if i + 1 >= len(lines) or lines[i + 1] != "----":
            raise ValueError(f"line {i + 1}: a command must be followed by ----")
        j = i + 2
        expected = []
        while j < len(lines) and lines[j] != "":
            expected.append(lines[j])
            j += 1
        parts.append(Step(i + 1, ln, expected))
        i = j
    return parts


def run_file(path: Path) -> tuple[str, str]:
    """(the file's text, the text it should have): equal when every step did as expected."""
    text = path.read_text()
    env = InteractionEnv()
    out: list[str] = []
    for part in parse(text):
        if isinstance(part, str):
            out.append(part)
            continue
        try:
            got = run_step(env, part.command)
        except Exception as err:  # a broken script: say where
            raise AssertionError(f"{path.name}:{part.line}: {part.command}: {err!r}") from err
        out += [part.command, "----", *got]
    return text, "\n".join(out) + "\n"
