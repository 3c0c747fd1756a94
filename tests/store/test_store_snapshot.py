"""Determinism: members that apply the same log, some from a snapshot, end in the same state,
byte for byte, and answer every request the same way."""

from __future__ import annotations

import random

import pytest

from shoal.store import EtcdError, Request, Store, keys_path

T0 = 1_800_000_000.0
NS = 1_000_000_000


def random_log(seed: int, n: int) -> list[Request]:
    """A log of mixed requests over a small key space, SYNCs included."""
    rnd = random.Random(seed)
    keys = ["/a", "/b", "/d/x", "/d/y", "/d/_h", "/d/e/f", "/q", "/0x"]
    out: list[Request] = []
    t = T0
    for i in range(n):
        t += rnd.random() * 0.5
        key = keys_path(rnd.choice(keys))
        exp = int(t * NS) + rnd.randint(1, 5) * NS if rnd.random() < 0.3 else None
        r = rnd.random()
        if r < 0.1:
            out.append(Request.sync(t, id=i))
        elif r < 0.35:
            out.append(Request("PUT", key, f"v{i}", expiration=exp, id=i))
        elif r < 0.45:
            out.append(Request("PUT", key, dir=True, expiration=exp, id=i))
        elif r < 0.55:
            out.append(Request("PUT", key, f"u{i}", prev_exist=True, expiration=exp, id=i))
        elif r < 0.6:
            out.append(Request("PUT", key, f"c{i}", prev_exist=False, id=i))
        elif r < 0.65:
            out.append(Request("PUT", key, f"s{i}", prev_index=rnd.randint(0, i), id=i))
        elif r < 0.7:
            out.append(Request("PUT", key, expiration=exp or int(t * NS) + NS, refresh=True))
        elif r < 0.8:
            out.append(Request("DELETE", key, recursive=rnd.random() < 0.5, id=i))
        elif r < 0.85:
            out.append(Request("DELETE", key, prev_value=f"v{i - 1}", id=i))
        elif r < 0.9:
            out.append(Request("POST", key, f"p{i}", expiration=exp, id=i))
        else:
            out.append(Request("QGET", key, recursive=True, sorted=True, id=i))
    return out


def run(store: Store, log: list[Request]) -> list[bytes]:
    answers = []
    for req in log:
        # Display time = request time for SYNC, else a fixed clock: answers must match too.
        now = req.time / NS if req.method == "SYNC" else T0
        try:
            e = store.apply(Request.decode(req.encode()), now)
            answers.append(b"-" if e is None else e.to_json())
        except EtcdError as err:
            answers.append(err.to_json())
    return answers


@pytest.mark.parametrize("seed", range(8))
def test_members_converge_whether_they_restore_or_replay(seed: int) -> None:
    log = random_log(seed, 600)
    half = len(log) // 2
    a = Store()
    first = run(a, log[:half])
    b = Store.from_snapshot(a.save())
    assert b.save() == a.save() and b.hash() == a.hash()
    second = run(a, log[half:])
    assert run(b, log[half:]) == second
    c = Store()
    assert run(c, log) == first + second
    # The log must exercise writes, not only errors.
    assert sum(x.startswith(b'{"action"') for x in second) > len(second) // 4
    assert a.hash() == b.hash() == c.hash()
    assert a.save() == b.save() == c.save()


def test_snapshot_keeps_ttls_history_and_stats() -> None:
    s = Store()
    k = keys_path
    s.set(k("/t"), "x", expiration=int((T0 + 5) * NS), now=T0)
    s.set(k("/d/_h"), "h", now=T0)
    s.set(k("/d/y"), "", now=T0)
    s.create(k("/q"), "1", unique=True, now=T0)
    r = Store.from_snapshot(s.save())
    assert r.index == s.index == 4
    assert r.stats_json() == s.stats_json()
    got = r.get(k("/"), recursive=True, sort=True, now=T0).to_json()
    assert got == s.get(k("/"), recursive=True, sort=True, now=T0).to_json()
    e = r.watch(k("/d/_h"), wait_index=1).pop()
    assert e is not None and e.to_json() == s.watch(k("/d/_h"), wait_index=1).pop().to_json()  # type: ignore[union-attr]
    assert [e.node.key for e in r.expire(T0 + 6)] == ["/1/t"]


def test_restore_keeps_registered_watchers() -> None:
    s = Store()
    w = s.watch(keys_path("/a"))
    other = Store()
    other.set(keys_path("/b"), "1", now=T0)
    s.restore(other.save())
    s.set(keys_path("/a"), "1", now=T0)
    e = w.pop()
    assert e is not None and e.index == 2


def test_hash_sees_any_difference_in_the_key_space() -> None:
    a, b = Store(), Store()
    a.set(keys_path("/k"), "1", now=T0)
    b.set(keys_path("/k"), "2", now=T0)
    assert a.hash() != b.hash()
    b.set(keys_path("/k"), "1", now=T0)
    assert a.hash() != b.hash()  # same value, different index
    a.set(keys_path("/k"), "1", now=T0)
    assert a.hash() == b.hash()


def test_deep_trees_snapshot_list_and_delete_without_recursion() -> None:
    s = Store()
    deep = "/x" * 3000
    s.set(keys_path(deep), "v", now=T0)
    r = Store.from_snapshot(s.save())
    assert r.get(keys_path(deep), now=T0).node.value == "v"
    listing = r.get(keys_path("/"), recursive=True, sort=True, now=T0).to_json()
    assert listing.count(b'"dir":true') == 3000  # /1 and 2999 levels of /x above the file
    assert listing.count(b"[") == listing.count(b"]") == 3000
    r.delete(keys_path("/x"), recursive=True, now=T0)
    assert r.get(keys_path("/"), recursive=True, now=T0).to_json() == (
        b'{"action":"get","node":{"dir":true}}\n'
    )
