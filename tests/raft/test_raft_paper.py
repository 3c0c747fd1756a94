"""Tests named after the rules of the Raft paper (Ongaro & Ousterhout, "In Search of an
Understandable Consensus Algorithm", 2014) and the thesis, section by section."""

from __future__ import annotations

import pytest
from raft_harness import Net

from shoal.raft.errors import ProposalDroppedError
from shoal.raft.types import Entry, Message, MessageType, StateType

MT = MessageType


# -- 5.1 Raft basics ------------------------------------------------------------------------------
@pytest.mark.parametrize("role", [StateType.FOLLOWER, StateType.CANDIDATE, StateType.LEADER])
def test_5_1_a_higher_term_in_any_message_makes_a_node_follower(role: StateType) -> None:
    net = Net(3, pre_vote=False)
    r = net.raft(1)
    if role is StateType.CANDIDATE:
        r.become_candidate()
    elif role is StateType.LEADER:
        r.become_candidate()
        r.become_leader()
    term = r.term
    r.step(Message(MT.APP, frm=2, to=1, term=term + 1, index=0))
    assert r.role is StateType.FOLLOWER
    assert r.term == term + 1
    assert r.lead == 2


def test_5_1_a_message_of_a_stale_term_is_ignored() -> None:
    net = Net(3)
    r = net.raft(1)
    r.become_follower(5, 2)
    r.step(Message(MT.APP, frm=3, to=1, term=4, index=1, log_term=1, entries=[Entry(4, 2)]))
    assert r.log.last_index() == 1
    assert r.lead == 2


def test_5_2_nodes_start_as_followers() -> None:
    net = Net(3)
    assert all(net.raft(i).role is StateType.FOLLOWER for i in (1, 2, 3))


# -- 5.2 Leader election --------------------------------------------------------------------------
def test_5_2_a_follower_campaigns_after_its_election_timeout() -> None:
    net = Net(3, pre_vote=False)
    r = net.raft(1)
    term = r.term
    for _ in range(2 * r.election_timeout):
        net.nodes[1].tick()
    assert r.role in (StateType.CANDIDATE, StateType.LEADER)
    assert r.term == term + 1


def test_5_2_election_timeouts_are_randomized_between_e_and_2e() -> None:
    net = Net(3)
    r = net.raft(1)
    seen = set()
    for _ in range(200):
        r.reset_randomized_election_timeout()
        seen.add(r.randomized_election_timeout)
    assert min(seen) == r.election_timeout
    assert max(seen) == 2 * r.election_timeout - 1


def test_5_2_a_candidate_with_a_majority_of_votes_becomes_leader() -> None:
    net = Net(5)
    net.isolate(4)
    net.isolate(5)
    net.campaign(1)
    assert net.raft(1).role is StateType.LEADER


def test_5_2_a_candidate_without_a_majority_does_not_lead() -> None:
    net = Net(5, pre_vote=False)
    for i in (3, 4, 5):
        net.isolate(i)
    net.campaign(1)
    assert net.raft(1).role is StateType.CANDIDATE


def test_5_2_a_node_votes_for_at_most_one_candidate_per_term() -> None:
    net = Net(3, pre_vote=False)
    r = net.raft(3)
    r.step(Message(MT.VOTE, frm=1, to=3, term=2, index=1, log_term=1))
    r.step(Message(MT.VOTE, frm=2, to=3, term=2, index=1, log_term=1))
    resps = [m for m in r.msgs if m.type is MT.VOTE_RESP]
    assert [(m.to, m.reject) for m in resps] == [(1, False), (2, True)]


def test_5_2_a_vote_is_in_the_hard_state_of_the_ready_that_carries_the_grant() -> None:
    net = Net(3, pre_vote=False)
    node = net.nodes[3]
    node.step(Message(MT.VOTE, frm=1, to=3, term=2, index=1, log_term=1))
    rd = node.ready()
    assert any(m.type is MT.VOTE_RESP and not m.reject for m in rd.messages)
    assert rd.hard_state is not None and rd.hard_state.vote == 1 and rd.hard_state.term == 2


