"""What the HTTP layer does in situations a one-member etcd cannot be put in for a side-by-side
test: no leader, a follower, failing or slow proposals, membership changes, a watcher dropped
by the store, the watch timeout, several listen URLs. Expected answers are etcd 3.4's (from its
source, see shoal.etcd.facts)."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from fake_server import FakeMember

from shoal.etcd import facts
from shoal.etcd.v2http.api import ClientListener
from shoal.store import Event, Request
from support import wait_until

Fake = tuple[FakeMember, str]


def call(
    base: str,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        c.request(method, target, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def form(base: str, method: str, target: str, body: str) -> tuple[int, dict[str, str], bytes]:
    return call(
        base, method, target, body.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    )


JSON = {"Content-Type": "application/json"}


def test_no_leader_answers_as_etcd(fake: Fake) -> None:
    m, base = fake
    m.leader = 0
    status, h, body = call(base, "GET", "/v2/members/leader")
    assert (status, body) == (503, b'{"message":"During election"}')
    assert h["x-etcd-cluster-id"] == f"{m.cluster_id:x}"
    status, h, body = call(base, "GET", "/health")
    assert (status, body) == (503, b'{"health":"false"}\n')
    assert h["content-type"] == facts.TEXT and h["x-content-type-options"] == "nosniff"
    status, h, body = form(base, "PUT", "/v2/keys/x", "value=1")
    assert status == 500
    assert json.loads(body) == {
        "errorCode": 300,
        "message": "Raft Internal Error",
        "cause": "etcdserver: request timed out",
        "index": 0,
    }
    assert h["x-etcd-index"] == "0" and "x-raft-index" not in h
    # Local reads still answer.
    status, _, _ = call(base, "GET", "/v2/keys/")
    assert status == 200


def test_follower_refuses_leader_stats(fake: Fake) -> None:
    m, base = fake
    m.leader = 12345
    status, h, body = call(base, "GET", "/v2/stats/leader")
    assert (status, body) == (403, b'{"message":"not current leader"}')
    assert h["content-type"] == "application/json"
    status, _, body = call(base, "GET", "/v2/stats/self")
    assert status == 200 and json.loads(body)["state"] == "StateFollower"


def test_unexpected_proposal_error_is_300_with_its_text(fake: Fake) -> None:
    m, base = fake

    async def boom(req: Request) -> Event:
        raise RuntimeError("etcdserver: server stopped")

    m.do = boom  # type: ignore[method-assign]
    status, _, body = form(base, "PUT", "/v2/keys/x", "value=1")
    assert status == 500
    assert json.loads(body)["cause"] == "etcdserver: server stopped"
    status, _, _ = call(base, "GET", "/v2/keys/x?quorum=true")
    assert status == 500


def test_write_goes_on_when_the_client_leaves(fake: Fake) -> None:
    m, base = fake
    inner = m.do
    entered = threading.Event()

    async def slow(req: Request) -> Event:
        entered.set()
        await asyncio.sleep(0.3)
        return await inner(req)

    m.do = slow  # type: ignore[method-assign]
    u = urllib.parse.urlsplit(base)
    s = socket.create_connection((u.hostname, u.port))
    body = b"value=kept"
    s.sendall(
        b"PUT /v2/keys/left HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    assert entered.wait(10)
    s.close()
    wait_until(lambda: call(base, "GET", "/v2/keys/left")[0] == 200, 10, "the write to apply")


def test_membership_changes(fake: Fake) -> None:
    _, base = fake
    status, h, body = call(
        base, "POST", "/v2/members", b'{"peerURLs":["http://127.0.0.1:9001"]}', JSON
    )
    assert status == 201 and h["content-type"] == "application/json"
    added = json.loads(body)
    assert added["name"] == "" and added["clientURLs"] == []
    assert added["peerURLs"] == ["http://127.0.0.1:9001"] and body.endswith(b"}\n")
    mid = added["id"]
    status, _, body = call(
        base, "POST", "/v2/members", b'{"peerURLs":["http://127.0.0.1:9001"]}', JSON
    )
    assert (status, body) == (409, b'{"message":"membership: peerURL exists"}')
    status, _, body = call(
        base, "PUT", f"/v2/members/{mid}", b'{"peerURLs":["http://127.0.0.1:9002"]}', JSON
    )
    assert (status, body) == (204, b"")
    members = json.loads(call(base, "GET", "/v2/members")[2])["members"]
    assert {"id": mid, "name": "", "peerURLs": ["http://127.0.0.1:9002"], "clientURLs": []} in (
        members
    )
    status, _, body = call(base, "DELETE", f"/v2/members/{mid.upper()}")
    assert (status, body) == (204, b"")
    status, _, body = call(base, "DELETE", f"/v2/members/{mid}")
    assert (status, body) == (410, f'{{"message":"Member permanently removed: {mid}"}}'.encode())
    status, _, body = call(base, "DELETE", "/v2/members/00ff")
    assert (status, body) == (404, b'{"message":"No such member: ff"}')
    status, _, body = call(base, "GET", "/v2/machines")
    assert (status, body) == (200, base.encode())


def test_request_line_over_etcds_limit_is_refused(fake: Fake) -> None:
    # etcd drops the connection for a request line over 4096 bytes; shoal answers 400.
    _, base = fake
    target = "/v2/keys/k?value=" + "v" * (4096 - 15 - 17)
    assert len(f"PUT {target} HTTP/1.1\r\n") == 4096
    status, _, _ = call(base, "PUT", target)
    assert status == 201
    status, _, _ = call(base, "PUT", target + "v")
    assert status == 400
    assert call(base, "GET", "/v2/keys/k")[0] == 200


def run_in_loop(m: FakeMember, fn: Callable[[], Any]) -> None:
    """Run `fn` on the fake's event loop thread (so store writes happen in one loop turn)."""
    loop = m.loop
    assert loop is not None
    done = threading.Event()

    def go() -> None:
        try:
            fn()
        finally:
            done.set()

    loop.call_soon_threadsafe(go)
    assert done.wait(10)


