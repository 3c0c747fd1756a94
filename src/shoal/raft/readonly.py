"""Pending linearizable reads (ReadIndex, Raft thesis section 6.4).

A read request is recorded with the commit index at the time it arrived; once a quorum has
acknowledged a heartbeat carrying the request's context, the leader knows it was still leader at
that moment, and every request queued up to and including that one can be served at its index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shoal.raft.types import Message


@dataclass(slots=True)
class ReadIndexStatus:
    req: Message
    index: int
    acks: set[int] = field(default_factory=set)


class ReadOnly:
    def __init__(self) -> None:
        self.pending: dict[bytes, ReadIndexStatus] = {}
        self.queue: list[bytes] = []

    def add_request(self, index: int, m: Message) -> None:
        ctx = m.entries[0].data
        if ctx in self.pending:
            return
        self.pending[ctx] = ReadIndexStatus(m, index)
        self.queue.append(ctx)

    def recv_ack(self, node: int, ctx: bytes) -> set[int] | None:
        rs = self.pending.get(ctx)
        if rs is None:
            return None
        rs.acks.add(node)
        return rs.acks

    def advance(self, ctx: bytes) -> list[ReadIndexStatus]:
        """Every request up to and including `ctx`, now confirmed, removed from the queue."""
        if ctx not in self.pending:
            return []
        n = self.queue.index(ctx) + 1
        done = [self.pending.pop(c) for c in self.queue[:n]]
        del self.queue[:n]
        return done

    def last_pending_ctx(self) -> bytes | None:
        return self.queue[-1] if self.queue else None
