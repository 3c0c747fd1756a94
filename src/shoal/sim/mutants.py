"""Planted bugs: test-only mutants of the raft core that the simulator must catch.

Each mutant is a subclass of a production class that breaks one rule of the Raft paper.
`plant(raw, bugs)` turns the core of one simulated node into its mutant by switching the class of
the live objects, after they were built by the unmodified constructors: the node consumes its
randomness exactly as a healthy one would, so a seed runs the same schedule with and without a
bug until the bug itself makes a difference. Production code in `shoal.raft` knows nothing of
this module (TigerBeetle's rule: the simulator tests the code that ships).
"""

from __future__ import annotations

from shoal.raft.core import Raft
from shoal.raft.log import RaftLog
from shoal.raft.rawnode import RawNode
from shoal.raft.types import NONE, Entry, HardState, Message

# (a) commit an earlier term's entry by counting replicas (Figure 8 of the paper)
BUG_COMMIT_OLD_TERM = "commit-old-term"
# (b) grant a vote that the hard state does not record
BUG_VOTE_WITHOUT_PERSIST = "vote-without-persist"
# (c) keep a conflicting suffix instead of truncating it
BUG_APPEND_WITHOUT_TRUNCATE = "append-without-truncate"
# (d) serve ReadIndex without confirming leadership with a quorum
BUG_READ_WITHOUT_LEADERSHIP = "read-without-leadership"
PLANTED_BUGS = (
    BUG_COMMIT_OLD_TERM,
    BUG_VOTE_WITHOUT_PERSIST,
    BUG_APPEND_WITHOUT_TRUNCATE,
    BUG_READ_WITHOUT_LEADERSHIP,
)


class CommitOldTerm(Raft):
    def maybe_commit(self) -> bool:
        # Section 5.4.2 says: count replicas only for an entry of the leader's own term.
        mci = self.trk.committed()
        if mci > self.log.committed:
            self.log.commit_to(mci)
            return True
        return False


class VoteWithoutPersist(Raft):
    def hard_state(self) -> HardState:
        vote = self.vote if self.vote == self.id else NONE  # a granted vote never reaches disk
        return HardState(self.term, vote, self.log.committed)


class ReadWithoutLeadership(Raft):
    def _leader_read_index(self, m: Message) -> None:
        # Answer with the local commit index: a deposed leader serves stale reads.
        self._respond_read_index(m, self.log.committed)


class AppendWithoutTruncate(RaftLog):
    def maybe_append(
        self, index: int, log_term: int, committed: int, ents: list[Entry]
    ) -> int | None:
        ci = self.find_conflict(ents) if self.match_term(index, log_term) else 0
        if ci == 0 or ci > self.last_index() or ci <= self.committed:
            return super().maybe_append(index, log_term, committed, ents)
        # The bug: keep the conflicting suffix (section 5.3 says delete it), add only what lies
        # beyond it.
        beyond = [e for e in ents if e.index > self.last_index()]
        if beyond:
            self.append(beyond)
        lastnewi = index + len(ents)
        self.commit_to(min(committed, lastnewi))
        return lastnewi


_RAFT_MUTANTS: dict[str, type[Raft]] = {
    BUG_COMMIT_OLD_TERM: CommitOldTerm,
    BUG_VOTE_WITHOUT_PERSIST: VoteWithoutPersist,
    BUG_READ_WITHOUT_LEADERSHIP: ReadWithoutLeadership,
}


_combined: dict[tuple[str, ...], type[Raft]] = {}


def _raft_mutant(bugs: tuple[str, ...]) -> type[Raft]:
    """One class with every mutation in `bugs` (they override different methods)."""
    cls = _combined.get(bugs)
    if cls is None:
        bases = tuple(_RAFT_MUTANTS[b] for b in bugs)
        cls = bases[0] if len(bases) == 1 else type("Mutant", bases, {})
        _combined[bugs] = cls
    return cls


def plant(raw: RawNode, bugs: frozenset[str]) -> None:
    """Make the core of `raw` carry the planted `bugs` (none: it stays the production core)."""
    unknown = set(bugs) - set(PLANTED_BUGS)
    if unknown:
        raise ValueError(f"unknown planted bug(s): {sorted(unknown)}")
    raft_bugs = tuple(sorted(b for b in bugs if b in _RAFT_MUTANTS))
    if raft_bugs:
        # Class assignment keeps the state the real constructor built; the mutants add none.
        raw.raft.__class__ = _raft_mutant(raft_bugs)
    if BUG_APPEND_WITHOUT_TRUNCATE in bugs:
        raw.raft.log.__class__ = AppendWithoutTruncate
