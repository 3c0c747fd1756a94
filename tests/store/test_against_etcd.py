"""The same v2 requests against a real etcd 3.4 and against shoal's Store, compared as a
client sees them: status, X-Etcd-Index, and the JSON body (field order included).

Only two things are normalised: expiration timestamps (format checked, value not: the clocks
differ) and the order of nodes in unsorted listings (Go map order is random). Indexes are not
normalised: the store is first brought to etcd's starting index with internal writes under
`/0`, as etcd's own membership writes are, and from there every index must match.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from store_harness import (
    Answer,
    http_call,
    ours,
    parse_bool,
    theirs,
    to_request,
    url,
)

from shoal.store import Request, Store
from support import HAVE_ETCD, SKIP_REASON, real_etcd, wait_until

pytestmark = pytest.mark.skipif(not HAVE_ETCD, reason=SKIP_REASON)


class Twin:
    def __init__(self, addr: str) -> None:
        self.addr = addr
        self.store = Store()
        self.diffs: list[str] = []
        base = theirs(addr, "GET", "/", {}).index
        assert base is not None
        now = time.time()
        for i in range(base):
            self.store.set(f"/0/pad{i}", "x", now=now)
        self.etcd_stats0 = self.etcd_stats()
        self.our_stats0 = json.loads(self.store.stats_json())

    def etcd_stats(self) -> dict[str, int]:
        status, _, body = http_call(self.addr, "GET", "/v2/stats/store")
        assert status == 200
        return dict(json.loads(body))

    def step(self, method: str, key: str, **params: str) -> Answer:
        """Send one request to both; record any difference; return etcd's answer."""
        t = theirs(self.addr, method, key, params)
        o = ours(self.store, method, key, params)
        self.compare(f"{method} {url(key, params)}", t, o, params)
        return t

    def compare(self, what: str, t: Answer, o: Answer, params: dict[str, str]) -> None:
        sort_nodes = not parse_bool(params.get("sorted", "false"))
        if (t.status, t.index) != (o.status, o.index):
            self.diffs.append(
                f"{what}: status/index etcd {t.status}/{t.index} ours {o.status}/{o.index}"
            )
        if t.normal(sort_nodes) != o.normal(sort_nodes) or t.body[-1:] != o.body[-1:]:
            self.diffs.append(f"{what}:\n  etcd {t.body!r}\n  ours {o.body!r}")

    def check(self) -> None:
        diffs, self.diffs = self.diffs, []
        assert not diffs, "\n".join(diffs)

    def wait_etcd_watchers(self, n: int) -> None:
        wait_until(lambda: self.etcd_stats()["watchers"] == n, 10, f"etcd to have {n} watchers")

    def live_watch(self, key: str, trigger: Callable[[], None], **params: str) -> None:
        """A watch that waits: registered on both sides before `trigger` writes; compares the
        event each side delivers."""
        params["wait"] = "true"
        got: list[Answer] = []
        th = threading.Thread(target=lambda: got.append(theirs(self.addr, "GET", key, params)))
        th.start()
        self.wait_etcd_watchers(1)
        req = to_request("GET", key, params, time.time())
        w = self.store.watch(req.path, req.recursive, req.stream, req.wait_index)
        assert w.pending == 0
        trigger()
        th.join(15)
        assert got, "etcd watch did not answer"
        e = w.pop()
        w.remove()
        o = Answer(0, None, b"null\n") if e is None else Answer(200, w.start_index, e.to_json())
        self.compare(f"watch {url(key, params)}", got[0], o, params)

    def stream_watches(
        self, watches: list[tuple[str, dict[str, str]]], trigger: Callable[[], None]
    ) -> None:
        """Stream watches open on both sides while `trigger` writes; every event each side
        sends is compared, in order. etcd's side is read until it stays quiet for 1.5 s."""
        got: dict[int, list[bytes]] = {}

        def read(i: int, key: str, params: dict[str, str]) -> None:
            conn = http.client.HTTPConnection(self.addr, timeout=1.5)
            conn.request("GET", url(key, params))
            r = conn.getresponse()
            lines: list[bytes] = []
            try:
                while line := r.readline():
                    lines.append(line)
            except TimeoutError:
                pass
            finally:
                conn.close()
            got[i] = lines

        mine = []
        threads = []
        for i, (key, params) in enumerate(watches):
            params = {**params, "wait": "true", "stream": "true"}
            threads.append(threading.Thread(target=read, args=(i, key, params)))
            req = to_request("GET", key, params, time.time())
            mine.append(self.store.watch(req.path, req.recursive, True, req.wait_index))
        for th in threads:
            th.start()
        self.wait_etcd_watchers(len(watches))
        trigger()
        for th in threads:
            th.join(15)
        for i, w in enumerate(mine):
            ours_lines = []
            while (e := w.pop()) is not None:
                ours_lines.append(e.to_json())
            w.remove()
            norm_t = [Answer(200, 0, b).normal(True) for b in got.get(i, [])]
            norm_o = [Answer(200, 0, b).normal(True) for b in ours_lines]
            if norm_t != norm_o:
                self.diffs.append(
                    f"stream {watches[i]}:\n  etcd {got.get(i)!r}\n  ours {ours_lines!r}"
                )


