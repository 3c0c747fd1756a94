"""Membership changes: from one configuration to the next, or a refusal (etcd's confchange/).

`simple()` computes the configuration a list of single-server changes leads to (Raft thesis
section 4.1: one voter at a time, so that the old and the new majorities overlap), or raises
`ConfChangeError` and changes nothing. The rules are etcd's Changer.Simple:

- adding a node makes it a voter (and promotes a learner); adding an existing voter is a no-op;
- adding a learner adds one, or demotes a voter to a learner (done, not ignored);
- removing a node that is not a member is a no-op; node id 0 is ignored (etcd's server zeroes
  the id of a change it decided not to apply);
- an update changes only the application's view of a member, not the configuration;
- refused: a result with no voters ("removed all voters"), and more than one voter changed at
  once ("more than one voter changed without entering joint config"; joint consensus is not
  implemented here, so such a change cannot be made at all).
"""

from __future__ import annotations

from collections.abc import Sequence

from shoal.raft.errors import ConfChangeError
from shoal.raft.tracker import TrackerConfig
from shoal.raft.types import NONE, ConfChange, ConfChangeType


def simple(cfg: TrackerConfig, changes: Sequence[ConfChange]) -> TrackerConfig:
    voters = set(cfg.voters)
    learners = set(cfg.learners)
    for cc in changes:
        i = cc.node_id
        if i == NONE:
            continue
        if cc.type is ConfChangeType.ADD_NODE:
            learners.discard(i)
            voters.add(i)
        elif cc.type is ConfChangeType.ADD_LEARNER:
            voters.discard(i)
            learners.add(i)
        elif cc.type is ConfChangeType.REMOVE_NODE:
            voters.discard(i)
            learners.discard(i)
        elif cc.type is not ConfChangeType.UPDATE_NODE:
            raise ConfChangeError(f"unexpected conf type {cc.type}")
    if not voters:
        raise ConfChangeError("removed all voters")
    if len(voters ^ cfg.voters) > 1:
        raise ConfChangeError("more than one voter changed without entering joint config")
    return TrackerConfig(frozenset(voters), frozenset(learners))


def describe(changes: Sequence[ConfChange]) -> str:
    """`ADD_NODE(2) REMOVE_NODE(3)`: a list of changes in one line, for messages and tests."""
    return " ".join(f"{cc.type.name}({cc.node_id})" for cc in changes)