def stream_lines(base: str, target: str, timeout: float = 10) -> tuple[list[bytes], bool]:
    """Read a stream watch until it ends or `timeout`; (lines, ended)."""
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    lines: list[bytes] = []
    c.request("GET", target)
    r = c.getresponse()
    assert r.status == 200
    ended = False
    try:
        while True:
            line = r.readline()
            if not line:
                ended = True
                break
            lines.append(line)
    except TimeoutError:
        pass
    c.close()
    return lines, ended


def test_stream_ends_when_the_store_drops_a_slow_watcher(fake: Fake) -> None:
    m, base = fake
    result: dict[str, Any] = {}
    t = threading.Thread(
        target=lambda: result.update(
            r=stream_lines(base, "/v2/keys/s?wait=true&stream=true&recursive=true")
        )
    )
    t.start()
    wait_until(lambda: m.store.hub.count == 1, 10, "the watch to register")

    def burst() -> None:
        now = time.time()
        for i in range(150):
            m.store.set(f"/1/s/k{i}", str(i), now=now)

    run_in_loop(m, burst)
    t.join(15)
    lines, ended = result["r"]
    # The 100 buffered events are delivered, then the response ends (etcd: channel closed).
    assert ended and len(lines) == 100
    assert json.loads(lines[-1])["node"]["key"] == "/s/k99"


