"""The load generator: several processes, each holding many keep-alive HTTP/1.1 connections.

Every connection is a closed loop with one request in flight (as wrk does), so "connections" is
the concurrency. Each worker process runs its own event loop (uvloop when present) over raw
asyncio protocols: a request is a prebuilt bytes object and a response is framed by its
Content-Length (or chunked encoding) without a general HTTP parser, which keeps the client's cost
per request small. Latencies are kept only for requests completed inside the measured window
(after a warm-up) and are shipped back to the parent as packed doubles.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing as mp
import os
import resource
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import cast

# A request builder: (connection number, sequence number) -> the bytes of one request.
Builder = Callable[[int, int], bytes]


@dataclass
class LoadResult:
    ops: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: array[float] = field(default_factory=lambda: array("d"))
    first_error: str = ""
    client_cpu: float = 0.0  # CPU seconds the generator's processes used, setup included

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


class _Conn(asyncio.Protocol):
    """One keep-alive connection running requests back to back."""

    def __init__(self, worker: _Worker, cid: int) -> None:
        self.w = worker
        self.cid = cid
        self.seq = 0
        self.buf = bytearray()
        self.t0 = 0.0
        self.transport: asyncio.Transport | None = None
        self.need = -1  # bytes of the whole response once its header is parsed
        self.chunked = False
        self.status = 0
        self.closed: asyncio.Future[None] = worker.loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        if not self.w.stopping and not (self.w.limit and self.seq >= self.w.limit):
            self.w.error(f"connection closed by the server: {exc!r}")

    def _send(self) -> None:
        if self.w.stopping or (self.w.limit and self.seq >= self.w.limit):
            assert self.transport is not None
            self.transport.close()
            return
        req = self.w.build(self.cid, self.seq)
        self.seq += 1
        self.t0 = time.perf_counter()
        assert self.transport is not None
        self.transport.write(req)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            if self.need < 0:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buf[:end]).lower()
                self.status = int(head[9:12])
                i = head.find(b"\ncontent-length:")
                if i >= 0:
                    j = head.find(b"\r", i)
                    n = int(head[i + 16 : j if j >= 0 else len(head)])
                    self.need = end + 4 + n
                    self.chunked = False
                else:
                    self.chunked = b"transfer-encoding: chunked" in head
                    self.need = end + 4
            if self.chunked:
                # Chunks until the zero-length one; responses here are small.
                end_marker = buf.find(b"\r\n0\r\n\r\n", self.need - 2)
                if end_marker < 0:
                    return
                total = end_marker + 7
            else:
                if len(buf) < self.need:
                    return
                total = self.need
            del buf[:total]
            self.need = -1
            self._done()
            if not buf:
                return

    def _done(self) -> None:
        now = time.perf_counter()
        w = self.w
        if w.t_begin <= now <= w.t_end:
            if 200 <= self.status < 300:
                w.lat.append(now - self.t0)
            else:
                w.error(f"HTTP {self.status}")
        if now > w.t_end:
            w.stopping = True
        self._send()


class _Worker:
    def __init__(self, build: Builder, t_begin: float, t_end: float, limit: int) -> None:
        self.loop = asyncio.get_running_loop()
        self.limit = limit
        self.build = build
        self.t_begin = t_begin
        self.t_end = t_end
        self.lat: array[float] = array("d")
        self.errors = 0
        self.first_error = ""
        self.stopping = False

    def error(self, what: str) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = what


async def _run_worker(
    host: str,
    ports: list[int],
    conns: list[int],
    build: Builder,
    t_begin: float,
    t_end: float,
    limit: int,
) -> _Worker:
    w = _Worker(build, t_begin, t_end, limit)
    protos: list[_Conn] = []
    for i, cid in enumerate(conns):
        port = ports[i % len(ports)]
        _, p = await w.loop.create_connection(functools.partial(_Conn, w, cid), host, port)
        protos.append(p)
    if limit:  # a fixed number of requests per connection
        await asyncio.gather(*(p.closed for p in protos))
        return w
    # Stop at t_end; connections finish their request in flight (bounded by a grace period).
    await asyncio.sleep(max(0.0, t_end - time.perf_counter()))
    w.stopping = True
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(p.closed for p in protos)), 5.0)
    for p in protos:
        if p.transport is not None:
            p.transport.abort()
    return w


def _worker_main(
    out: Connection,
    host: str,
    ports: list[int],
    conns: list[int],
    build: Builder,
    t_begin: float,
    t_end: float,
    limit: int,
) -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    try:
        w = asyncio.run(_run_worker(host, ports, conns, build, t_begin, t_end, limit))
        out.send((len(w.lat), w.errors, w.first_error, w.lat.tobytes()))
    except Exception as e:  # reported to the parent, which shows it
        out.send((0, 1, f"worker failed: {e!r}", b""))
    out.close()


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def run_load(
    host: str,
    ports: list[int],
    connections: int,
    build: Builder,
    duration: float,
    warmup: float = 1.0,
    workers: int | None = None,
    limit: int = 0,
) -> LoadResult:
    """Run `connections` closed-loop connections spread over `workers` processes (and over
    `ports` round robin) for warmup + duration seconds; measure the last `duration` seconds.
    With `limit`, each connection instead makes exactly `limit` requests (all measured)."""
    nw = max(1, min(workers or default_workers(), connections))
    cpu0 = _children_cpu()
    ctx = mp.get_context("fork")
    # Connections are set up before the clock starts: give each worker time to connect.
    t_begin = time.perf_counter() + 0.5 + connections * 0.002 + warmup
    t_end = t_begin + duration
    if limit:
        t_begin, t_end = 0.0, float("inf")
    procs = []
    pipes = []
    for k in range(nw):
        mine = list(range(k, connections, nw))
        r, wr = ctx.Pipe(duplex=False)
        p = ctx.Process(
            target=_worker_main,
            args=(wr, host, ports, mine, build, t_begin, t_end, limit),
            daemon=True,
        )
        p.start()
        wr.close()
        procs.append(p)
        pipes.append(r)
    res = LoadResult(seconds=duration)
    for r in pipes:
        try:
            n, errs, first, raw = r.recv()
        except EOFError:
            n, errs, first, raw = 0, 1, "worker died", b""
        res.ops += n
        res.errors += errs
        if first and not res.first_error:
            res.first_error = first
        a: array[float] = array("d")
        a.frombytes(raw)
        res.latencies.extend(a)
    for p in procs:
        p.join(10)
        if p.is_alive():
            p.kill()
            p.join(5)
    res.client_cpu = _children_cpu() - cpu0
    return res


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime
