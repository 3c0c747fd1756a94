"""The raft log (etcd's log.go) and its unstable tail (log_unstable.go), rule by rule."""

from __future__ import annotations

import pytest

from shoal.raft.errors import CompactedError
from shoal.raft.log import RaftLog, Unstable
from shoal.raft.storage import MemoryStorage
from shoal.raft.types import ConfState, Entry, Snapshot, SnapshotMeta


def ents(*terms: int, start: int = 1) -> list[Entry]:
    """Entries start, start+1, ... with the given terms."""
    return [Entry(t, start + i) for i, t in enumerate(terms)]


def snap(index: int, term: int) -> Snapshot:
    return Snapshot(SnapshotMeta(index, term, ConfState((1,))))


def log_with(*terms: int) -> RaftLog:
    """A log whose entries 1.. have `terms`, all stable (in storage)."""
    st = MemoryStorage()
    st.append(ents(*terms))
    return RaftLog(st)


# -- the unstable tail ----------------------------------------------------------------------------
def test_unstable_knows_a_first_index_only_from_a_snapshot() -> None:
    u = Unstable(6)
    u.entries = ents(1, start=6)
    assert u.maybe_first_index() is None
    u.snapshot = snap(5, 1)
    assert u.maybe_first_index() == 6


def test_unstable_last_index_comes_from_entries_then_from_the_snapshot() -> None:
    u = Unstable(6)
    assert u.maybe_last_index() is None
    u.snapshot = snap(5, 1)
    assert u.maybe_last_index() == 5
    u.entries = ents(1, 2, start=6)
    assert u.maybe_last_index() == 7


def test_unstable_term_covers_its_entries_and_the_snapshot_index_only() -> None:
    u = Unstable(6)
    u.snapshot = snap(5, 1)
    u.entries = ents(2, 3, start=6)
    assert [u.maybe_term(i) for i in (4, 5, 6, 7, 8)] == [None, 1, 2, 3, None]


def test_stable_to_drops_the_persisted_prefix() -> None:
    u = Unstable(6)
    u.entries = ents(1, 1, 1, start=6)
    u.stable_to(7, 1)
    assert u.offset == 8 and [e.index for e in u.entries] == [8]


def test_stable_to_ignores_a_write_of_entries_since_replaced() -> None:
    u = Unstable(6)
    u.entries = ents(1, 2, start=6)  # entry 7 was rewritten in term 2 while term 1's was written
    u.stable_to(7, 1)
    assert u.offset == 6 and len(u.entries) == 2


def test_stable_to_ignores_an_index_it_does_not_hold() -> None:
    u = Unstable(6)
    u.entries = ents(1, start=6)
    u.stable_to(9, 1)
    u.stable_to(4, 1)
    assert u.offset == 6 and len(u.entries) == 1


def test_appending_right_after_the_tail_extends_it() -> None:
    u = Unstable(6)
    u.entries = ents(1, start=6)
    u.truncate_and_append(ents(1, 1, start=7))
    assert [e.index for e in u.entries] == [6, 7, 8]


def test_appending_at_or_before_the_offset_replaces_the_whole_tail() -> None:
    u = Unstable(6)
    u.entries = ents(1, 1, start=6)
    u.truncate_and_append(ents(2, start=5))
    assert u.offset == 5 and [(e.index, e.term) for e in u.entries] == [(5, 2)]


def test_appending_inside_the_tail_truncates_the_conflicting_suffix() -> None:
    u = Unstable(6)
    u.entries = ents(1, 1, 1, start=6)
    u.truncate_and_append(ents(2, start=7))
    assert [(e.index, e.term) for e in u.entries] == [(6, 1), (7, 2)]


def test_restoring_a_snapshot_empties_the_tail_after_it() -> None:
    u = Unstable(6)
    u.entries = ents(1, start=6)
    u.restore(snap(10, 3))
    assert u.offset == 11 and u.entries == [] and u.maybe_last_index() == 10
    u.stable_snap_to(9)
    assert u.snapshot is not None
    u.stable_snap_to(10)
    assert u.snapshot is None


# -- the whole log --------------------------------------------------------------------------------
def test_a_term_past_the_end_is_zero_and_before_the_start_is_compacted() -> None:
    st = MemoryStorage()
    st.append(ents(1, 1, 2, 2, 3))
    st.compact(3)
    lg = RaftLog(st)
    assert lg.first_index() == 4 and lg.last_index() == 5
    assert lg.term(3) == 2  # the dummy entry at the compaction point keeps its term
    assert lg.term(6) == 0
    with pytest.raises(CompactedError):
        lg.term(2)


def test_find_conflict_is_the_first_entry_we_lack_or_hold_in_another_term() -> None:
    lg = log_with(1, 2, 3)
    assert lg.find_conflict(ents(1, 2, 3)) == 0
    assert lg.find_conflict(ents(2, 3, start=2)) == 0
    assert lg.find_conflict(ents(2, 3, 4, 4, start=2)) == 4  # new entries beyond our end
    assert lg.find_conflict(ents(1, 4, 4)) == 2  # entry 2 in another term
    assert lg.find_conflict([]) == 0


