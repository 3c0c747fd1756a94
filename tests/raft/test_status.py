"""`RawNode.status()`: what the application (the etcd member) may read of the core."""

from __future__ import annotations

from raft_harness import Net

from shoal.raft.progress import ProgressState
from shoal.raft.types import StateType


def test_the_leaders_status_shows_every_members_progress() -> None:
    net = Net(3, learners=(4,))
    net.campaign(1)
    net.propose(1, b"x")
    st = net.nodes[1].status()
    assert st.role is StateType.LEADER and st.lead == 1
    assert st.voters == (1, 2, 3) and st.learners == (4,)
    assert set(st.peers) == {1, 2, 3, 4}
    last = net.raft(1).log.last_index()
    for i in (2, 3, 4):
        p = st.peers[i]
        assert p.match == last and p.next == last + 1
        assert p.state is ProgressState.REPLICATE and p.recent_active
        assert p.is_learner == (i == 4)
    # The older tuple view stays as it was.
    assert st.progress[2] == (last, last + 1, "StateReplicate")


def test_a_followers_status_shows_the_membership_but_no_progress() -> None:
    net = Net(3, learners=(4,))
    net.campaign(1)
    st = net.nodes[4].status()
    assert st.role is StateType.FOLLOWER and st.lead == 1
    assert st.voters == (1, 2, 3) and st.learners == (4,)
    assert st.peers == {} and st.progress == {}
    assert st.is_member(4) and st.is_member(1) and not st.is_member(5)


def test_status_is_a_copy() -> None:
    net = Net(3)
    net.campaign(1)
    st = net.nodes[1].status()
    net.propose(1, b"y")
    assert st.peers[2].match < net.raft(1).trk[2].match


def test_roles_compare_equal_to_their_old_names_and_print_as_etcd_does() -> None:
    assert StateType.LEADER == "leader" and StateType.PRE_CANDIDATE == "pre-candidate"
    assert [s.go_name for s in StateType] == [
        "StateFollower",
        "StateCandidate",
        "StateLeader",
        "StatePreCandidate",
    ]