def test_watch_times_out(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    m, base = fake
    monkeypatch.setattr(facts, "WATCH_TIMEOUT", 0.5)
    t0 = time.monotonic()
    lines, ended = stream_lines(base, "/v2/keys/t?wait=true&stream=true")
    assert ended and lines == [] and time.monotonic() - t0 < 5
    wait_until(lambda: m.store.hub.count == 0, 5, "the watcher to be removed")


def test_serves_every_listen_url() -> None:
    m = FakeMember()
    loop = asyncio.new_event_loop()
    listener = ClientListener(m, ["http://127.0.0.1:0", "http://127.0.0.1:0"])
    try:
        loop.run_until_complete(listener.start())
        assert len(listener.bound_urls) == 2
        t = threading.Thread(target=loop.run_forever, daemon=True)
        t.start()
        try:
            for u in listener.bound_urls:
                assert call(u, "GET", "/version")[2] == (
                    b'{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}'
                )
        finally:
            loop.call_soon_threadsafe(loop.stop)
            t.join(10)
    finally:
        loop.run_until_complete(listener.stop())
        loop.close()


def test_an_https_listen_url_needs_a_certificate() -> None:
    listener = ClientListener(FakeMember(), ["https://127.0.0.1:0"])
    with pytest.raises(ValueError, match=r"TLS key/cert \(--cert-file, --key-file\) must be"):
        asyncio.run(listener.start())


def put_expecting_continue(base: str, target: str, body: bytes) -> bytes:
    """A PUT sending `Expect: 100-continue` that waits for the interim answer before sending
    the body, as curl does for bodies over 1 KiB; returns everything the server said."""
    u = urllib.parse.urlsplit(base)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(
            b"PUT %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
            % (target.encode(), len(body))
        )
        interim = s.recv(1024)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n", interim
        s.sendall(body)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return interim + out


def test_continue_is_sent_when_the_body_is_read(fake: Fake) -> None:
    _, base = fake
    got = put_expecting_continue(base, "/v2/keys/e", b"value=" + b"x" * 2000)
    assert got.count(b"100 Continue") == 1
    assert b"HTTP/1.1 201 Created" in got


def test_make_app_answers_as_the_listener() -> None:
    from aiohttp import web

    from shoal.etcd.v2http.api import make_app, runner_options

    m = FakeMember()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(make_app(m), **runner_options())  # type: ignore[arg-type]
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    try:
        got = put_expecting_continue(base, "/v2/keys/e", b"value=" + b"x" * 2000)
        assert got.count(b"100 Continue") == 1 and b"HTTP/1.1 201 Created" in got
        status, h, _ = call(base, "GET", "/v2/keys/a/../e")
        assert (status, h["location"]) == (301, "/v2/keys/e")
        status, _, body = call(base, "GET", "/v2/keys/e")
        assert status == 200 and json.loads(body)["node"]["value"] == "x" * 2000
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def test_stopping_ends_open_watches_promptly() -> None:
    m = FakeMember()
    result: dict[str, Any] = {}
    with m.serve() as base:
        t = threading.Thread(
            target=lambda: result.update(r=stream_lines(base, "/v2/keys/x?wait=true&stream=true"))
        )
        t.start()
        wait_until(lambda: m.store.hub.count == 1, 10, "the watch to register")
        t0 = time.monotonic()
    assert time.monotonic() - t0 < 5
    t.join(10)
    assert result["r"] == ([], True)
    assert m.store.hub.count == 0


def test_make_app_under_a_plain_runner_ends_watches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run without runner_options() (no handler cancellation, aiohttp's 60 s shutdown grace):
    a watch whose client left is still removed, and stopping does not wait on open watches."""
    from aiohttp import web

    from shoal.etcd.v2http import keys as http_keys
    from shoal.etcd.v2http.api import make_app

    monkeypatch.setattr(http_keys, "DISCONNECT_POLL", 0.2)
    m = FakeMember()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(make_app(m))
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    try:
        u = urllib.parse.urlsplit(base)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        c.request("GET", "/v2/keys/gone?wait=true&stream=true")
        assert c.getresponse().status == 200
        wait_until(lambda: m.store.hub.count == 1, 10, "the watch to register")
        assert c.sock is not None
        c.sock.shutdown(socket.SHUT_RDWR)
        c.close()
        wait_until(lambda: m.store.hub.count == 0, 10, "the watch of a closed connection to go")

        result: dict[str, Any] = {}
        reader = threading.Thread(
            target=lambda: result.update(r=stream_lines(base, "/v2/keys/open?wait=true"))
        )
        reader.start()
        wait_until(lambda: m.store.hub.count == 1, 10, "the second watch to register")
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)
        t0 = time.monotonic()
        loop.run_until_complete(runner.cleanup())
        loop.close()
    assert time.monotonic() - t0 < 5
    reader.join(10)
    assert result["r"] == ([], True)