def test_find_conflict_by_term_skips_every_entry_of_a_later_term() -> None:
    lg = log_with(1, 1, 3, 3, 3, 5, 5)
    assert lg.find_conflict_by_term(7, 4) == 5
    assert lg.find_conflict_by_term(7, 2) == 2
    assert lg.find_conflict_by_term(7, 0) == 0
    assert lg.find_conflict_by_term(4, 3) == 4


def test_append_entries_needs_the_previous_entry_to_match() -> None:
    lg = log_with(1, 2, 3)
    assert lg.maybe_append(3, 2, 3, ents(4, start=4)) is None  # entry 3 is term 3, not 2
    assert lg.maybe_append(4, 3, 3, ents(4, start=5)) is None  # we have no entry 4
    assert lg.last_index() == 3


def test_append_entries_truncates_a_conflicting_suffix() -> None:
    lg = log_with(1, 2, 3)
    assert lg.maybe_append(1, 1, 0, ents(4, 4, start=2)) == 3
    assert [lg.term(i) for i in (1, 2, 3)] == [1, 4, 4]


def test_append_entries_keeps_entries_past_a_shorter_matching_append() -> None:
    lg = log_with(1, 2, 3)
    assert lg.maybe_append(1, 1, 0, ents(2, start=2)) == 2  # delayed: a prefix we already hold
    assert lg.last_index() == 3


def test_append_entries_commits_at_most_what_it_verified() -> None:
    lg = log_with(1, 2, 3, 3)
    assert lg.maybe_append(2, 2, 10, ents(3, start=3)) == 3
    assert lg.committed == 3  # the leader committed 10, but entry 4 was not verified here


def test_a_conflict_with_a_committed_entry_is_a_bug() -> None:
    lg = log_with(1, 2, 3)
    lg.commit_to(3)
    with pytest.raises(AssertionError):
        lg.maybe_append(1, 1, 3, ents(5, start=2))


def test_the_commit_index_never_decreases_and_never_passes_the_log() -> None:
    lg = log_with(1, 1, 1)
    lg.commit_to(2)
    lg.commit_to(1)
    assert lg.committed == 2
    with pytest.raises(AssertionError):
        lg.commit_to(4)


def test_a_leader_commits_by_counting_only_entries_of_its_own_term() -> None:
    lg = log_with(1, 2, 2)
    assert not lg.maybe_commit(3, 3)  # entry 3 is of term 2, the leader's term is 3
    assert lg.committed == 0
    assert lg.maybe_commit(3, 2)
    assert not lg.maybe_commit(2, 2)  # never backwards
    assert lg.committed == 3


def test_up_to_date_compares_last_terms_then_lengths() -> None:
    lg = log_with(1, 2, 2)
    assert lg.is_up_to_date(1, 3)  # a later last term wins, even if shorter
    assert not lg.is_up_to_date(9, 1)  # an earlier last term loses, even if longer
    assert lg.is_up_to_date(3, 2) and lg.is_up_to_date(4, 2)
    assert not lg.is_up_to_date(2, 2)


def test_committed_entries_are_handed_out_once_in_order() -> None:
    lg = log_with(1, 1, 1, 1)
    assert not lg.has_next_ents()
    lg.commit_to(3)
    assert lg.has_next_ents()
    assert [e.index for e in lg.next_ents()] == [1, 2, 3]
    lg.applied_to(2)
    assert [e.index for e in lg.next_ents()] == [3]
    lg.applied_to(3)
    assert not lg.has_next_ents() and lg.next_ents() == []


def test_applying_past_the_commit_index_is_a_bug() -> None:
    lg = log_with(1, 1)
    lg.commit_to(1)
    with pytest.raises(AssertionError):
        lg.applied_to(2)


def test_committed_entries_come_in_batches_of_bounded_size_but_at_least_one() -> None:
    st = MemoryStorage()
    st.append([Entry(1, i, data=b"x" * 10) for i in range(1, 6)])
    lg = RaftLog(st, max_next_ents_size=25)
    lg.commit_to(5)
    assert [e.index for e in lg.next_ents()] == [1, 2]
    lg = RaftLog(st, max_next_ents_size=1)
    lg.commit_to(5)
    assert [e.index for e in lg.next_ents()] == [1]


def test_a_slice_joins_stable_and_unstable_entries() -> None:
    lg = log_with(1, 1, 1)
    lg.append(ents(2, 2, start=4))
    assert [e.index for e in lg.unstable_entries()] == [4, 5]
    assert [(e.index, e.term) for e in lg.slice(2, 6)] == [(2, 1), (3, 1), (4, 2), (5, 2)]
    lg.stable_to(5, 2)
    assert lg.unstable_entries() == []


def test_appending_before_the_commit_index_is_a_bug() -> None:
    lg = log_with(1, 1, 1)
    lg.commit_to(2)
    with pytest.raises(AssertionError):
        lg.append(ents(2, start=2))


def test_restoring_a_snapshot_commits_up_to_it() -> None:
    lg = log_with(1, 1)
    lg.restore(snap(10, 4))
    assert lg.committed == 10 and lg.last_index() == 10 and lg.last_term() == 4
    assert lg.first_index() == 11
    assert lg.snapshot().meta.index == 10