def test_5_2_a_granted_vote_survives_a_restart() -> None:
    net = Net(3, pre_vote=False)
    net.nodes[3].step(Message(MT.VOTE, frm=1, to=3, term=2, index=1, log_term=1))
    net.process(3)
    net.queue.clear()
    r = net.restart(3).raft
    r.step(Message(MT.VOTE, frm=2, to=3, term=2, index=1, log_term=1))
    assert [m.reject for m in r.msgs if m.type is MT.VOTE_RESP] == [True]


def test_5_2_a_candidate_steps_down_on_an_append_from_a_leader_of_its_term() -> None:
    net = Net(3, pre_vote=False)
    r = net.raft(1)
    r.become_candidate()
    r.step(Message(MT.APP, frm=2, to=1, term=r.term, index=1, log_term=1))
    assert r.role is StateType.FOLLOWER
    assert r.lead == 2


def test_5_2_a_leader_sends_heartbeats_every_heartbeat_tick() -> None:
    net = Net(3)
    net.campaign(1)
    net.sent.clear()
    net.tick(1)
    beats = [m for m in net.sent if m.type is MT.HEARTBEAT and m.frm == 1]
    assert sorted(m.to for m in beats) == [2, 3]


# -- 5.3 Log replication --------------------------------------------------------------------------
def test_5_3_a_proposal_is_replicated_committed_and_applied_everywhere() -> None:
    net = Net(3)
    net.campaign(1)
    net.propose(1, b"x")
    for i in (1, 2, 3):
        assert net.data_applied(i) == [b"x"]


def test_5_3_a_follower_refuses_an_append_whose_previous_entry_it_lacks() -> None:
    net = Net(3)
    r = net.raft(2)
    r.become_follower(2, 1)
    r.step(Message(MT.APP, frm=1, to=2, term=2, index=5, log_term=2, entries=[Entry(2, 6)]))
    resp = [m for m in r.msgs if m.type is MT.APP_RESP][-1]
    assert resp.reject
    assert resp.reject_hint == 1  # our last index: the leader can jump there at once


def test_5_3_a_leader_overwrites_a_conflicting_suffix_on_its_followers() -> None:
    net = Net(3)
    net.campaign(1)
    net.propose(1, b"a")
    # 1 is cut off and appends entries nobody else gets.
    net.isolate(1)
    for d in (b"lost1", b"lost2", b"lost3"):
        net.propose(1, d)
    net.elect_among(2, 3)
    net.propose(net.leader(), b"b")
    net.heal()
    net.tick_all(30)
    for i in (1, 2, 3):
        assert net.data_applied(i) == [b"a", b"b"]
        st = net.storages[i]
        assert [e.data for e in st.ents if e.data] == [b"a", b"b"]


def test_5_3_fast_backtracking_skips_a_whole_conflicting_term_in_one_round() -> None:
    net = Net(3, max_inflight_msgs=1)
    net.campaign(1)
    net.isolate(1)
    for k in range(50):
        net.propose(1, b"old%d" % k)  # 50 entries only 1 has, all in one term
    lead = net.elect_among(2, 3)
    net.isolate(1)
    for k in range(60):
        net.propose(lead, b"new%d" % k)  # the new leader's log runs past 1's conflicting one
    # A fresh leader knows nothing of 1: it starts probing at the end of its own log.
    net.raft(lead).become_follower(net.raft(lead).term, 0)
    lead = net.elect_among(2, 3)
    net.heal()
    net.sent.clear()
    net.propose(lead, b"new")
    net.tick_all(5)
    rejects = [m for m in net.sent if m.type is MT.APP_RESP and m.reject and m.frm == 1]
    assert 1 <= len(rejects) <= 2, "one rejection should skip the whole conflicting term"
    assert net.data_applied(1)[-1] == b"new"


# -- 5.4 Safety -----------------------------------------------------------------------------------
def test_5_4_1_a_voter_refuses_a_candidate_whose_log_is_less_up_to_date() -> None:
    net = Net(3, pre_vote=False, check_quorum=False)
    net.campaign(1)
    net.propose(1, b"x")
    r = net.raft(3)
    r.step(Message(MT.VOTE, frm=2, to=3, term=r.term + 1, index=1, log_term=1))
    assert [m.reject for m in r.msgs if m.type is MT.VOTE_RESP] == [True]