@pytest.fixture(scope="module")
def twin() -> Iterator[Twin]:
    with real_etcd() as etcd:
        yield Twin(etcd.addr)


def test_files_set_get_create_update_cas(twin: Twin) -> None:
    s = twin.step
    s("GET", "/")
    first = s("PUT", "/foo", value="one")
    s("GET", "/foo")
    s("PUT", "/foo", value="two")
    s("PUT", "/foo", value="three", prevExist="false")
    s("PUT", "/foo", value="four", prevExist="true")
    s("PUT", "/foo", value="five", prevValue="four")
    s("PUT", "/foo", value="six", prevValue="wrong")
    s("PUT", "/foo", value="six", prevIndex="1")
    s("PUT", "/foo", value="six", prevValue="two", prevIndex="1")
    cur = s("GET", "/foo")
    mod = json.loads(cur.body)["node"]["modifiedIndex"]
    s("PUT", "/foo", value="six", prevIndex=str(mod), prevExist="true")
    s("PUT", "/foo", value="seven", prevIndex="0", prevValue="six")
    s("PUT", "/nokey", value="x", prevExist="true")
    s("PUT", "/nokey", value="x", prevValue="x")
    s("PUT", "/nokey", value="x", prevIndex="3")
    s("PUT", "/foo/bar", value="x")
    s("GET", "/foo/bar")
    s("GET", "/missing/deeper/still")
    s("PUT", "/foo/bar", value="x", prevExist="false")
    s("POST", "/foo", value="x")
    s("PUT", "/empty", value="")
    s("GET", "/empty")
    s("PUT", "/a/b/c/d", value="deep")
    s("GET", "/a", recursive="true", sorted="true")
    s("PUT", "/nv", value="1", noValueOnSuccess="true")
    s("PUT", "/nv", value="2", prevValue="1", noValueOnSuccess="true")
    s("DELETE", "/nv", noValueOnSuccess="true")
    s("PUT", "/esc", value='<a&b> "q" \\ \b\f\x01\n\té\u2028\U0001f600')
    s("GET", "/esc")
    not_utf8 = b"caf\xe9\xff\xef\xbf\xbd".decode("utf-8", "surrogateescape")
    s("PUT", "/bytes" + not_utf8, value=not_utf8)
    s("GET", "/bytes" + not_utf8)
    s("PUT", "/spécial key", value="v")
    s("GET", "/spécial key")
    s("GET", "/foo", quorum="true")
    s("GET", "/nokey", quorum="true")
    assert first.status == 201
    twin.check()


