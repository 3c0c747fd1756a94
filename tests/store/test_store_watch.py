"""Watch rules: which watcher hears which event, the shared 1000-event history and its 401,
the 100-event buffer, and how the caller is woken."""

from __future__ import annotations

import pytest

from shoal.store import EtcdError, Store, keys_path

T0 = 1_800_000_000.0


def k(p: str) -> str:
    return keys_path(p)


def test_non_stream_watcher_gets_one_event_and_is_gone() -> None:
    s = Store()
    w = s.watch(k("/a"))
    assert (w.start_index, w.done, s.hub.count) == (0, False, 1)
    woken: list[int] = []
    w.set_wakeup(lambda: woken.append(w.pending))
    s.set(k("/a"), "1", now=T0)
    s.set(k("/a"), "2", now=T0)
    assert woken == [1]
    e = w.pop()
    assert e is not None and e.node.value == "1"
    assert w.pop() is None and w.done
    assert s.hub.count == 0
    assert b'"watchers":0' in s.stats_json()


def test_stream_watcher_keeps_getting_events_until_removed() -> None:
    s = Store()
    w = s.watch(k("/a"), stream=True)
    for i in range(3):
        s.set(k("/a"), str(i), now=T0)
    assert [w.pop().node.value for _ in range(3)] == ["0", "1", "2"]  # type: ignore[union-attr]
    assert not w.done
    w.remove()
    w.remove()
    assert w.done and s.hub.count == 0
    s.set(k("/a"), "x", now=T0)
    assert w.pop() is None


def test_recursive_watch_hears_descendants_plain_watch_does_not() -> None:
    s = Store()
    plain, rec = s.watch(k("/d"), stream=True), s.watch(k("/d"), recursive=True, stream=True)
    s.set(k("/d/x/y"), "1", now=T0)
    assert plain.pop() is None
    assert rec.pop() is not None


def test_hidden_keys_are_not_announced_to_watchers_above_them() -> None:
    s = Store()
    above = s.watch(k("/d"), recursive=True, stream=True)
    root = s.watch(k("/"), recursive=True, stream=True)
    at = s.watch(k("/d/_h"), stream=True)
    s.set(k("/d/_h"), "1", now=T0)
    s.set(k("/d/_h2/x"), "1", now=T0)
    assert above.pop() is None and root.pop() is None
    assert at.pop() is not None


def test_deleting_a_directory_reaches_watchers_of_keys_below_it() -> None:
    s = Store()
    s.set(k("/d/a/b"), "1", now=T0)
    w = s.watch(k("/d/a/b"))
    e = s.delete(k("/d"), recursive=True, now=T0)
    assert w.pop() is e


def test_stream_watcher_on_a_deleted_key_hears_it_twice_as_on_etcd() -> None:
    s = Store()
    s.set(k("/a"), "1", now=T0)
    w = s.watch(k("/a"), stream=True)
    e = s.delete(k("/a"), now=T0)
    assert (w.pop(), w.pop(), w.pop()) == (e, e, None)


def test_wait_index_answers_from_history_without_registering() -> None:
    s = Store()
    s.set(k("/a"), "1", now=T0)
    s.set(k("/b"), "1", now=T0)
    s.set(k("/a"), "2", now=T0)
    w = s.watch(k("/a"), wait_index=2)
    e = w.pop()
    assert e is not None and (e.index, e.node.value) == (3, "2")
    assert w.start_index == 3 and w.done and s.hub.count == 0
    # Future index: waits.
    w2 = s.watch(k("/a"), wait_index=4)
    assert w2.pop() is None and not w2.done


def test_history_keeps_1000_events_then_answers_401() -> None:
    s = Store()
    for i in range(1001):
        s.set(k("/a"), str(i), now=T0)
    assert s.watch(k("/a"), wait_index=2).pop() is not None
    with pytest.raises(EtcdError) as err:
        s.watch(k("/a"), wait_index=1)
    assert err.value.to_json() == (
        b'{"errorCode":401,"message":"The event in requested index is outdated and cleared",'
        b'"cause":"the requested history has been cleared [2/1]","index":1001}\n'
    )
    assert err.value.status == 400


def test_refresh_events_take_a_history_slot_but_never_answer_a_watch() -> None:
    s = Store()
    s.set(k("/a"), "1", expiration=int((T0 + 10) * 1e9), now=T0)
    s.refresh(k("/a"), int((T0 + 20) * 1e9), now=T0)
    assert s.watch(k("/a"), wait_index=2).pop() is None
    assert len(s.hub.history) == 2


def test_full_buffer_drops_the_watcher() -> None:
    s = Store()
    w = s.watch(k("/a"), stream=True)
    woken: list[bool] = []
    w.set_wakeup(lambda: woken.append(w.dropped))
    for i in range(101):
        s.set(k("/a"), str(i), now=T0)
    assert w.dropped and s.hub.count == 0
    assert woken[-1] is True
    got = [w.pop() for _ in range(100)]
    assert got[-1] is not None and got[-1].node.value == "99"
    assert w.pop() is None and w.done


def test_set_wakeup_fires_at_once_when_something_is_waiting() -> None:
    s = Store()
    s.set(k("/a"), "1", now=T0)
    w = s.watch(k("/a"), wait_index=1)
    woken: list[int] = []
    w.set_wakeup(lambda: woken.append(1))
    assert woken == [1]


def test_watch_from_zero_starts_after_the_current_index() -> None:
    s = Store()
    s.set(k("/a"), "1", now=T0)
    w = s.watch(k("/a"))
    assert w.since_index == 2 and w.pop() is None
