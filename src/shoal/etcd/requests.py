"""The request path: proposals (batched per loop turn, retried), linearizable reads, and
membership changes, each answered once the log has been applied far enough.

After etcd's `v2_server.go` / `server.go` (Do, processInternalRaftRequest, the
linearizableReadLoop) and `pkg/wait`: a waiter is registered under the request's id before the
proposal goes to raft, and the applier (`shoal.etcd.apply`) triggers it through `Waiters`.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

from shoal.etcd.raftnode import RaftNode
from shoal.etcd.server_iface import MembershipError
from shoal.raft.errors import ConfChangePendingError, ProposalDroppedError
from shoal.raft.types import ConfChange, ReadState
from shoal.store import EtcdError, Event, Request, Store
from shoal.store import request as rq

RAFT_INTERNAL = 300  # etcd's v2 error code for the server's own failures (timeouts, stopping)
TIMED_OUT = "etcdserver: request timed out"
STOPPED = "etcdserver: server stopped"


class _Retry:
    """What a request's waiter gets when its try timed out (see Requests.do)."""


_RETRY = _Retry()


@dataclass
class _Applied:
    """An applied-index waiter (for reads)."""

    index: int
    fut: asyncio.Future[None]

    def __lt__(self, other: _Applied) -> bool:
        return self.index < other.index


