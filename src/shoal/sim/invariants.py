"""The safety properties of Raft (paper, Figure 3) as checks a simulation runs at every step.

`History` remembers what the run has seen (the leader of each term, the entry applied at each
index) and raises `Violation` the moment a new event contradicts it:

- election safety: at most one leader per term;
- leader completeness: a new leader holds every entry ever applied anywhere;
- state machine safety: every node applies the same entry at the same index;
- log matching: two logs with an entry of the same index and term agree on every entry up to it;
- linearizable reads: a read sees every write acknowledged before it began.

Durability and liveness are judged by the run itself at its end (`shoal.sim.raft_sim`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from shoal.raft.log import RaftLog
from shoal.raft.types import Entry

# index -> (term, entry type, data): the part of a log the invariants compare
LogView = Mapping[int, tuple[int, int, bytes]]


class Violation(Exception):
    """An invariant was broken. The message says which, where and when."""


class History:
    def __init__(self) -> None:
        self.leaders: dict[int, int] = {}  # term -> leader id
        self.committed: dict[int, tuple[int, bytes]] = {}  # index -> (term, data) applied anywhere

    def elected(self, nid: int, term: int, log: RaftLog) -> None:
        prev = self.leaders.get(term)
        if prev is not None and prev != nid:
            raise Violation(f"election safety: n{prev} and n{nid} both leaders in term {term}")
        self.leaders[term] = nid
        first = log.first_index()
        for index, (t, _data) in self.committed.items():
            if index < first:
                continue  # inside the leader's snapshot
            if log.term_or_zero(index) != t:
                raise Violation(
                    f"leader completeness: n{nid}, leader of term {term}, lacks entry "
                    f"{index} (term {t}) that was applied before"
                )

    def applied(self, nid: int, e: Entry) -> None:
        got = self.committed.get(e.index)
        if got is None:
            self.committed[e.index] = (e.term, e.data)
        elif got != (e.term, e.data):
            raise Violation(
                f"state machine safety: n{nid} applied (term {e.term}) at index {e.index}, "
                f"another node applied (term {got[0]}) there"
            )


def check_read(
    nid: int,
    read_id: int,
    index: int,
    applied: int,
    seen: Collection[int],
    acked_before: Sequence[int],
) -> None:
    """A read served at `index` (with `applied` entries applied) must see every write
    acknowledged before the read began."""
    for w in acked_before:
        if w not in seen:
            raise Violation(
                f"stale read: read r{read_id} at n{nid} (read index {index}, applied "
                f"{applied}) does not see write w{w}, acknowledged before it began"
            )


def check_log_matching(logs: Mapping[int, LogView]) -> None:
    ids = sorted(logs)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            la, lb = logs[a], logs[b]
            common = sorted(set(la) & set(lb))
            top = None
            for idx in reversed(common):
                if la[idx][0] == lb[idx][0]:
                    top = idx
                    break
            if top is None:
                continue
            for idx in common:
                if idx > top:
                    break
                if la[idx] != lb[idx]:
                    raise Violation(
                        f"log matching: n{a} and n{b} agree on the term of entry {top} but "
                        f"differ at entry {idx}: {la[idx][:2]} vs {lb[idx][:2]}"
                    )