def test_directories_listing_hidden_delete(twin: Twin) -> None:
    s = twin.step
    s("PUT", "/dir", dir="true")
    s("PUT", "/dir", dir="true")
    s("PUT", "/dir", value="x")
    s("PUT", "/dir/a", value="1")
    s("PUT", "/dir/b", value="2")
    s("PUT", "/dir/_hidden", value="h")
    s("PUT", "/dir/sub/c", value="3")
    s("PUT", "/dir/sub/_h/x", value="4")
    s("PUT", "/dir/emptysub", dir="true")
    s("GET", "/dir")
    s("GET", "/dir", sorted="true")
    s("GET", "/dir", recursive="true", sorted="true")
    s("GET", "/dir", recursive="true")
    s("GET", "/dir/_hidden")
    s("GET", "/dir/sub/_h", recursive="true")
    s("GET", "/dir/emptysub")
    s("GET", "/", recursive="true", sorted="true")
    s("PUT", "/dir", prevExist="true")
    s("PUT", "/dir", value="x", prevExist="true")
    s("PUT", "/dir", value="y", prevValue="x")
    s("PUT", "/dir", dir="true", prevExist="false")
    s("PUT", "/dir/a", dir="true")
    s("GET", "/dir/a")
    s("DELETE", "/dir")
    s("DELETE", "/dir", dir="true")
    s("DELETE", "/dir/emptysub")
    s("DELETE", "/dir/emptysub", dir="true")
    s("DELETE", "/dir/b", prevValue="wrong")
    s("DELETE", "/dir/b", prevIndex="1")
    s("DELETE", "/dir/b", prevValue="2")
    s("DELETE", "/dir/sub", prevIndex="1")
    s("DELETE", "/dir/sub", prevValue="x")
    s("DELETE", "/dir/nothing", prevValue="x")
    s("DELETE", "/dir", recursive="true")
    s("DELETE", "/dir")
    s("DELETE", "/dir", recursive="true")
    twin.check()


def test_root_is_read_only_but_takes_in_order_keys(twin: Twin) -> None:
    s = twin.step
    s("PUT", "/", value="x")
    s("PUT", "/", dir="true")
    s("PUT", "/", prevExist="true")
    s("PUT", "/", prevExist="false")
    s("PUT", "/", value="x", prevValue="y")
    s("DELETE", "/")
    s("DELETE", "/", recursive="true")
    s("DELETE", "/", prevValue="x")
    s("DELETE", "/", prevIndex="5")
    s("POST", "/", value="at-root")
    twin.check()


def test_in_order_keys(twin: Twin) -> None:
    s = twin.step
    s("POST", "/queue", value="a")
    s("POST", "/queue", value="b")
    s("POST", "/queue", dir="true")
    s("POST", "/queue/", value="c")
    s("GET", "/queue", sorted="true")
    s("GET", "/queue", recursive="true", sorted="true")
    twin.check()


def test_ttl_shape_refresh_and_removal(twin: Twin) -> None:
    s = twin.step
    s("PUT", "/ttl", value="x", ttl="1000")
    s("GET", "/ttl")
    s("PUT", "/ttl", value="y", prevExist="true")
    s("GET", "/ttl")
    s("PUT", "/ttl", value="z", ttl="900", prevValue="y")
    s("PUT", "/ttl", value="w", prevValue="z")
    s("GET", "/ttl")
    s("PUT", "/ttl2", value="x", ttl="1000")
    s("PUT", "/ttl2", ttl="2000", refresh="true", prevExist="true")
    s("GET", "/ttl2")
    s("PUT", "/ttl2", ttl="500", refresh="true")
    s("PUT", "/ttl2", ttl="400", refresh="true", prevValue="x")
    s("PUT", "/ttl2", ttl="300", refresh="true", prevValue="nope")
    s("PUT", "/ttl-missing", ttl="300", refresh="true")
    s("PUT", "/ttl-missing", ttl="300", refresh="true", prevExist="true")
    s("PUT", "/ttl2", ttl="0", prevExist="true", value="zero")
    s("GET", "/ttl2")
    s("PUT", "/ttl2", value="p", prevExist="true")
    s("PUT", "/tdir", dir="true", ttl="1000")
    s("PUT", "/tdir/a", value="1", ttl="800")
    s("GET", "/tdir", recursive="true")
    s("PUT", "/tdir", prevExist="true", ttl="700", dir="true")
    s("GET", "/tdir")
    s("PUT", "/tdir", prevExist="true", dir="true")
    s("GET", "/tdir", recursive="true")
    s("POST", "/tq", value="x", ttl="1000")
    s("PUT", "/tdir", ttl="100", refresh="true")
    s("PUT", "/tdir", ttl="100", refresh="true", prevValue="x")
    s("PUT", "/tdir", ttl="100", refresh="true", prevExist="true", dir="true")
    s("GET", "/tdir")
    s("DELETE", "/tq", recursive="true")
    s("PUT", "/plain", value="p", ttl="100")
    s("DELETE", "/plain", dir="true")
    s("PUT", "/plain", value="p", prevExist="false", ttl="100", dir="true")
    s("DELETE", "/plain", prevValue="x", prevIndex="2")
    s("DELETE", "/plain", recursive="true", prevIndex="0")
    # ttl is a uint64; etcd's int64 nanosecond arithmetic wraps, and so does ours.
    # (2**64-1 wraps into the past: left out, etcd would expire it on its own schedule.)
    for huge in ("1000000000000000", "9223372036"):
        s("PUT", "/huge" + huge, value="v", ttl=huge)
    twin.check()