class Requests:
    """Proposes requests and conf changes through `node` and waits for them to apply; runs
    ReadIndex for linearizable reads. Implements `shoal.etcd.apply.Waiters`."""

    def __init__(
        self,
        node: RaftNode,
        store: Store,
        applied: Callable[[], int],
        stopped: asyncio.Event,
        *,
        member_id: int,
        request_timeout: float,
        heartbeat_ms: int,
        election_ms: int,
    ) -> None:
        self._node = node
        self._store = store
        self._applied = applied
        self._stopped = stopped
        self._timeout = request_timeout
        self._heartbeat = heartbeat_ms / 1000.0
        self._election = election_ms / 1000.0
        # Request ids unique across members and restarts: the member id's low bits, then the
        # start time in ms, then a counter (as etcd's idutil generator).
        start = ((member_id & 0xFFFF) << 48) | ((int(time.time() * 1000) & 0xFFFFFFFF) << 8)
        self._ids = itertools.count(start)
        self._waits: dict[int, asyncio.Future[Event | _Retry | None]] = {}
        self._conf_waits: dict[int, asyncio.Future[None]] = {}
        self._prop_batch: list[bytes] = []
        self._prop_fut: asyncio.Future[None] | None = None
        self._applied_waiters: list[_Applied] = []
        self._read_waiters: list[asyncio.Future[None]] = []
        self._read_pending: dict[bytes, list[asyncio.Future[None]]] = {}
        self._read_wanted = asyncio.Event()
        # What etcd_server_* counts of the request path (read when scraped).
        self.proposals_failed = 0
        """Proposals that timed out waiting to be applied."""
        self.read_indexes_failed = 0
        """ReadIndex requests raft refused (no leader to ask)."""
        self.slow_read_indexes = 0
        """Linearizable reads that timed out waiting for their read index."""

    @property
    def proposals_pending(self) -> int:
        """Proposals made here and not yet applied (etcd_server_proposals_pending)."""
        return len(self._waits) + len(self._conf_waits)

    def error(self, cause: str) -> EtcdError:
        return EtcdError(RAFT_INTERNAL, cause, self._store.index)

    # -------------------------------------------------------------------- proposals
    async def do(self, req: Request) -> Event:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        if req.method in (rq.QGET,) or (req.method == rq.GET and req.quorum):
            await self.read_barrier(deadline)
            return self._store.get(req.path, req.recursive, req.sorted, now=time.time())
        rid = req.id = next(self._ids)
        data = req.encode()
        fut: asyncio.Future[Event | _Retry | None] = loop.create_future()
        self._waits[rid] = fut
        # A proposal can be lost on its way (forwarded to a leader that just lost office, or
        # over a link still reconnecting). Propose it again after a while: entries carry the
        # request's id and a second copy is skipped when applied (shoal.etcd.apply). A timer
        # per try (not wait_for + shield, which cost a task's worth of loop work per request)
        # hands the waiter _RETRY through a future that is swapped at the same instant.
        retry = max(1.0, 2 * self._election)
        try:
            while True:
                await self._propose(data, deadline)
                left = deadline - loop.time()
                if left <= 0:
                    self.proposals_failed += 1
                    raise self.error(TIMED_OUT)
                timer = loop.call_later(min(left, retry), self._retry_wait, rid)
                try:
                    ev = await fut
                finally:
                    timer.cancel()
                if not isinstance(ev, _Retry):
                    break
                if loop.time() >= deadline:
                    self.proposals_failed += 1
                    raise self.error(TIMED_OUT)
                fut = self._waits[rid]
        finally:
            self._waits.pop(rid, None)
        assert ev is not None
        return ev

    async def _propose(self, data: bytes, deadline: float) -> None:
        """Hand `data` to raft; while there is no leader, wait for one (as etcd blocks).
        Proposals made in the same loop turn go to raft as one batch (one append, one round
        of replication)."""
        loop = asyncio.get_running_loop()
        while True:
            if self._stopped.is_set():
                raise self.error(STOPPED)
            if self._prop_fut is None:
                self._prop_fut = loop.create_future()
                loop.call_soon(self._flush_proposals)
            self._prop_batch.append(data)
            try:
                await self._prop_fut
                return
            except ProposalDroppedError:
                pass
            left = deadline - loop.time()
            if left <= 0:
                raise self.error(TIMED_OUT)
            changed = self._node.leader_changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(left, self._heartbeat))

    def _flush_proposals(self) -> None:
        batch, fut = self._prop_batch, self._prop_fut
        self._prop_batch, self._prop_fut = [], None
        if fut is None or fut.done():
            return
        try:
            self._node.propose_many(batch)
        except ProposalDroppedError as e:
            fut.set_exception(e)
            fut.exception()  # retrieved: waiters that went away must not warn
            return
        fut.set_result(None)

    def _retry_wait(self, rid: int) -> None:
        """A request's try timed out: wake its waiter with _RETRY and leave a fresh future in
        its place, so an apply from now on answers the next try."""
        old = self._waits.get(rid)
        if old is None or old.done():
            return
        self._waits[rid] = asyncio.get_running_loop().create_future()
        old.set_result(_RETRY)

    def request_applied(self, rid: int, result: Event | None, err: EtcdError | None) -> None:
        fut = self._waits.pop(rid, None)
        if fut is not None and not fut.done():
            if err is not None:
                fut.set_exception(err)
            else:
                fut.set_result(result)

    def fail_all(self) -> None:
        """The member is stopping: every request still waiting fails."""
        for fut in self._waits.values():
            if not fut.done():
                fut.set_exception(self.error(STOPPED))

    # -------------------------------------------------------------------- membership changes
    async def conf_change(self, cc: ConfChange) -> None:
        """Propose `cc` and wait until it is applied; raises the MembershipError the apply
        gave, or EtcdError 300 on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        fut: asyncio.Future[None] = loop.create_future()
        self._conf_waits[cc.node_id] = fut
        try:
            while True:
                try:
                    self._node.propose_conf_change(cc)
                    break
                except ConfChangePendingError as e:
                    raise MembershipError(500, f"etcdserver: {e}") from None
                except ProposalDroppedError:
                    if loop.time() >= deadline:
                        raise self.error(TIMED_OUT) from None
                    await asyncio.sleep(self._heartbeat)
            try:
                await asyncio.wait_for(asyncio.shield(fut), max(deadline - loop.time(), 0.001))
            except TimeoutError:
                raise self.error(TIMED_OUT) from None
        finally:
            self._conf_waits.pop(cc.node_id, None)

    def conf_change_applied(self, node_id: int, err: MembershipError | None) -> None:
        fut = self._conf_waits.pop(node_id, None)
        if fut is not None and not fut.done():
            if err is not None:
                fut.set_exception(err)
            else:
                fut.set_result(None)

    # -------------------------------------------------------------------- linearizable reads
    async def linearizable_read(self) -> None:
        loop = asyncio.get_running_loop()
        await self.read_barrier(loop.time() + self._timeout)

    async def read_barrier(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._read_waiters.append(fut)
        self._read_wanted.set()
        try:
            await asyncio.wait_for(asyncio.shield(fut), max(deadline - loop.time(), 0.001))
        except TimeoutError:
            self.slow_read_indexes += 1
            raise self.error(TIMED_OUT) from None

    async def run_reads(self) -> None:
        """Batches every waiting read into one ReadIndex request (etcd's linearizableReadLoop)."""
        retry = max(0.5, 2 * self._heartbeat)
        while True:
            await self._read_wanted.wait()
            self._read_wanted.clear()
            batch = [f for f in self._read_waiters if not f.done()]
            self._read_waiters = []
            if not batch:
                continue
            ctx = next(self._ids).to_bytes(8, "big")
            while not all(f.done() for f in batch):
                self._read_pending[ctx] = batch
                try:
                    self._node.read_index(ctx)
                except ProposalDroppedError:
                    self.read_indexes_failed += 1
                done, _ = await asyncio.wait(
                    [asyncio.ensure_future(asyncio.gather(*batch, return_exceptions=True))],
                    timeout=retry,
                )
                if done:
                    break
                # No answer (no leader, lost message): ask again under a new context.
                self._read_pending.pop(ctx, None)
                ctx = next(self._ids).to_bytes(8, "big")

    def read_states(self, states: list[ReadState]) -> None:
        """ReadIndex answers from a Ready: each batch may read once that index is applied."""
        for rs in states:
            waiters = self._read_pending.pop(rs.request_ctx, None)
            if waiters:
                for f in waiters:
                    heapq.heappush(self._applied_waiters, _Applied(rs.index, f))
                self.wake_applied()

    def wake_applied(self) -> None:
        h, applied = self._applied_waiters, self._applied()
        while h and h[0].index <= applied:
            w = heapq.heappop(h)
            if not w.fut.done():
                w.fut.set_result(None)
