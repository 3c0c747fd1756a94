"""Planted bugs are test-only mutants: the production core knows nothing of them."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import shoal.raft
from shoal.raft.config import Config
from shoal.raft.core import Raft
from shoal.raft.log import RaftLog
from shoal.raft.rawnode import RawNode
from shoal.raft.storage import MemoryStorage
from shoal.raft.types import ConfState
from shoal.sim.mutants import (
    BUG_APPEND_WITHOUT_TRUNCATE,
    BUG_COMMIT_OLD_TERM,
    BUG_READ_WITHOUT_LEADERSHIP,
    BUG_VOTE_WITHOUT_PERSIST,
    PLANTED_BUGS,
    plant,
)


def _node(nid: int = 1) -> RawNode:
    st = MemoryStorage()
    st.bootstrap(ConfState((1, 2, 3)))
    return RawNode(Config(id=nid, storage=st, rng=random.Random(nid)))


def test_production_raft_does_not_mention_planted_bugs() -> None:
    for f in sorted(Path(shoal.raft.__file__).parent.glob("*.py")):
        text = f.read_text().lower()
        for word in ("planted", "mutant", "bug_", "bugs"):
            assert word not in text, f"{f.name} mentions {word!r}"
    assert not hasattr(Config(id=1, storage=MemoryStorage()), "bugs")


def test_planting_changes_only_the_node_it_is_given() -> None:
    sick, healthy = _node(1), _node(2)
    plant(sick, frozenset({BUG_COMMIT_OLD_TERM}))
    assert type(sick.raft) is not Raft and isinstance(sick.raft, Raft)
    assert type(healthy.raft) is Raft and type(healthy.raft.log) is RaftLog


def test_planting_keeps_the_state_the_real_constructor_built() -> None:
    a, b = _node(1), _node(1)
    plant(b, frozenset(PLANTED_BUGS))
    assert b.raft.randomized_election_timeout == a.raft.randomized_election_timeout
    assert b.raft.voters() == a.raft.voters() and b.raft.term == a.raft.term
    assert type(b.raft.log) is not RaftLog


def test_several_bugs_can_be_planted_together() -> None:
    raw = _node()
    bugs = {BUG_VOTE_WITHOUT_PERSIST, BUG_READ_WITHOUT_LEADERSHIP, BUG_APPEND_WITHOUT_TRUNCATE}
    plant(raw, frozenset(bugs))
    raw.raft.vote = 2
    assert raw.raft.hard_state().vote == 0  # the vote for another is not what would persist


def test_an_unknown_bug_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown planted bug"):
        plant(_node(), frozenset({"no-such-bug"}))
