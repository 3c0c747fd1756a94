"""The harness's own parts, without a cluster: the torn-tail cut, outcome classification."""

from __future__ import annotations

import asyncio
import random
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from shoal.raft.types import Entry, EntryType, HardState
from shoal.torture.nemesis import cut_wal_tail
from shoal.torture.workload import Clock, OpRecord, Workload, client_session
from shoal.wal.wal import WAL


def test_a_cut_wal_tail_is_repaired_on_open_and_loses_only_the_last_records(
    tmp_path: Path,
) -> None:
    wal_dir = tmp_path / "wal"
    w = WAL.create(str(wal_dir), b"meta", segment_size=1 << 20)
    for i in range(1, 21):
        w.save(HardState(1, 0, i - 1), [Entry(1, i, EntryType.NORMAL, b"x" * 40)])
    w.close()
    what = cut_wal_tail(wal_dir, random.Random(4))
    assert what.startswith("cut ") and "bytes off" in what
    opened = WAL.open(str(wal_dir), segment_size=1 << 20)
    try:
        assert opened.wal.repair_note is not None  # the member logs it
        indexes = [e.index for e in opened.entries]
        assert indexes == list(range(1, len(indexes) + 1))
        assert 17 <= len(indexes) <= 20  # at most 256 bytes: a few records
    finally:
        opened.wal.close()


class _Once:
    """A server that reads one request, closes the connection and stops listening: what a
    member killed while handling a request looks like to its client."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.got = b""

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        conn, _ = await loop.sock_accept(self.sock)
        self.sock.close()
        self.got = await loop.sock_recv(conn, 65536)
        conn.close()


def _workload() -> Workload:
    cluster: Any = SimpleNamespace(slots=[None])
    return Workload(cluster, Clock(), seed=1, clients_per_member=1, op_timeout=5.0)


def test_a_request_sent_before_the_member_died_is_unknown_not_failed() -> None:
    # aiohttp sends a PUT again when the connection breaks; the second try is refused. The
    # first copy reached the member (which may have applied it): the outcome is unknown.
    async def go() -> OpRecord:
        server = _Once()
        task = asyncio.create_task(server.serve())
        w = _workload()
        member = SimpleNamespace(client_url=f"http://127.0.0.1:{server.port}", name="n1")
        async with client_session() as session:
            rec = await w._one(
                session, member, 0, "write", "/torture/r0.0", "0.1", {}, random.Random(1)
            )
        await task
        assert b"PUT /v2/keys/torture/r0.0" in server.got
        return rec

    rec = asyncio.run(go())
    assert rec.outcome == "unknown"
    assert rec.checker_record() is not None and rec.checker_record()["ret"] is None  # type: ignore[index]


def test_a_refused_connection_is_a_failed_request_left_out_of_the_check() -> None:
    async def go() -> OpRecord:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        w = _workload()
        member = SimpleNamespace(client_url=f"http://127.0.0.1:{port}", name="n1")
        async with client_session() as session:
            return await w._one(
                session, member, 0, "cas", "/torture/r0.0", "0.1", {}, random.Random(1)
            )

    rec = asyncio.run(go())
    assert rec.outcome == "error"
    assert rec.checker_record() is None
