"""Majority arithmetic (etcd's quorum/majority.go) and the tracker's use of it."""

from __future__ import annotations

import pytest

from shoal.raft.quorum import VoteResult, committed_index, vote_result
from shoal.raft.tracker import ProgressTracker, TrackerConfig
from shoal.raft.types import ConfState


@pytest.mark.parametrize(
    ("match", "want"),
    [
        ({1: 12}, 12),
        ({1: 12, 2: 10}, 10),  # two voters: both must have it
        ({1: 12, 2: 10, 3: 5}, 10),
        ({1: 12, 2: 10, 3: 5, 4: 2}, 5),  # four voters: three must have it
        ({1: 12, 2: 10, 3: 10, 4: 2, 5: 1}, 10),
        ({1: 9, 2: 9, 3: 9}, 9),
    ],
)
def test_the_committed_index_is_the_largest_that_a_majority_has(
    match: dict[int, int], want: int
) -> None:
    assert committed_index(list(match), match) == want


def test_a_voter_not_heard_from_counts_as_having_nothing() -> None:
    assert committed_index([1, 2, 3], {1: 12}) == 0
    assert committed_index([1, 2, 3], {1: 12, 2: 7}) == 7


def test_only_voters_count_towards_the_committed_index() -> None:
    assert committed_index([1, 2, 3], {1: 12, 2: 1, 3: 1, 4: 12, 5: 12}) == 1


def test_nothing_commits_without_voters() -> None:
    assert committed_index([], {1: 5}) == 0


@pytest.mark.parametrize(
    ("voters", "votes", "want"),
    [
        ([1], {1: True}, VoteResult.WON),
        ([1], {1: False}, VoteResult.LOST),
        ([1], {}, VoteResult.PENDING),
        ([1, 2], {1: True}, VoteResult.PENDING),
        ([1, 2], {1: True, 2: False}, VoteResult.LOST),  # two voters need both
        ([1, 2, 3], {1: True, 2: True}, VoteResult.WON),
        ([1, 2, 3], {1: True, 2: False}, VoteResult.PENDING),
        ([1, 2, 3], {1: False, 2: False}, VoteResult.LOST),
        ([1, 2, 3, 4], {1: True, 2: True}, VoteResult.PENDING),
        ([1, 2, 3, 4], {1: True, 2: False, 3: False}, VoteResult.LOST),
        ([1, 2, 3, 4, 5], {1: True, 2: True, 3: True}, VoteResult.WON),
    ],
)
def test_an_election_is_won_by_a_majority_and_lost_once_none_is_possible(
    voters: list[int], votes: dict[int, bool], want: VoteResult
) -> None:
    assert vote_result(voters, votes) is want


def test_votes_from_non_voters_do_not_count() -> None:
    assert vote_result([1, 2, 3], {1: True, 4: True, 5: True}) is VoteResult.PENDING


def test_an_election_without_voters_is_won_by_convention() -> None:
    assert vote_result([], {}) is VoteResult.WON


def _tracker(voters: tuple[int, ...], learners: tuple[int, ...] = ()) -> ProgressTracker:
    trk = ProgressTracker(4)
    trk.reset_config(ConfState(voters, learners), 10)
    return trk


def test_tracker_tally_counts_the_first_answer_of_each_voter_only() -> None:
    trk = _tracker((1, 2, 3), (4,))
    trk.record_vote(1, True)
    trk.record_vote(2, False)
    trk.record_vote(2, True)  # a change of mind is ignored
    trk.record_vote(4, True)  # a learner's answer is not a vote
    assert trk.tally_votes() == (1, 1, VoteResult.PENDING)
    trk.record_vote(3, True)
    assert trk.tally_votes() == (2, 1, VoteResult.WON)
    trk.reset_votes()
    assert trk.tally_votes() == (0, 0, VoteResult.PENDING)


def test_tracker_commits_by_the_match_of_voters_not_learners() -> None:
    trk = _tracker((1, 2, 3), (4, 5))
    for i, m in {1: 20, 2: 15, 3: 3, 4: 20, 5: 20}.items():
        trk[i].maybe_update(m)
    assert trk.committed() == 15


def test_tracker_quorum_is_active_when_a_majority_was_heard_from() -> None:
    trk = _tracker((1, 2, 3, 4, 5))
    assert not trk.quorum_active(1)  # only itself
    trk[2].recent_active = True
    assert not trk.quorum_active(1)
    trk[3].recent_active = True
    assert trk.quorum_active(1)


def test_tracker_starts_everyone_probing_after_the_last_index() -> None:
    trk = _tracker((1, 2), (3,))
    assert trk.voter_nodes() == [1, 2] and trk.learner_nodes() == [3]
    assert [trk[i].next for i in (1, 2, 3)] == [11, 11, 11]
    assert trk[3].is_learner and not trk[1].is_learner
    assert str(trk.config) == "voters=(1 2) learners=(3)"


def test_tracker_switch_keeps_what_is_known_of_members_who_stay() -> None:
    trk = _tracker((1, 2, 3))
    trk[2].maybe_update(9)
    trk.switch_to(TrackerConfig(frozenset({1, 2}), frozenset({4})), 12)
    assert list(trk) == [1, 2, 4]
    assert trk[2].match == 9
    new = trk[4]
    assert new.is_learner and new.next == 13 and new.recent_active