def test_watch_from_history(twin: Twin) -> None:
    s = twin.step
    a = s("PUT", "/w/a", value="1").index
    s("PUT", "/w/_h", value="h")
    s("PUT", "/w/b/c", value="2")
    s("PUT", "/w/a", value="3")
    s("PUT", "/w/r", value="r", ttl="1000")
    s("PUT", "/w/r", ttl="1000", refresh="true", prevExist="true")
    s("PUT", "/w/r", value="r2")
    d = s("DELETE", "/w/b", recursive="true").index
    assert a is not None and d is not None
    s("GET", "/w/a", wait="true", waitIndex=str(a))
    s("GET", "/w/a", wait="true", waitIndex=str(a + 1))
    s("GET", "/w", wait="true", waitIndex=str(a + 1), recursive="true")
    s("GET", "/w", wait="true", waitIndex=str(a), recursive="true")
    s("GET", "/w/r", wait="true", waitIndex=str(a + 4))
    s("GET", "/w/b/c", wait="true", waitIndex=str(a + 3))
    s("GET", "/w/b/c/deeper", wait="true", waitIndex=str(a + 3))
    s("GET", "/", wait="true", waitIndex=str(d), recursive="true")
    s("GET", "/w/a", wait="true", waitIndex=str(a), stream="true")
    twin.check()


def test_live_watches(twin: Twin) -> None:
    s = twin.step
    s("PUT", "/lw/x", value="0")
    twin.live_watch("/lw/x", lambda: s("PUT", "/lw/x", value="1"))
    twin.live_watch("/lw", lambda: s("PUT", "/lw/y/z", value="1"), recursive="true")
    twin.live_watch(
        "/lw",
        lambda: (s("PUT", "/lw/_hid", value="1"), s("PUT", "/lw/v", value="2")),
        recursive="true",
    )
    twin.live_watch("/lw/y/z", lambda: s("DELETE", "/lw/y", recursive="true"))
    twin.live_watch(
        "/lw/x",
        lambda: (
            s("PUT", "/lw/x", ttl="100", refresh="true", prevExist="true"),
            s("PUT", "/lw/x", value="after-refresh"),
        ),
    )
    twin.check()


def test_expiry_through_sync(twin: Twin) -> None:
    s = twin.step
    short = s("PUT", "/exp/short", value="x", ttl="1").index
    s("PUT", "/exp/dir", dir="true", ttl="1")
    s("PUT", "/exp/dir/child", value="c")
    assert short is not None

    def expire() -> None:
        # etcd's leader expires with its own SYNC; ours needs the SYNC the leader would propose.
        while twin.store.has_ttl_keys():
            nxt = twin.store.next_expiry()
            assert nxt is not None
            if nxt < time.time() + 5:
                t = max(nxt, time.time())
                twin.store.apply(Request.sync(t), t)
                continue
            break
        wait_until(
            lambda: theirs(twin.addr, "GET", "/exp/dir", {}).status == 404,
            15,
            "etcd to expire /exp/dir",
        )

    twin.live_watch("/exp/dir/child", expire)
    s("GET", "/exp/short", wait="true", waitIndex=str(short + 1))
    s("GET", "/exp", wait="true", waitIndex=str(short + 1), recursive="true")
    s("GET", "/exp", recursive="true")
    twin.check()


