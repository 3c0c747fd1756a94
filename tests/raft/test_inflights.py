"""Flow control of one follower (etcd's tracker/inflights.go): a ring of in-flight appends,
bounded by a count and by bytes."""

from __future__ import annotations

import pytest

from shoal.raft.inflights import Inflights


def test_a_window_fills_up_to_its_count_and_then_is_full() -> None:
    inf = Inflights(3)
    for i in (5, 6, 7):
        assert not inf.full()
        inf.add(i)
    assert inf.full() and inf.count() == 3
    with pytest.raises(AssertionError):
        inf.add(8)


def test_an_acknowledgement_frees_every_message_up_to_its_index() -> None:
    inf = Inflights(10)
    for i in range(1, 8):
        inf.add(i)
    inf.free_le(4)
    assert inf.indexes() == [5, 6, 7]
    inf.free_le(4)  # a duplicate or stale ack frees nothing more
    inf.free_le(2)
    assert inf.indexes() == [5, 6, 7]
    inf.free_le(100)
    assert inf.count() == 0 and inf.indexes() == []


def test_the_ring_wraps_around_and_keeps_messages_in_order() -> None:
    inf = Inflights(10)
    for i in range(10):
        inf.add(i)
    inf.free_le(4)  # slots 0..4 are free again
    for i in range(10, 15):
        inf.add(i)  # written to slots 0..4, after the end of the ring
    assert inf.full()
    assert inf.indexes() == list(range(5, 15))
    inf.free_le(12)  # frees across the wrap point
    assert inf.indexes() == [13, 14]
    inf.add(15)
    assert inf.indexes() == [13, 14, 15]


def test_an_emptied_ring_starts_over_at_its_first_slot() -> None:
    inf = Inflights(4)
    for i in range(1, 4):
        inf.add(i)
    inf.free_le(3)
    for i in range(4, 8):
        inf.add(i)
    assert inf.indexes() == [4, 5, 6, 7] and inf.full()


def test_free_first_one_releases_only_the_oldest_message() -> None:
    inf = Inflights(3)
    for i in (3, 6, 9):
        inf.add(i)
    inf.free_first_one()
    assert inf.indexes() == [6, 9] and not inf.full()
    Inflights(3).free_first_one()  # nothing to free: no error


def test_the_byte_budget_pauses_before_the_count_does() -> None:
    inf = Inflights(10, max_bytes=1000)
    inf.add(1, 400)
    inf.add(2, 400)
    assert not inf.full() and inf.bytes() == 800
    inf.add(3, 200)  # reaches the budget exactly
    assert inf.full() and inf.count() == 3
    with pytest.raises(AssertionError):
        inf.add(4, 1)


def test_acknowledged_bytes_return_to_the_budget() -> None:
    inf = Inflights(10, max_bytes=1000)
    inf.add(1, 600)
    inf.add(2, 600)  # one message may overshoot: the budget is checked before sending
    assert inf.full() and inf.bytes() == 1200
    inf.free_le(1)
    assert not inf.full() and inf.bytes() == 600
    inf.free_first_one()
    assert inf.bytes() == 0


def test_a_zero_byte_budget_means_only_the_count_limits() -> None:
    inf = Inflights(2, max_bytes=0)
    inf.add(1, 1 << 30)
    assert not inf.full()
    inf.add(2, 1 << 30)
    assert inf.full()


def test_bytes_wrap_around_with_their_messages() -> None:
    inf = Inflights(3, max_bytes=100)
    inf.add(1, 10)
    inf.add(2, 20)
    inf.add(3, 30)
    inf.free_le(2)
    inf.add(4, 40)
    inf.add(5, 50)  # slots 0 and 1 again
    assert inf.indexes() == [3, 4, 5] and inf.bytes() == 120
    inf.free_le(4)
    assert inf.bytes() == 50


def test_reset_forgets_every_message() -> None:
    inf = Inflights(2, max_bytes=10)
    inf.add(1, 10)
    inf.reset()
    assert inf.count() == 0 and inf.bytes() == 0 and not inf.full()
