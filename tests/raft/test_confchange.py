"""Membership changes (etcd's confchange/), the rules first and then as the core applies them."""

from __future__ import annotations

import pytest
from raft_harness import Net

from shoal.raft.confchange import describe, simple
from shoal.raft.errors import ConfChangeError, ConfChangePendingError
from shoal.raft.tracker import TrackerConfig
from shoal.raft.types import ConfChange, ConfChangeType, StateType

CT = ConfChangeType


def cfg(voters: tuple[int, ...], learners: tuple[int, ...] = ()) -> TrackerConfig:
    return TrackerConfig(frozenset(voters), frozenset(learners))


def v(i: int) -> ConfChange:
    return ConfChange(CT.ADD_NODE, i)


def lrn(i: int) -> ConfChange:
    return ConfChange(CT.ADD_LEARNER, i)


def r(i: int) -> ConfChange:
    return ConfChange(CT.REMOVE_NODE, i)


def test_adding_a_node_makes_a_voter() -> None:
    assert simple(cfg((1,)), [v(2)]) == cfg((1, 2))


def test_adding_an_existing_voter_changes_nothing() -> None:
    assert simple(cfg((1, 2)), [v(2)]) == cfg((1, 2))


def test_adding_a_learner_and_adding_it_again() -> None:
    once = simple(cfg((1,)), [lrn(3)])
    assert once == cfg((1,), (3,))
    assert simple(once, [lrn(3)]) == once


def test_adding_a_learner_as_a_node_promotes_it() -> None:
    assert simple(cfg((1,), (2,)), [v(2)]) == cfg((1, 2))


def test_adding_a_voter_as_a_learner_demotes_it() -> None:
    assert simple(cfg((1, 2, 3)), [lrn(2)]) == cfg((1, 3), (2,))


def test_demote_and_promote_at_once_is_pointless_but_allowed() -> None:
    assert simple(cfg((1, 2, 3)), [lrn(1), v(1)]) == cfg((1, 2, 3))
    assert simple(cfg((1, 2, 3)), [v(2), lrn(2)]) == cfg((1, 3), (2,))


def test_removing_a_member_and_removing_a_stranger() -> None:
    assert simple(cfg((1, 2), (3,)), [r(2)]) == cfg((1,), (3,))
    assert simple(cfg((1, 2), (3,)), [r(3)]) == cfg((1, 2))
    assert simple(cfg((1, 2)), [r(9)]) == cfg((1, 2))


def test_node_id_zero_is_ignored() -> None:
    zero = [v(0), r(0), lrn(0)]
    assert simple(cfg((1,)), zero) == cfg((1,))


def test_an_update_changes_nothing_in_the_configuration() -> None:
    assert simple(cfg((1, 2)), [ConfChange(CT.UPDATE_NODE, 2, b"addr")]) == cfg((1, 2))


@pytest.mark.parametrize(
    ("before", "changes"),
    [
        (cfg((1,)), [lrn(1)]),
        (cfg((1,)), [r(1)]),
        (cfg((1, 2)), [r(1), r(2)]),
        (cfg((1,)), [lrn(1), lrn(2)]),
    ],
)
def test_removing_every_voter_is_refused(before: TrackerConfig, changes: list[ConfChange]) -> None:
    with pytest.raises(ConfChangeError, match="removed all voters"):
        simple(before, changes)


@pytest.mark.parametrize("changes", [[r(1), v(5)], [v(3), v(4)], [lrn(1), v(5)]], ids=describe)
def test_changing_two_voters_at_once_is_refused(changes: list[ConfChange]) -> None:
    with pytest.raises(ConfChangeError, match="more than one voter changed"):
        simple(cfg((1, 2)), changes)


def test_many_learners_may_change_at_once() -> None:
    assert simple(cfg((1,)), [lrn(2), lrn(3), lrn(4)]) == cfg((1,), (2, 3, 4))


def test_describe_names_each_change() -> None:
    assert describe([v(2), r(3)]) == "ADD_NODE(2) REMOVE_NODE(3)"


# -- in the core ----------------------------------------------------------------------------------
def _propose_cc(net: Net, lead: int, cc: ConfChange) -> None:
    net.nodes[lead].propose_conf_change(cc)
    net.deliver()


def test_a_refused_change_is_an_error_for_the_proposer_and_changes_nothing() -> None:
    net = Net(1)
    net.campaign(1)
    last = net.raft(1).log.last_index()
    with pytest.raises(ConfChangeError, match="removed all voters"):
        net.nodes[1].propose_conf_change(r(1))
    assert net.raft(1).log.last_index() == last
    assert net.raft(1).voters() == [1]


def test_a_second_change_while_one_is_pending_is_refused_by_type() -> None:
    net = Net(3)
    net.campaign(1)
    net.cut = {(1, 2), (1, 3)}  # the first change cannot commit
    net.nodes[1].propose_conf_change(lrn(4))
    with pytest.raises(ConfChangePendingError):
        net.nodes[1].propose_conf_change(lrn(5))


def test_a_demoted_voter_stops_counting_and_a_demoted_leader_steps_down() -> None:
    net = Net(3)
    net.campaign(1)
    _propose_cc(net, 1, lrn(3))
    assert net.raft(1).voters() == [1, 2] and net.raft(1).learners() == [3]
    assert net.raft(3).learners() == [3]
    assert net.raft(1).trk[3].is_learner
    _propose_cc(net, 1, lrn(1))
    assert net.raft(1).role is StateType.FOLLOWER
    assert net.raft(2).voters() == [2]
    net.tick(2, 40)  # the only voter left elects itself
    assert net.leader() == 2
    net.propose(2, b"after")
    assert b"after" in net.data_applied(1)  # learners still receive the log


def test_a_change_refused_by_the_leader_is_dropped_when_forwarded() -> None:
    net = Net(1)
    net.campaign(1)
    net.add_node(2)  # a node outside the configuration
    ok = ConfChange(CT.ADD_LEARNER, 2)
    _propose_cc(net, 1, ok)
    assert net.raft(1).learners() == [2]
    net.tick(1, 3)
    last = net.raft(1).log.last_index()
    net.nodes[2].propose_conf_change(r(1))  # forwarded; the leader must refuse it
    net.deliver()
    assert net.raft(1).voters() == [1]
    assert net.raft(1).log.last_index() == last + 1  # an empty entry took its place