def test_history_is_1000_events(twin: Twin) -> None:
    start = twin.step("PUT", "/flood", value="0").index
    assert start is not None
    for i in range(1, 1001):
        t = theirs(twin.addr, "PUT", "/flood", {"value": str(i)})
        o = ours(twin.store, "PUT", "/flood", {"value": str(i)})
        assert (t.status, t.index) == (o.status, o.index)
    twin.step("GET", "/flood", wait="true", waitIndex=str(start))
    twin.step("GET", "/flood", wait="true", waitIndex="1")
    twin.step("GET", "/flood", wait="true", waitIndex=str(start + 1))
    twin.step("GET", "/flood", wait="true", waitIndex=str(start + 2))
    twin.check()


def test_stream_watches(twin: Twin) -> None:
    s = twin.step
    s("PUT", "/st/a", value="0")
    s("PUT", "/st/d/x", value="0")

    def writes() -> None:
        s("PUT", "/st/a", value="1")
        s("PUT", "/st/_hidden", value="1")
        s("PUT", "/st/d/x", value="1")
        s("PUT", "/st/a", value="2", ttl="100")
        s("PUT", "/st/a", ttl="100", refresh="true", prevExist="true")
        # etcd hands a delete twice to a stream watcher on the deleted key itself.
        s("DELETE", "/st/a")
        s("DELETE", "/st/d", recursive="true")

    twin.stream_watches(
        [
            ("/st/a", {}),
            ("/st", {"recursive": "true"}),
            ("/st/d", {}),
            ("/st/d/x", {}),
            ("/st/_hidden", {}),
            ("/", {"recursive": "true"}),
        ],
        writes,
    )
    twin.check()


def test_random_requests_answer_alike(twin: Twin) -> None:
    """A seeded mix of every kind of write and read over a few colliding keys (files becoming
    directories and back, hidden keys, in-order keys, compares that pass and fail)."""
    rnd = random.Random(20261125)
    keys = ["/r/a", "/r/b", "/r/a/x", "/r/_h", "/r/d/e", "/r/d", "/r"]
    for i in range(400):
        key = rnd.choice(keys)
        p: dict[str, str] = {}
        method = rnd.choice(["PUT", "PUT", "PUT", "POST", "DELETE", "GET"])
        if method in ("PUT", "POST"):
            if rnd.random() < 0.2:
                p["dir"] = "true"
            else:
                p["value"] = rnd.choice(["", "v", f"v{i}", f"v{i - 1}"])
            if rnd.random() < 0.2:
                p["ttl"] = "1000"
            r = rnd.random()
            if method == "PUT" and r < 0.2:
                p["prevExist"] = rnd.choice(["true", "false"])
            if method == "PUT" and 0.2 <= r < 0.35:
                p["prevValue"] = rnd.choice(["v", f"v{i - 1}", f"v{i - 2}"])
            if method == "PUT" and 0.3 <= r < 0.4:
                p["prevIndex"] = str(rnd.randint(0, twin.store.index + 1))
        elif method == "DELETE":
            r = rnd.random()
            if r < 0.3:
                p["recursive"] = "true"
            elif r < 0.5:
                p["dir"] = "true"
            elif r < 0.6:
                p["prevValue"] = rnd.choice(["v", f"v{i - 1}"])
            elif r < 0.7:
                p["prevIndex"] = str(rnd.randint(1, twin.store.index + 1))
        else:
            p = rnd.choice([{}, {"recursive": "true"}, {"sorted": "true", "recursive": "true"}])
            if rnd.random() < 0.2:
                p["quorum"] = "true"
        twin.step(method, key, **p)
    twin.step("GET", "/r", recursive="true", sorted="true")
    twin.check()


def test_stats_count_as_etcd_does(twin: Twin) -> None:
    theirs_now, ours_now = twin.etcd_stats(), json.loads(twin.store.stats_json())
    delta_t = {k: v - twin.etcd_stats0.get(k, 0) for k, v in theirs_now.items()}
    delta_o: dict[str, Any] = {k: v - twin.our_stats0.get(k, 0) for k, v in ours_now.items()}
    # Our own polling of etcd and the stats reads are GETs etcd counted and we did not.
    delta_t.pop("getsSuccess"), delta_o.pop("getsSuccess")
    delta_t.pop("getsFail"), delta_o.pop("getsFail")
    assert delta_t == delta_o
    assert list(theirs_now) == list(ours_now)
