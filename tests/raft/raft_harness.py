"""A tiny synchronous network of raft cores for unit tests.

Every node persists each Ready into its MemoryStorage before its messages are queued, and
`deliver()` runs messages until the network is quiet, so a test reads as a sequence of steps.
"""

from __future__ import annotations

import random
from collections import deque

from shoal.raft.codec import decode_conf_change
from shoal.raft.config import Config
from shoal.raft.core import Raft
from shoal.raft.rawnode import RawNode
from shoal.raft.storage import MemoryStorage
from shoal.raft.types import (
    ConfState,
    Entry,
    EntryType,
    Message,
    MessageType,
    ReadState,
    StateType,
)


def boot_storage(voters: tuple[int, ...], learners: tuple[int, ...] = ()) -> MemoryStorage:
    st = MemoryStorage()
    st.bootstrap(ConfState(voters, learners))
    return st


class Net:
    def __init__(
        self,
        n: int = 3,
        learners: tuple[int, ...] = (),
        seed: int = 1,
        **cfg: object,
    ) -> None:
        self.voters = tuple(range(1, n + 1))
        self.storages: dict[int, MemoryStorage] = {}
        self.nodes: dict[int, RawNode] = {}
        self.applied: dict[int, list[Entry]] = {}
        self.read_states: dict[int, list[ReadState]] = {}
        self.cfg = cfg
        self.seed = seed
        self.queue: deque[Message] = deque()
        self.cut: set[tuple[int, int]] = set()
        self.drop_types: set[MessageType] = set()
        self.sent: list[Message] = []
        for i in (*self.voters, *learners):
            self.add_node(i, boot_storage(self.voters, learners))

    def add_node(self, i: int, storage: MemoryStorage | None = None) -> RawNode:
        st = storage if storage is not None else MemoryStorage()
        self.storages[i] = st
        self.applied.setdefault(i, [])
        self.read_states.setdefault(i, [])
        c = Config(id=i, storage=st, rng=random.Random(self.seed * 100 + i), **self.cfg)  # type: ignore[arg-type]
        self.nodes[i] = RawNode(c)
        return self.nodes[i]

    def restart(self, i: int) -> RawNode:
        """A crash and restart from exactly what was persisted."""
        return self.add_node(i, self.storages[i])

    def raft(self, i: int) -> Raft:
        return self.nodes[i].raft

    # -- driving -------------------------------------------------------------------------------
    def process(self, i: int) -> None:
        node = self.nodes[i]
        st = self.storages[i]
        while node.has_ready():
            rd = node.ready()
            if rd.snapshot is not None:
                st.apply_snapshot(rd.snapshot)
            st.append(rd.entries)
            if rd.hard_state is not None:
                st.set_hard_state(rd.hard_state)
            self.queue.extend(rd.messages)
            self.read_states[i].extend(rd.read_states)
            for e in rd.committed_entries:
                self.applied[i].append(e)
                if e.type is EntryType.CONF_CHANGE:
                    node.apply_conf_change(decode_conf_change(e.data))
            node.advance(rd)

    def deliver(self, limit: int = 100000) -> None:
        for i in self.nodes:
            self.process(i)
        n = 0
        while self.queue:
            n += 1
            assert n < limit, "network did not quiesce"
            m = self.queue.popleft()
            self.sent.append(m)
            if (m.frm, m.to) in self.cut or m.type in self.drop_types or m.to not in self.nodes:
                continue
            self.nodes[m.to].step(m)
            self.process(m.to)
            if m.type is MessageType.SNAP:
                self.nodes[m.frm].report_snapshot(m.to, True)
                self.process(m.frm)

    def isolate(self, i: int) -> None:
        for j in self.nodes:
            if j != i:
                self.cut |= {(i, j), (j, i)}

    def heal(self) -> None:
        self.cut = set()
        self.drop_types = set()

    def elect_among(self, *ids: int, rounds: int = 200) -> int:
        """Cut the others off and tick `ids` until one of them leads (leases must expire)."""
        for i in self.nodes:
            for j in self.nodes:
                if i != j and (i not in ids or j not in ids):
                    self.cut.add((i, j))
        for _ in range(rounds):
            for i in ids:
                self.nodes[i].tick()
                self.process(i)
            self.deliver()
            lead = [i for i in ids if self.raft(i).role is StateType.LEADER]
            if lead:
                self.heal()
                return lead[0]
        raise AssertionError(f"no leader among {ids} after {rounds} rounds")

    def campaign(self, i: int) -> None:
        self.nodes[i].campaign()
        self.deliver()

    def tick(self, i: int, times: int = 1) -> None:
        for _ in range(times):
            self.nodes[i].tick()
            self.process(i)
        self.deliver()

    def tick_all(self, times: int = 1) -> None:
        for _ in range(times):
            for i in list(self.nodes):
                self.nodes[i].tick()
                self.process(i)
            self.deliver()

    def propose(self, i: int, data: bytes) -> None:
        self.nodes[i].propose(data)
        self.deliver()

    def leader(self) -> int:
        leads = [i for i, n in self.nodes.items() if n.raft.role is StateType.LEADER]
        assert len(leads) <= 1 or len({self.raft(i).term for i in leads}) == len(leads)
        return max(leads, key=lambda i: self.raft(i).term) if leads else 0

    def data_applied(self, i: int) -> list[bytes]:
        return [e.data for e in self.applied[i] if e.data and e.type is EntryType.NORMAL]