def test_5_4_2_a_leader_counts_replicas_only_for_entries_of_its_own_term() -> None:
    """Figure 8: an entry of an earlier term on a majority is not committed by counting."""
    net = Net(3, pre_vote=False, check_quorum=False, max_size_per_msg=1)
    net.campaign(1)
    net.isolate(1)
    net.propose(1, b"t2")  # index 3, only on 1
    net.heal()
    # 1 becomes leader again in a later term; its follower gets the old entry first.
    net.drop_types = {MT.APP_RESP}
    net.raft(1).become_follower(net.raft(1).term, 0)
    net.campaign(1)
    r = net.raft(1)
    old_index = 3
    assert r.log.term(old_index) < r.term
    r.trk[2].match = old_index  # 2 acknowledged the old entry, not yet the new no-op
    assert not r.maybe_commit()
    assert r.log.committed < old_index
    # Once an entry of the current term is on a majority, everything before it commits.
    r.trk[2].match = r.log.last_index()
    assert r.maybe_commit()
    assert r.log.committed == r.log.last_index()


def test_5_4_3_a_new_leader_holds_every_committed_entry() -> None:
    net = Net(5)
    net.campaign(1)
    for k in range(5):
        net.propose(1, b"%d" % k)
    net.isolate(1)
    net.tick_all(40)
    lead = net.leader()
    assert lead not in (0, 1)
    assert net.data_applied(lead)[:5] == [b"%d" % k for k in range(5)]


def test_8_a_new_leader_appends_a_no_op_entry_of_its_term() -> None:
    net = Net(3)
    net.campaign(1)
    r = net.raft(1)
    last = net.storages[1].ents[-1]
    assert last.term == r.term and last.data == b""
    assert r.log.committed == last.index


# -- thesis 9.6 PreVote, 6.2 CheckQuorum, 4.2.3 leases --------------------------------------------
def test_prevote_a_partitioned_node_does_not_inflate_its_term() -> None:
    net = Net(3)
    net.campaign(1)
    term = net.raft(1).term
    net.isolate(3)
    net.tick(3, 100)
    assert net.raft(3).term == term
    net.heal()
    net.tick_all(5)
    assert net.raft(1).role is StateType.LEADER and net.raft(1).term == term


def test_check_quorum_a_leader_without_an_active_quorum_steps_down() -> None:
    net = Net(3)
    net.campaign(1)
    net.isolate(1)
    net.tick(1, 2 * net.raft(1).election_timeout + 1)
    assert net.raft(1).role is StateType.FOLLOWER


def test_leader_lease_followers_ignore_votes_while_they_hear_a_leader() -> None:
    net = Net(3, pre_vote=False)
    net.campaign(1)
    r = net.raft(2)
    r.step(Message(MT.VOTE, frm=3, to=2, term=r.term + 5, index=99, log_term=99))
    assert r.term < r.term + 5 and r.lead == 1
    assert not [m for m in r.msgs if m.type is MT.VOTE_RESP]


# -- thesis 6.4 ReadIndex -------------------------------------------------------------------------
def test_read_index_is_answered_after_a_quorum_confirms_leadership() -> None:
    net = Net(3)
    net.campaign(1)
    net.propose(1, b"x")
    net.nodes[1].read_index(b"ctx")
    net.process(1)
    assert net.read_states[1] == []  # not before the heartbeat round trip
    beats = [m for m in net.queue if m.type is MT.HEARTBEAT]
    assert sorted(m.to for m in beats) == [2, 3] and all(m.context == b"ctx" for m in beats)
    net.deliver()
    assert [(s.request_ctx, s.index) for s in net.read_states[1]] == [
        (b"ctx", net.raft(1).log.committed)
    ]


def test_read_index_waits_for_the_leader_to_commit_an_entry_of_its_term() -> None:
    net = Net(3)
    net.drop_types = {MT.APP_RESP}
    net.campaign(1)
    net.nodes[1].read_index(b"early")
    net.deliver()
    assert net.read_states[1] == []  # the no-op is not committed: commit index may be stale
    net.heal()
    net.tick_all(2)
    assert [s.request_ctx for s in net.read_states[1]] == [b"early"]


def test_read_index_an_isolated_leader_cannot_answer() -> None:
    net = Net(3)
    net.campaign(1)
    net.isolate(1)
    net.nodes[1].read_index(b"r")
    net.deliver()
    net.tick(1, 3)
    assert net.read_states[1] == []


