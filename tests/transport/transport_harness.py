"""Members on loopback for transport tests: a Transport plus what it received and reported."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from shoal.raft.types import Entry, Message, MessageType
from shoal.transport import Transport
from support import wait_until_async

CLUSTER = 0x1C2D


LOOPS = ["asyncio", "uvloop"]


def run(coro: Coroutine[Any, Any, None], timeout: float = 30.0, loop: str = "asyncio") -> None:
    """Run one async test body with a hard bound on its run time, on asyncio's loop or uvloop
    (the member runs on uvloop when present, and uvloop's transports differ in details)."""

    async def bounded() -> None:
        async with asyncio.timeout(timeout):
            await coro

    if loop == "uvloop":
        import uvloop

        uvloop.run(bounded())
    else:
        asyncio.run(bounded())


@dataclass
class Member:
    id: int
    transport: Transport
    got: list[Message] = field(default_factory=list)
    unreachable: list[int] = field(default_factory=list)
    snap_status: list[tuple[int, bool]] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.transport.listen_urls[0]

    def from_peer(self, peer: int) -> list[Message]:
        return [m for m in self.got if m.frm == peer]


async def start_member(
    member_id: int,
    cluster_id: int = CLUSTER,
    listen: str = "http://127.0.0.1:0",
    **kwargs: Any,
) -> Member:
    kwargs.setdefault("backoff_min", 0.02)
    kwargs.setdefault("backoff_max", 0.2)
    kwargs.setdefault("ping_interval", 0.2)
    box: list[Member] = []
    t = Transport(
        member_id,
        cluster_id,
        lambda m: box[0].got.append(m),
        lambda p: box[0].unreachable.append(p),
        on_snapshot_status=lambda p, ok: box[0].snap_status.append((p, ok)),
        on_removed=lambda p: box[0].removed.append(p),
        **kwargs,
    )
    member = Member(member_id, t)
    box.append(member)
    await t.start([listen])
    return member


async def mesh(*members: Member) -> None:
    """Make every member a peer of every other and wait until all links are up."""
    for a in members:
        for b in members:
            if a is not b:
                a.transport.add_peer(b.id, [b.url])
    await wait_until_async(
        lambda: all(a.transport.is_active(b.id) for a in members for b in members if a is not b),
        what="all links active",
    )


def app(frm: int, to: int, index: int, n_entries: int = 1, size: int = 16) -> Message:
    """A small AppendEntries, numbered by `index` so tests can check order."""
    entries = [Entry(1, index * 100 + i, data=b"x" * size) for i in range(n_entries)]
    return Message(MessageType.APP, to=to, frm=frm, term=1, index=index, entries=entries)


async def stop_all(*members: Member) -> None:
    await asyncio.gather(*(m.transport.stop() for m in members))


async def with_members(ids: list[int], body: Callable[..., Awaitable[None]], **kwargs: Any) -> None:
    """Start members, run body(*members), and stop them all even if body fails."""
    members: list[Member] = []
    try:
        for i in ids:
            members.append(await start_member(i, **kwargs))
        await body(*members)
    finally:
        await stop_all(*members)
