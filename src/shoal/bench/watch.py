"""Watch fan-out: many long-poll watchers on one key, one writer; the figure is the time from the
write being sent to the last watcher receiving its event.

Watchers live in worker processes (keep-alive connections, re-armed every round with
`waitIndex`). A round starts only once every watcher has its response header (etcd and shoal both
send the header when the watch is registered), so the time measured is the fan-out itself.
Times are CLOCK_MONOTONIC, which is the same clock in every process.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import multiprocessing as mp
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import cast

WATCH_KEY = "/v2/keys/bench/watched"


def _now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class _Watcher(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.header: asyncio.Future[int] | None = None
        self.body: asyncio.Future[float] | None = None
        self.head_end = -1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def arm(self, host: str, index: int) -> None:
        loop = asyncio.get_running_loop()
        self.header, self.body = loop.create_future(), loop.create_future()
        self.head_end = -1
        self.buf.clear()
        assert self.transport is not None
        self.transport.write(
            f"GET {WATCH_KEY}?wait=true&waitIndex={index} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        t = _now()
        self.buf += data
        if self.head_end < 0:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head_end = end + 4
            if self.header is not None and not self.header.done():
                self.header.set_result(int(self.buf[9:12]))
        head = bytes(self.buf[: self.head_end]).lower()
        i = head.find(b"\ncontent-length:")
        if i >= 0:
            j = head.find(b"\r", i)
            complete = len(self.buf) >= self.head_end + int(head[i + 16 : j])
        else:
            complete = self.buf.find(b"\r\n0\r\n\r\n", self.head_end - 2) >= 0
        if complete and self.body is not None and not self.body.done():
            self.body.set_result(t)

    def connection_lost(self, exc: Exception | None) -> None:
        for f in (self.header, self.body):
            if f is not None and not f.done():
                f.set_exception(ConnectionError(f"watch connection lost: {exc!r}"))


async def _worker(ctl: Connection, host: str, port: int, n: int) -> None:
    loop = asyncio.get_running_loop()
    ws: list[_Watcher] = []
    for _ in range(n):
        _, w = await loop.create_connection(_Watcher, host, port)
        ws.append(w)
    ctl.send("connected")
    while True:
        cmd = await loop.run_in_executor(None, ctl.recv)
        if cmd is None:
            break
        for w in ws:
            w.arm(f"{host}:{port}", cmd)
        try:
            await asyncio.wait_for(asyncio.gather(*(w.header for w in ws if w.header)), 30)
            ctl.send("armed")
            times = await asyncio.wait_for(asyncio.gather(*(w.body for w in ws if w.body)), 30)
            ctl.send(("done", max(times), len(times)))
        except (TimeoutError, ConnectionError) as e:
            ctl.send(("error", repr(e)))
            break
    for w in ws:
        if w.transport is not None:
            w.transport.abort()


def _worker_main(ctl: Connection, host: str, port: int, n: int) -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(_worker(ctl, host, port, n))


@dataclass
class WatchResult:
    rounds: list[float] = field(default_factory=list)  # seconds, write sent -> last delivery
    watchers: int = 0
    errors: int = 0
    first_error: str = ""


def run_watch(
    host: str, port: int, watchers: int, rounds: int, workers: int = 4, deadline: float = 120.0
) -> WatchResult:
    res = WatchResult(watchers=watchers)
    ctx = mp.get_context("fork")
    procs, ctls = [], []
    for k in range(workers):
        n = watchers // workers + (1 if k < watchers % workers else 0)
        a, b = ctx.Pipe()
        p = ctx.Process(target=_worker_main, args=(b, host, port, n), daemon=True)
        p.start()
        b.close()
        procs.append(p)
        ctls.append(a)
    writer = http.client.HTTPConnection(host, port, timeout=30)
    stop_at = time.monotonic() + deadline
    try:
        for c in ctls:
            c.recv()
        for r in range(rounds):
            if time.monotonic() > stop_at:
                break
            writer.request("GET", WATCH_KEY)
            resp = writer.getresponse()
            resp.read()
            index = int(resp.headers.get("X-Etcd-Index", "0")) + 1
            for c in ctls:
                c.send(index)
            replies = [c.recv() for c in ctls]
            if any(x != "armed" for x in replies):
                res.errors += 1
                res.first_error = res.first_error or str(replies)
                break
            body = f"value=round{r}"
            t0 = _now()
            writer.request(
                "PUT",
                WATCH_KEY,
                body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            resp = writer.getresponse()
            resp.read()
            done = [c.recv() for c in ctls]
            bad = [d for d in done if d[0] != "done"]
            if bad:
                res.errors += 1
                res.first_error = res.first_error or str(bad[0])
                break
            res.rounds.append(max(d[1] for d in done) - t0)
    finally:
        for c in ctls:
            with contextlib.suppress(OSError):
                c.send(None)
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
        writer.close()
    return res


def seed_key(host: str, port: int) -> None:
    c = http.client.HTTPConnection(host, port, timeout=10)
    try:
        c.request(
            "PUT",
            WATCH_KEY,
            body="value=seed",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        json.loads(c.getresponse().read())
    finally:
        c.close()
