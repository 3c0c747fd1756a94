"""Applying the committed log to the member's state: requests, conf changes, snapshots.

After etcd's `server/etcdserver/apply.go` and the apply half of `server.go`. Everything here
runs on the member's loop, in log order, and does the same on every member: the v2 store, the
membership view, and the ids of the requests applied lately (so that a proposal that reached
the log twice takes effect once). A snapshot holds exactly that state (`snapshot_data`).
Whoever waits for an entry (a client's request, a membership change) is told through
`Waiters`; this module does not know who they are.
"""

from __future__ import annotations

import collections
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import msgpack

from shoal.etcd import log
from shoal.etcd.membership import Membership, PeerOp
from shoal.etcd.server_iface import MembershipError
from shoal.raft.codec import decode_conf_change
from shoal.raft.rawnode import RawNode
from shoal.raft.storage import MemoryStorage
from shoal.raft.types import ConfChangeType, ConfState, Entry, EntryType, Snapshot
from shoal.store import EtcdError, Event, Request, Store
from shoal.transport import Transport

PKG = "etcdserver"
APPLIED_IDS_KEPT = 100_000
SNAPSHOT_CATCHUP_ENTRIES = 5000  # entries kept behind a snapshot for slow followers (etcd)
SLOW_APPLY = 0.1  # etcd's warningApplyDuration: an apply slower than this is counted and logged


class AppliedIDs:
    """The ids of the last APPLIED_IDS_KEPT requests applied, oldest first."""

    def __init__(self, ids: Iterable[int] = ()) -> None:
        self.order: collections.deque[int] = collections.deque(ids)
        self._set = set(self.order)

    def __contains__(self, rid: int) -> bool:
        return rid in self._set

    def add(self, rid: int) -> None:
        self._set.add(rid)
        self.order.append(rid)
        if len(self.order) > APPLIED_IDS_KEPT:
            self._set.discard(self.order.popleft())


@dataclass
class State:
    """What applying the log builds, and what a snapshot carries (with its index)."""

    store: Store = field(default_factory=Store)
    membership: Membership = field(default_factory=Membership)
    applied_ids: AppliedIDs = field(default_factory=AppliedIDs)
    applied: int = 0  # the index of the last entry applied
    snapshot_index: int = 0  # the index of the last snapshot taken or installed

    def snapshot_data(self) -> bytes:
        return msgpack.packb(  # type: ignore[no-any-return]
            [self.store.save(), self.membership.encode(), list(self.applied_ids.order)]
        )

    def restore(self, snap: Snapshot) -> None:
        """Replace this state by the snapshot's (the store in place: the HTTP layer holds it)."""
        store_data, members, applied_ids = msgpack.unpackb(snap.data)
        self.store.restore(store_data)
        self.membership = Membership.decode(members)
        self.applied_ids = AppliedIDs(applied_ids)
        self.applied = self.snapshot_index = snap.meta.index


class Waiters(Protocol):
    """Who is told when an entry they proposed has been applied (the request path)."""

    def request_applied(self, rid: int, result: Event | None, err: EtcdError | None) -> None: ...

    def conf_change_applied(self, node_id: int, err: MembershipError | None) -> None: ...


class Applier:
    """Applies Ready batches' snapshots and committed entries to `state`, and takes snapshots."""

    def __init__(
        self,
        state: State,
        member_id: int,
        raw: RawNode,
        mem: MemoryStorage,
        transport: Transport,
        save_snapshot: Callable[[Snapshot], Awaitable[None]],
        waiters: Waiters,
        on_removed: Callable[[], None],
        snapshot_count: int,
    ) -> None:
        self.state = state
        self.member_id = member_id
        self._raw = raw
        self._mem = mem
        self._transport = transport
        self._save_snapshot = save_snapshot  # persists on the WAL's thread
        self._waiters = waiters
        self._on_removed = on_removed
        self._snapshot_count = snapshot_count
        self.slow_applies = 0
        """Entries whose apply took longer than SLOW_APPLY (etcd_server_slow_apply_total)."""

    # -------------------------------------------------------------------- entries
    def apply_entries(self, entries: list[Entry]) -> None:
        clock = time.perf_counter
        started = clock()
        for e in entries:
            self.state.applied = e.index
            if e.type is EntryType.CONF_CHANGE:
                self._apply_conf_change(e)
            elif e.data:  # an empty entry is a new leader's no-op
                self._apply_request(Request.decode(e.data))
            # One clock read per entry: each entry's end is the next one's start.
            done = clock()
            if done - started > SLOW_APPLY:
                self.slow_applies += 1
                log.warning(PKG, f"apply of entry {e.index} took too long ({done - started:.3f}s)")
            started = done

    def _apply_request(self, req: Request) -> None:
        st = self.state
        if req.id:
            if req.id in st.applied_ids:
                return  # a proposal made twice: only its first copy takes effect
            st.applied_ids.add(req.id)
        result: Event | None = None
        err: EtcdError | None = None
        try:
            result = st.store.apply(req, time.time())
        except EtcdError as ex:
            err = ex
        if err is None and req.path.startswith("/0/"):
            st.membership.apply_cluster_key(req)
        if req.id:
            self._waiters.request_applied(req.id, result, err)

    def _apply_conf_change(self, e: Entry) -> None:
        cc = decode_conf_change(e.data)
        st = self._raw.status()
        known = set(st.voters) | set(st.learners)
        out = self.state.membership.apply_conf_change(cc, known.__contains__)
        now = time.time()
        for w in out.writes:
            # Membership's mirror under /0 in the store: its writes cannot fail in a way the
            # proposer could act on, and every member makes the same ones.
            with contextlib.suppress(EtcdError):
                self.state.store.apply(w, now)
        if out.peer is not None and out.peer[1] != self.member_id:
            op, pid, urls = out.peer
            if op is PeerOp.ADD:
                self._transport.add_peer(pid, urls)
            elif op is PeerOp.REMOVE:
                self._transport.remove_peer(pid)
            else:
                self._transport.update_peer(pid, urls)
        if out.error is None:
            self._raw.apply_conf_change(cc)
        self._waiters.conf_change_applied(cc.node_id, out.error)
        removed_self = cc.type is ConfChangeType.REMOVE_NODE and cc.node_id == self.member_id
        if removed_self and out.error is None:
            self._on_removed()

    # -------------------------------------------------------------------- snapshots
    def apply_snapshot(self, snap: Snapshot) -> None:
        """A snapshot from the leader replaces the state; peers follow its membership."""
        log.info(PKG, f"applying snapshot at index {snap.meta.index}")
        self.state.restore(snap)
        members = self.state.membership.members
        for pid in list(self._transport.peers()):
            if pid not in members:
                self._transport.remove_peer(pid)
        for m in members.values():
            if m.id != self.member_id:
                self._transport.add_peer(m.id, m.peer_urls)

    async def maybe_snapshot(self) -> None:
        """Every --snapshot-count entries: snapshot the state, then compact the log behind it
        (keeping some entries for followers a little behind)."""
        st = self.state
        if st.applied - st.snapshot_index < self._snapshot_count:
            return
        rs = self._raw.status()
        conf = ConfState(rs.voters, rs.learners)
        snap = self._mem.create_snapshot(st.applied, conf, st.snapshot_data())
        st.snapshot_index = st.applied
        await self._save_snapshot(snap)
        keep = min(SNAPSHOT_CATCHUP_ENTRIES, max(self._snapshot_count, 1))
        compact_to = st.applied - keep
        if compact_to > self._mem.first_index():
            self._mem.compact(compact_to)
        log.info(PKG, f"saved snapshot at index {snap.meta.index}")
