"""What a leader knows of a follower (etcd's tracker/progress.go), rule by rule."""

from __future__ import annotations

from raft_harness import Net

from shoal.raft.progress import Progress, ProgressState


def _replicating(match: int, inflight: int = 8) -> Progress:
    pr = Progress(match + 1, inflight)
    pr.maybe_update(match)
    pr.become_replicate()
    return pr


def test_a_new_follower_is_probed_and_not_paused() -> None:
    pr = Progress(5, 4)
    assert pr.state is ProgressState.PROBE and pr.match == 0 and pr.next == 5
    assert not pr.is_paused()


def test_a_probe_is_one_message_at_a_time() -> None:
    pr = Progress(5, 4)
    pr.probe_sent = True
    assert pr.is_paused()
    assert pr.maybe_update(4)  # its answer unpauses it
    assert not pr.is_paused()


def test_replication_starts_just_after_the_match() -> None:
    pr = Progress(10, 4)
    pr.maybe_update(6)
    pr.become_replicate()
    assert pr.state is ProgressState.REPLICATE and pr.next == 7


def test_an_acknowledgement_never_moves_match_back() -> None:
    pr = _replicating(5)
    assert pr.maybe_update(8) and pr.match == 8 and pr.next == 9
    assert not pr.maybe_update(7)  # stale: reordered or duplicated
    assert pr.match == 8 and pr.next == 9


def test_replicate_sends_optimistically_past_the_match() -> None:
    pr = _replicating(5)
    pr.optimistic_update(20)
    assert pr.match == 5 and pr.next == 21


def test_replicate_rejection_at_or_below_match_is_stale() -> None:
    pr = _replicating(5)
    pr.optimistic_update(20)
    assert not pr.maybe_decr_to(5, 0)
    assert pr.next == 21


def test_replicate_rejection_falls_back_to_just_after_the_match() -> None:
    pr = _replicating(5)
    pr.optimistic_update(20)
    assert pr.maybe_decr_to(12, 3)
    assert pr.next == 6  # the hint matters only when probing


def test_probe_rejection_of_another_index_than_the_last_sent_is_stale() -> None:
    pr = Progress(10, 4)
    assert not pr.maybe_decr_to(5, 2)  # we sent index 9, not 5
    assert pr.next == 10


def test_probe_rejection_jumps_back_to_the_followers_hint() -> None:
    pr = Progress(10, 4)
    pr.probe_sent = True
    assert pr.maybe_decr_to(9, 3)
    assert pr.next == 4 and not pr.is_paused()


def test_probe_never_goes_below_index_one() -> None:
    pr = Progress(2, 4)
    assert pr.maybe_decr_to(1, 0)
    assert pr.next == 1


def test_a_follower_receiving_a_snapshot_is_paused() -> None:
    pr = _replicating(5)
    pr.become_snapshot(40)
    assert pr.state is ProgressState.SNAPSHOT and pr.pending_snapshot == 40
    assert pr.is_paused()


def test_after_a_snapshot_probing_resumes_past_it() -> None:
    pr = _replicating(5)
    pr.become_snapshot(40)
    pr.become_probe()
    assert pr.state is ProgressState.PROBE and pr.next == 41


def test_after_a_failed_snapshot_probing_resumes_past_the_match() -> None:
    pr = _replicating(5)
    pr.become_snapshot(40)
    pr.pending_snapshot = 0  # what the leader does when the snapshot was reported failed
    pr.become_probe()
    assert pr.next == 6


def test_a_full_window_pauses_replication() -> None:
    pr = _replicating(5, inflight=2)
    pr.inflights.add(6)
    assert not pr.is_paused()
    pr.inflights.add(7)
    assert pr.is_paused()
    pr.inflights.free_le(6)
    assert not pr.is_paused()


def test_a_state_change_empties_the_window() -> None:
    pr = _replicating(5, inflight=2)
    pr.inflights.add(6)
    pr.become_probe()
    assert pr.inflights.count() == 0


def test_progress_describes_itself_in_etcds_words() -> None:
    pr = _replicating(5, inflight=1)
    pr.inflights.add(6)
    assert pr.describe() == "StateReplicate match=5 next=6 paused inactive inflight=1[full]"
    learner = Progress(3, 4, is_learner=True)
    learner.recent_active = True
    assert learner.describe() == "StateProbe match=0 next=3 learner"


def test_the_leader_stops_streaming_when_a_followers_bytes_in_flight_reach_the_budget() -> None:
    net = Net(3, max_inflight_msgs=100, max_inflight_bytes=300, max_size_per_msg=100)
    net.campaign(1)
    assert net.leader() == 1
    net.cut = {(2, 1), (3, 1)}  # acknowledgements are lost: nothing is freed
    for _ in range(10):
        net.nodes[1].propose(b"x" * 100)
        net.deliver()
    pr = net.raft(1).trk[2]
    assert pr.state is ProgressState.REPLICATE
    assert pr.inflights.count() == 3 and pr.inflights.bytes() == 300 and pr.is_paused()
    net.heal()
    net.tick(1, 2)  # a heartbeat answered frees the window, then it all flows
    net.deliver()
    assert net.raft(2).log.last_index() == net.raft(1).log.last_index()
