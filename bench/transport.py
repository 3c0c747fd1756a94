"""Peer transport micro-benchmark: two Transports in one process on loopback.

    .venv/bin/python bench/transport.py [--messages N] [--entries E] [--size S] [--batch B]
                                        [--loop asyncio|uvloop|both]

throughput: member 1 streams AppendEntries (E entries of S bytes each, sent B messages per
            send() call, at most --window in flight) to member 2; messages/s counted at the
            receiver's on_message, so it covers encode, queue, socket, frame parsing and decode.
round trip: member 1 sends one small message, member 2 answers from on_message; the time to the
            answer's arrival, i.e. what one replication round costs in the transport alone.
Both members share one event loop (and one core), so each figure is a lower bound for two
processes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from collections.abc import Callable

from shoal.raft.types import Entry, Message, MessageType
from shoal.transport import Transport

CLUSTER = 0xBE7C


async def _pair(
    on_a: Callable[[Message], None], on_b: Callable[[Message], None]
) -> tuple[Transport, Transport]:
    a = Transport(1, CLUSTER, on_a, lambda p: None)
    b = Transport(2, CLUSTER, on_b, lambda p: None)
    await a.start(["http://127.0.0.1:0"])
    await b.start(["http://127.0.0.1:0"])
    a.add_peer(2, b.listen_urls)
    b.add_peer(1, a.listen_urls)
    while not (a.is_active(2) and b.is_active(1)):
        await asyncio.sleep(0.01)
    return a, b


async def throughput(
    messages: int, entries: int, size: int, batch: int, window: int
) -> tuple[float, float]:
    """Returns (messages per wall-clock second, CPU microseconds per message). The CPU figure
    hardly moves when other work shares the machine; the wall-clock one does."""
    received = 0
    sent = 0
    room = asyncio.Event()

    def on_b(m: Message) -> None:
        nonlocal received
        received += 1
        if sent - received <= window // 2:
            room.set()

    a, b = await _pair(lambda m: None, on_b)
    pool = [
        Message(
            MessageType.APP,
            to=2,
            frm=1,
            term=5,
            log_term=5,
            index=i * entries,
            commit=i * entries,
            entries=[Entry(5, i * entries + k + 1, data=b"v" * size) for k in range(entries)],
        )
        for i in range(1024)
    ]
    try:
        start = time.perf_counter()
        cpu_start = time.process_time()
        while sent < messages:
            if sent - received >= window:
                room.clear()
                await room.wait()
                continue
            n = min(batch, messages - sent)
            a.send([pool[(sent + k) % 1024] for k in range(n)])
            sent += n
            await asyncio.sleep(0)
        while received < messages:
            room.clear()
            await room.wait()
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        stats = a.stats()[2]
        assert stats.messages_failed == 0, stats
    finally:
        await a.stop()
        await b.stop()
    return messages / elapsed, cpu / messages * 1e6


async def round_trip(rounds: int) -> list[float]:
    arrived = asyncio.Event()
    box: list[Transport] = []

    def on_b(m: Message) -> None:
        box[0].send([Message(MessageType.APP_RESP, to=1, frm=2, index=m.index)])

    a, b = await _pair(lambda m: arrived.set(), on_b)
    box.append(b)
    times: list[float] = []
    try:
        for i in range(rounds):
            arrived.clear()
            t0 = time.perf_counter()
            a.send([Message(MessageType.APP, to=2, frm=1, index=i)])
            await arrived.wait()
            times.append(time.perf_counter() - t0)
    finally:
        await a.stop()
        await b.stop()
    return times


def _run(args: argparse.Namespace, loop_name: str) -> None:
    async def main() -> None:
        rate, cpu_us = await throughput(
            args.messages, args.entries, args.size, args.batch, args.window
        )
        rtts = sorted(await round_trip(args.rounds))
        print(
            f"{loop_name:8} throughput: {rate:,.0f} messages/s "
            f"({rate * args.entries:,.0f} entries/s, "
            f"{rate * args.entries * args.size / 1e6:,.1f} MB/s of entry data), "
            f"{cpu_us:.1f} us CPU/message (send+receive); "
            f"round trip: median {statistics.median(rtts) * 1e6:,.0f} us, "
            f"p99 {rtts[int(len(rtts) * 0.99)] * 1e6:,.0f} us"
        )

    if loop_name == "uvloop":
        import uvloop

        uvloop.run(main())
    else:
        asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--messages", type=int, default=200_000)
    p.add_argument("--entries", type=int, default=4, help="entries per AppendEntries")
    p.add_argument("--size", type=int, default=64, help="bytes of data per entry")
    p.add_argument("--batch", type=int, default=64, help="messages per send() call")
    p.add_argument("--window", type=int, default=2048, help="most messages in flight")
    p.add_argument("--rounds", type=int, default=2000, help="round trips to time")
    p.add_argument("--loop", choices=["asyncio", "uvloop", "both"], default="both")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # teardown's "peer became inactive" is expected
    print(
        f"transport bench: {args.messages:,} AppendEntries x {args.entries} entries x "
        f"{args.size} B, {args.batch} per send(), python {sys.version.split()[0]}"
    )
    loops = ["asyncio", "uvloop"] if args.loop == "both" else [args.loop]
    for name in loops:
        _run(args, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