def test_read_index_from_a_follower_is_forwarded_and_answered() -> None:
    net = Net(3)
    net.campaign(1)
    net.propose(1, b"x")
    net.nodes[2].read_index(b"f")
    net.deliver()
    assert [(s.request_ctx, s.index) for s in net.read_states[2]] == [
        (b"f", net.raft(1).log.committed)
    ]


# -- proposals, transfer, snapshots, membership, bounds -------------------------------------------
def test_a_follower_forwards_proposals_to_the_leader() -> None:
    net = Net(3)
    net.campaign(1)
    net.propose(3, b"via-follower")
    assert net.data_applied(1) == [b"via-follower"]


def test_a_proposal_without_a_leader_is_refused_with_a_reason() -> None:
    net = Net(3)
    with pytest.raises(ProposalDroppedError, match="no leader"):
        net.nodes[1].propose(b"x")


def test_leadership_transfer_hands_over_to_an_up_to_date_follower() -> None:
    net = Net(3)
    net.campaign(1)
    net.propose(1, b"x")
    net.nodes[1].transfer_leadership(3)
    net.deliver()
    assert net.leader() == 3
    assert net.raft(1).role is StateType.FOLLOWER


def test_a_follower_too_far_behind_gets_a_snapshot() -> None:
    net = Net(3)
    net.campaign(1)
    net.isolate(3)
    for k in range(20):
        net.propose(1, b"%d" % k)
    st = net.storages[1]
    applied = net.raft(1).log.applied
    st.create_snapshot(applied, net.raft(1).conf_state(), b"state")
    st.compact(applied)
    net.heal()
    net.sent.clear()
    net.tick_all(3)
    assert any(m.type is MT.SNAP and m.to == 3 for m in net.sent)
    assert net.storages[3].snapshot().meta.index == applied
    net.propose(1, b"after")
    assert net.data_applied(3)[-1] == b"after"


def test_membership_changes_apply_one_at_a_time() -> None:
    from shoal.raft.types import ConfChange, ConfChangeType

    net = Net(3)
    net.campaign(1)
    net.add_node(4)
    net.cut |= {(1, 2), (1, 3)}  # the first change cannot commit yet
    net.nodes[1].propose_conf_change(ConfChange(ConfChangeType.ADD_LEARNER, 4))
    net.deliver()
    with pytest.raises(ProposalDroppedError, match="membership change is already in progress"):
        net.nodes[1].propose_conf_change(ConfChange(ConfChangeType.ADD_NODE, 5))
    net.heal()
    net.tick_all(3)
    assert net.raft(1).learners() == [4]
    net.propose(1, b"x")
    assert net.data_applied(4)[-1] == b"x"


def test_a_learner_neither_votes_nor_counts_for_commit() -> None:
    net = Net(2, learners=(3,))
    net.campaign(1)
    assert not any(m.to == 3 and m.type in (MT.VOTE, MT.PRE_VOTE) for m in net.sent)
    net.isolate(2)
    net.nodes[1].propose(b"x")
    net.deliver()
    assert net.raft(1).log.committed < net.raft(1).log.last_index()  # 1 + learner is no quorum
    net.tick(3, 100)
    assert net.raft(3).role is StateType.FOLLOWER  # a learner never campaigns


def test_uncommitted_entries_are_bounded_while_there_is_no_quorum() -> None:
    net = Net(3, max_uncommitted_entries_size=100)
    net.campaign(1)
    net.isolate(1)
    net.nodes[1].propose(b"x" * 60)
    with pytest.raises(ProposalDroppedError, match="uncommitted"):
        net.nodes[1].propose(b"y" * 60)


def test_flow_control_bounds_inflight_appends_and_message_size() -> None:
    net = Net(2, max_inflight_msgs=2, max_size_per_msg=10)
    net.campaign(1)
    net.queue.clear()
    net.cut = {(2, 1)}  # acknowledgements are lost: the window must fill and stop
    for _ in range(10):
        net.nodes[1].propose(b"0123456789")
        net.deliver()
    apps = [m for m in net.sent if m.type is MT.APP and m.entries]
    assert apps and all(len(m.entries) == 1 for m in apps)
    assert net.raft(1).trk[2].inflights.count() == 2
