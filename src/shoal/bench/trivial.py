"""A trivial HTTP server (uvloop when present) answering every request with a fixed
small response: what the load generator reaches against it is the generator's ceiling on this
machine, shown in the table's header."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import signal
from multiprocessing.connection import Connection
from typing import cast

from shoal.bench.cluster import free_ports


class _Echo(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.t: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        out = []
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = bytes(buf[:end]).lower()
            n = 0
            i = head.find(b"\ncontent-length:")
            if i >= 0:
                j = head.find(b"\r", i)
                n = int(head[i + 16 : j if j >= 0 else len(head)])
            if len(buf) < end + 4 + n:
                break
            del buf[: end + 4 + n]
            out.append(_response())
        if out and self.t is not None:
            self.t.write(b"".join(out))


def _response() -> bytes:
    return _RESP


def _build() -> bytes:
    body = b'{"action":"get","node":{"key":"/k","value":"' + b"x" * 64 + b'","modifiedIndex":1}}'
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


_RESP = _build()


def _serve(port: int, ready: Connection) -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        await loop.create_server(_Echo, "127.0.0.1", port, reuse_port=True)
        ready.send(True)
        ready.close()
        await asyncio.Event().wait()

    asyncio.run(main())


class TrivialServer:
    """Context manager: a trivial server in `processes` processes sharing one port
    (SO_REUSEPORT), so that what is measured is the load generator; `.port` is the port."""

    def __init__(self, processes: int = 2) -> None:
        self.port = 0
        self.processes = processes
        self._procs: list[mp.process.BaseProcess] = []

    def __enter__(self) -> TrivialServer:
        ctx = mp.get_context("fork")
        self.port = free_ports(1)[0]
        for _ in range(self.processes):
            r, w = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_serve, args=(self.port, w), daemon=True)
            p.start()
            w.close()
            self._procs.append(p)
            r.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self._procs:
            if p.pid is not None and p.is_alive():
                os.kill(p.pid, signal.SIGKILL)
                p.join(5)
