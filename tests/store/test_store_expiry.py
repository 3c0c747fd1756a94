"""TTL rules: keys expire only when the log says so (SYNC / expire(now)), each expiry takes
its own index, and writes without a ttl make a key permanent again."""

from __future__ import annotations

import pytest

from shoal.store import EtcdError, Request, Store, expiration_for_ttl, keys_path

T0 = 1_800_000_000.0


def k(p: str) -> str:
    return keys_path(p)


def test_nothing_expires_without_a_sync() -> None:
    s = Store()
    s.set(k("/a"), "1", expiration=expiration_for_ttl(T0, 1), now=T0)
    # A read long after the deadline still finds the key: only the log removes it.
    e = s.get(k("/a"), now=T0 + 100)
    assert e.node.value == "1"
    assert e.node.ttl == -99


def test_sync_expires_each_due_key_with_its_own_index_soonest_first() -> None:
    s = Store()
    s.set(k("/late"), "x", expiration=expiration_for_ttl(T0, 5), now=T0)
    s.set(k("/early"), "x", expiration=expiration_for_ttl(T0, 2), now=T0)
    s.set(k("/never"), "x", now=T0)
    assert s.apply(Request.sync(T0 + 1), T0 + 1) is None
    assert s.index == 3
    events = s.expire(T0 + 10)
    assert [(e.action, e.node.key, e.index) for e in events] == [
        ("expire", "/1/early", 4),
        ("expire", "/1/late", 5),
    ]
    assert events[0].to_json() == (
        b'{"action":"expire","node":{"key":"/early","modifiedIndex":4,"createdIndex":2},'
        b'"prevNode":{"key":"/early","value":"x","expiration":"2027-01-15T08:00:02Z",'
        b'"ttl":-8,"modifiedIndex":2,"createdIndex":2}}\n'
    )
    assert not s.has_ttl_keys()
    with pytest.raises(EtcdError) as err:
        s.get(k("/early"), now=T0)
    assert err.value.code == 100
    assert s.get(k("/never"), now=T0).node.value == "x"


def test_expiry_is_exact_at_the_deadline() -> None:
    s = Store()
    exp = expiration_for_ttl(T0, 3)
    s.set(k("/a"), "x", expiration=exp, now=T0)
    s.apply(Request(method="SYNC", time=exp - 1), T0)
    assert s.has_ttl_keys()
    s.apply(Request(method="SYNC", time=exp), T0)
    assert not s.has_ttl_keys()


def test_expiring_directory_removes_its_subtree_and_their_ttls() -> None:
    s = Store()
    s.set(k("/d"), dir=True, expiration=expiration_for_ttl(T0, 1), now=T0)
    s.set(k("/d/a/b"), "1", expiration=expiration_for_ttl(T0, 50), now=T0)
    w = s.watch(k("/d/a/b"))
    [e] = s.expire(T0 + 2)
    assert (e.node.key, e.node.dir, e.prev_node and e.prev_node.dir) == ("/1/d", True, True)
    # The child's own TTL went with it: nothing left to expire later.
    assert not s.has_ttl_keys()
    assert s.expire(T0 + 100) == []
    assert w.pop() is e


def test_update_and_cas_without_ttl_make_the_key_permanent() -> None:
    s = Store()
    s.set(k("/a"), "1", expiration=expiration_for_ttl(T0, 5), now=T0)
    s.update(k("/a"), "2", now=T0)
    assert not s.has_ttl_keys()
    s.set(k("/b"), "1", expiration=expiration_for_ttl(T0, 5), now=T0)
    s.compare_and_swap(k("/b"), "1", 0, "2", now=T0)
    assert not s.has_ttl_keys()
    assert s.expire(T0 + 10) == []


def test_refresh_keeps_value_resets_deadline_and_notifies_no_one() -> None:
    s = Store()
    s.set(k("/a"), "v", expiration=expiration_for_ttl(T0, 5), now=T0)
    w = s.watch(k("/a"), stream=True)
    e = s.refresh(k("/a"), expiration_for_ttl(T0 + 4, 5), now=T0 + 4)
    assert (e.action, e.node.value, e.node.ttl, e.index) == ("update", "v", 5, 2)
    assert b"refresh" not in e.to_json()
    assert w.pop() is None
    assert s.expire(T0 + 6) == []
    assert [x.node.key for x in s.expire(T0 + 9)] == ["/1/a"]


def test_ttl_shown_is_rounded_up_remaining_seconds() -> None:
    s = Store()
    s.set(k("/a"), "v", expiration=expiration_for_ttl(T0, 10), now=T0)
    assert s.get(k("/a"), now=T0 + 0.001).node.ttl == 10
    assert s.get(k("/a"), now=T0 + 9.5).node.ttl == 1
    assert s.get(k("/a"), now=T0 + 10).node.ttl == 0
    assert b'"ttl"' not in s.get(k("/a"), now=T0 + 10).to_json()


def test_expire_time_before_2000_means_no_ttl() -> None:
    s = Store()
    e = s.set(k("/a"), "v", expiration=1, now=T0)
    assert e.node.expiration is None
    assert not s.has_ttl_keys()


def test_equal_deadlines_expire_in_key_order() -> None:
    s = Store()
    exp = expiration_for_ttl(T0, 1)
    for name in ("/c", "/a", "/b"):
        s.set(k(name), "x", expiration=exp, now=T0)
    assert [e.node.key for e in s.expire(T0 + 1)] == ["/1/a", "/1/b", "/1/c"]


def test_many_refreshes_do_not_grow_the_ttl_heap_without_bound() -> None:
    s = Store()
    s.set(k("/a"), "v", expiration=expiration_for_ttl(T0, 5), now=T0)
    for i in range(10_000):
        s.refresh(k("/a"), expiration_for_ttl(T0 + i, 5), now=T0 + i)
    assert len(s._ttl._heap) < 300
    assert [e.node.key for e in s.expire(T0 + 20_000)] == ["/1/a"]
