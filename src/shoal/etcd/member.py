"""The etcd member: drives `shoal.raft` over the WAL, the peer transport and the v2 store.

One asyncio loop owns everything. Inputs (ticks, peer messages, proposals, reads) are stepped
into the RawNode as they come and wake the Ready loop, which takes one Ready at a time and
handles it strictly in raft's order: persist (one WAL write + one fsync for the whole batch, in
a worker thread), then send, then apply. Proposals that arrive while a batch is being fsynced
ride in the next batch: that is the group commit. A client is answered only after its entry is
applied here, which is after a majority (this member included) had it on disk.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import gc
import heapq
import itertools
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack

from shoal.etcd import log
from shoal.etcd.flags import EtcdConfig
from shoal.etcd.ids import cluster_id as derive_cluster_id
from shoal.etcd.ids import hexid
from shoal.etcd.ids import member_id as derive_member_id
from shoal.etcd.membership import (
    VERSION_KEY,
    Membership,
    attributes_path,
    member_context,
    member_from_context,
    raft_attributes_path,
)
from shoal.etcd.server_iface import MemberInfo, MembershipError
from shoal.raft.codec import decode_conf_change, encode_conf_change
from shoal.raft.config import Config
from shoal.raft.core import LEADER
from shoal.raft.errors import ProposalDroppedError, RaftError
from shoal.raft.rawnode import RawNode, Ready
from shoal.raft.storage import MemoryStorage
from shoal.raft.types import (
    ConfChange,
    ConfChangeType,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
)
from shoal.store import EtcdError, Event, Request, Store
from shoal.store import request as rq
from shoal.transport import Transport
from shoal.wal.storage import DiskStorage

PKG = "etcdserver"
ETCD_VERSION = "3.4.23"
CLUSTER_VERSION = "3.4.0"
SNAPSHOT_CATCHUP_ENTRIES = 5000  # entries kept behind a snapshot for slow followers (etcd)
SYNC_INTERVAL = 0.5  # the leader expires TTL keys through the log this often (etcd)
RAFT_INTERNAL = 300
APPLIED_IDS_KEPT = 100_000
GC_THRESHOLDS = (50_000, 20, 100)  # gc.set_threshold for a member process (default 700, 10, 10)

ROLE_NAMES = {
    "leader": "StateLeader",
    "follower": "StateFollower",
    "candidate": "StateCandidate",
    "pre-candidate": "StatePreCandidate",
}


# What a leader may send before its own fsync of the same Ready (see _ready_loop).
_LEADER_EARLY = frozenset({MessageType.APP, MessageType.HEARTBEAT})


class _Retry:
    """What a request's waiter gets when its try timed out (see Member.do)."""


_RETRY = _Retry()


class MemberStopped(Exception):
    pass


@dataclass
class _Applied:
    """An applied-index waiter (for reads and conf changes)."""

    index: int
    fut: asyncio.Future[None]

    def __lt__(self, other: _Applied) -> bool:
        return self.index < other.index


class Member:
    """Implements `shoal.etcd.server_iface.ServerAPI`."""

    def __init__(self, cfg: EtcdConfig) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.client_urls = list(cfg.advertise_client_urls)
        self.store = Store()
        self.membership = Membership()
        self.member_id = 0
        self.cluster_id = 0
        self.disk = DiskStorage(
            cfg.data_dir,
            cfg.wal_dir or None,
            max_snapshots=cfg.max_snapshots,
            max_wals=cfg.max_wals,
        )
        self.mem = MemoryStorage()
        self.raw: RawNode | None = None
        self.transport: Transport | None = None
        self.start_time = time.time()
        self.leader_since = 0.0
        self.lead = 0
        self.role = "follower"
        self.snapshot_index = 0
        self.applied = 0
        self.stopped = asyncio.Event()
        self.stop_reason = ""
        self._wake = asyncio.Event()
        self._waits: dict[int, asyncio.Future[Event | _Retry | None]] = {}
        self._applied_waiters: list[_Applied] = []
        self._read_waiters: list[asyncio.Future[None]] = []
        self._read_pending: dict[bytes, list[asyncio.Future[None]]] = {}
        self._read_wanted = asyncio.Event()
        self._leader_changed = asyncio.Event()
        self._reset_ids()
        self._tasks: list[asyncio.Task[Any]] = []
        self._conf_waits: dict[int, asyncio.Future[None]] = {}
        self._prop_batch: list[bytes] = []
        # Ids of the last requests applied, to skip a proposal applied twice (deterministic:
        # the same on every member, and kept in snapshots).
        self._applied_ids: set[int] = set()
        self._applied_order: collections.deque[int] = collections.deque()
        self._prop_fut: asyncio.Future[None] | None = None
        self.recv_append = 0
        self.send_append = 0
        self.on_stop: Callable[[], None] | None = None
        # WAL writes and fsyncs run in order on one thread of their own, off the event loop.
        self._wal_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="wal")
        self._saved_hs: HardState | None = None  # the hard state last written to the WAL

    # ================================================================ start-up and shut-down
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        # The cyclic GC's default (a collection every 700 net container allocations, full
        # ones often) took 10-15% of a busy leader's CPU and grows with the key space (a full
        # collection walks every node). Requests allocate many short-lived objects but make
        # few reference cycles (reference counting frees the rest), so collect rarely:
        # measured under `shoal bench` put64, +20-35% ops/s and less CPU per request.
        gc.set_threshold(*GC_THRESHOLDS)
        if self.disk.exists():
            await loop.run_in_executor(None, self._restart_from_disk)
        elif self.cfg.initial_cluster_state == "existing":
            await self._join_existing()
        else:
            self._bootstrap_new()
        self.transport = Transport(
            self.member_id,
            self.cluster_id,
            self._on_message,
            self._on_unreachable,
            on_snapshot_status=self._on_snapshot_status,
            on_removed=self._on_removed,
            members=self._peer_members_json,
            version=self.version_json,
            dial_timeout=1.0 + self.cfg.election_ms / 1000.0,
        )
        for m in self.membership.members.values():
            if m.id != self.member_id:
                self.transport.add_peer(m.id, m.peer_urls)
        await self.transport.start(self.cfg.listen_peer_urls)
        log.info(
            PKG,
            f"starting member {hexid(self.member_id)} in cluster {hexid(self.cluster_id)}",
        )
        self._tasks = [
            asyncio.create_task(self._ticker(), name="ticker"),
            asyncio.create_task(self._ready_loop(), name="ready"),
            asyncio.create_task(self._read_loop(), name="reads"),
            asyncio.create_task(self._publish(), name="publish"),
            asyncio.create_task(self._sync_loop(), name="sync"),
        ]
        for t in self._tasks:
            t.add_done_callback(self._task_done)
        self._wake.set()

    def _task_done(self, t: asyncio.Task[Any]) -> None:
        if t.cancelled():
            return
        exc = t.exception()
        if exc is not None and not self.stopped.is_set():
            log.critical(PKG, f"{t.get_name()} failed: {exc!r}")
            self.request_stop(f"internal error in {t.get_name()}: {exc!r}")

    def request_stop(self, reason: str) -> None:
        if not self.stop_reason:
            self.stop_reason = reason
        self.stopped.set()

    async def hand_over_leadership(self) -> None:
        """On a clean stop, a leader first hands leadership to its most up-to-date connected
        voter (etcd 3.4 does the same), so the cluster need not wait out an election timeout."""
        raw, t = self.raw, self.transport
        if raw is None or t is None or self.role != LEADER or self.stopped.is_set():
            return
        candidates = [
            (p.match, i)
            for i, p in raw.raft.prs.items()
            if i != self.member_id and not p.is_learner and t.is_active(i)
        ]
        if not candidates:
            return
        to = max(candidates)[1]
        log.info(PKG, f"{hexid(self.member_id)} starts leadership transfer to {hexid(to)}")
        raw.transfer_leadership(to)
        self._wake.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.cfg.election_ms / 1000.0
        while self.lead in (self.member_id, 0) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        if self.lead not in (self.member_id, 0):
            log.info(PKG, f"leadership transferred to {hexid(self.lead)}")

    async def stop(self) -> None:
        self.stopped.set()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(BaseException):
                await t
        if self.transport is not None:
            await self.transport.stop()
        for fut in self._waits.values():
            if not fut.done():
                fut.set_exception(self._error("etcdserver: server stopped"))
        self.disk.close()
        self._wal_thread.shutdown(wait=False)

    def _reset_ids(self) -> None:
        """Request ids unique across members and restarts: the member id's low bits, then the
        start time in ms, then a counter (as etcd's idutil generator)."""
        start = ((self.member_id & 0xFFFF) << 48) | ((int(time.time() * 1000) & 0xFFFFFFFF) << 8)
        self._ids = itertools.count(start)

    def _metadata(self) -> bytes:
        return msgpack.packb([self.member_id, self.cluster_id])  # type: ignore[no-any-return]

    def _new_raw(self, applied: int) -> RawNode:
        election_tick = max(2, self.cfg.election_ms // self.cfg.heartbeat_ms)
        return RawNode(
            Config(
                id=self.member_id,
                storage=self.mem,
                election_tick=election_tick,
                heartbeat_tick=1,
                applied=applied,
                max_size_per_msg=1 << 20,
                max_inflight_msgs=4096 // 8,
                check_quorum=True,
                pre_vote=True,
                rng=random.Random(),
            )
        )

    def _bootstrap_new(self) -> None:
        cfg = self.cfg
        urls_by_name: dict[str, list[str]] = {}
        for n, u in cfg.initial_cluster:
            urls_by_name.setdefault(n, []).append(u)
        if cfg.name not in urls_by_name:
            raise StartError(
                f'couldn\'t find local name "{cfg.name}" in the initial cluster configuration'
            )
        mine = sorted(urls_by_name[cfg.name])
        if mine != sorted(cfg.advertise_peer_urls):
            raise StartError(
                f"--initial-cluster has {cfg.name}={','.join(mine)} but missing from "
                f"--initial-advertise-peer-urls={','.join(cfg.advertise_peer_urls)} "
                "(resolved urls differ)"
            )
        members = [
            MemberInfo(derive_member_id(urls, cfg.initial_cluster_token), "", sorted(urls))
            for urls in urls_by_name.values()
        ]
        seen: set[str] = set()
        for m in members:
            for u in m.peer_urls:
                if u in seen:
                    raise StartError(f"member count is unequal: duplicate peer URL {u}")
                seen.add(u)
        self.member_id = derive_member_id(mine, cfg.initial_cluster_token)
        self.cluster_id = derive_cluster_id([m.id for m in members])
        self._reset_ids()
        # Like etcd: the initial members are conf-change entries 1..n of term 1, committed.
        entries = []
        for i, m in enumerate(sorted(members, key=lambda m: m.id), start=1):
            cc = ConfChange(ConfChangeType.ADD_NODE, m.id, member_context(m))
            entries.append(Entry(1, i, EntryType.CONF_CHANGE, encode_conf_change(cc)))
        hs = HardState(1, 0, len(entries))
        self.disk.bootstrap(self._metadata())
        self.disk.save(hs, entries)
        self.mem.append(entries)
        self.mem.set_hard_state(hs)
        self.raw = self._new_raw(0)
        # Peers are needed before the bootstrap entries are applied: take them from the config.
        for m in members:
            self.membership.members.setdefault(m.id, m)

    def _restart_from_disk(self) -> None:
        st = self.disk.load()
        if self.disk.repair_note:
            log.warning("wal", self.disk.repair_note)
        self.member_id, self.cluster_id = msgpack.unpackb(st.metadata)
        self._reset_ids()
        applied = 0
        if st.snapshot is not None and not st.snapshot.is_empty():
            self._restore_snapshot_data(st.snapshot)
            self.mem.apply_snapshot(st.snapshot)
            applied = st.snapshot.meta.index
            self.snapshot_index = applied
        self.mem.append(st.entries)
        self.mem.set_hard_state(st.hard_state)
        self.applied = applied
        self.raw = self._new_raw(applied)
        # Peers known from the log are added as its conf changes are re-applied; until then
        # dial those in the snapshot plus the initial cluster (for a member that never snapped).
        if not self.membership.members:
            for e in st.entries:
                if e.type is EntryType.CONF_CHANGE:
                    cc = decode_conf_change(e.data)
                    if cc.context and cc.type is not ConfChangeType.REMOVE_NODE:
                        m = member_from_context(cc.context)
                        self.membership.members.setdefault(m.id, m)
        log.info(
            PKG,
            f"restarting member {hexid(self.member_id)} in cluster {hexid(self.cluster_id)} "
            f"at commit index {st.hard_state.commit}",
        )

    async def _join_existing(self) -> None:
        """--initial-cluster-state existing: learn the cluster from a peer's /members."""
        import aiohttp

        cfg = self.cfg
        peers = [u for n, u in cfg.initial_cluster if n != cfg.name]
        last_err = "no peer URLs in --initial-cluster other than this member's"
        mine = sorted(cfg.advertise_peer_urls)
        found: tuple[int, list[MemberInfo]] | None = None
        # Ask every peer, a few times: one that has not yet applied `member add` does not list
        # us, and one may be down.
        deadline = asyncio.get_running_loop().time() + 5.0
        async with aiohttp.ClientSession() as s:
            while found is None:
                for u in peers:
                    try:
                        async with s.get(
                            u.rstrip("/") + "/members", timeout=aiohttp.ClientTimeout(total=2)
                        ) as r:
                            body = await r.json(content_type=None)
                            cid = int(r.headers.get("X-Etcd-Cluster-Id", "0"), 16)
                    except (aiohttp.ClientError, TimeoutError, ValueError) as e:
                        last_err = f"{u}: {e}"
                        continue
                    ms = [
                        MemberInfo(
                            int(d["id"]),
                            d.get("name", ""),
                            list(d["peerURLs"]),
                            list(d.get("clientURLs") or []),
                        )
                        for d in body
                    ]
                    if any(sorted(m.peer_urls) == mine for m in ms):
                        found = (cid, ms)
                        break
                    last_err = (
                        f"member {cfg.name} with peer URLs {','.join(mine)} is not in the "
                        "cluster (add it first with `etcdctl member add`)"
                    )
                if found is None:
                    if asyncio.get_running_loop().time() > deadline:
                        raise StartError(f"error validating peerURLs: {last_err}")
                    await asyncio.sleep(0.2)
        self.cluster_id, ms = found
        for m in ms:
            self.membership.members[m.id] = m
            if sorted(m.peer_urls) == mine:
                self.member_id = m.id
        self._reset_ids()
        self.disk.bootstrap(self._metadata())
        self.raw = self._new_raw(0)

    # ================================================================ the raft loop
    def _on_message(self, m: Message) -> None:
        if self.raw is None:
            return
        with contextlib.suppress(RaftError):
            self.raw.step(m)
        if m.type is MessageType.APP:
            self.recv_append += 1
        self._wake.set()

    def _on_unreachable(self, peer: int) -> None:
        if self.raw is not None:
            self.raw.report_unreachable(peer)
            self._wake.set()

    def _on_snapshot_status(self, peer: int, ok: bool) -> None:
        if self.raw is not None:
            with contextlib.suppress(RaftError):
                self.raw.report_snapshot(peer, ok)
            self._wake.set()

    def _on_removed(self, peer: int) -> None:
        log.critical(PKG, "the member has been permanently removed from the cluster")
        self.request_stop("the member has been permanently removed from the cluster")

    async def _ticker(self) -> None:
        interval = self.cfg.heartbeat_ms / 1000.0
        loop = asyncio.get_running_loop()
        nxt = loop.time()
        while True:
            nxt += interval
            await asyncio.sleep(max(0.0, nxt - loop.time()))
            if loop.time() - nxt > 10 * interval:
                nxt = loop.time()  # we were paused (SIGSTOP): do not burst ticks
            assert self.raw is not None
            self.raw.tick()
            self._wake.set()

    async def _ready_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            raw = self.raw
            assert raw is not None
            while raw.has_ready():
                rd = raw.ready()
                if rd.soft_state is not None:
                    self._on_soft_state(rd)
                # 0. A leader replicates while it persists (Raft thesis 10.2.1): its appends
                # and heartbeats go out before its own fsync. That is safe because nothing
                # of this batch is applied (so no client is answered) before that fsync is
                # done below, and every later Ready comes after it. Everything else, and all
                # of a follower's messages (its acks promise the entries are on its disk),
                # waits for the fsync.
                later = rd.messages
                if later and self.role == LEADER and self.transport is not None:
                    early = [m for m in later if m.type in _LEADER_EARLY]
                    if early:
                        later = [m for m in later if m.type not in _LEADER_EARLY]
                        self._send(early)
                # 1. persist
                if rd.snapshot is not None:
                    await loop.run_in_executor(
                        self._wal_thread, self.disk.save_snapshot, rd.snapshot
                    )
                if rd.entries or (
                    rd.hard_state is not None and not self._only_commit_changed(rd.hard_state)
                ):
                    await loop.run_in_executor(
                        self._wal_thread, self.disk.save, rd.hard_state, rd.entries
                    )
                elif rd.hard_state is not None:
                    # Only the commit index moved: the WAL writes it without an fsync (as
                    # etcd's MustSync), so a few bytes written here beat a thread round trip.
                    self.disk.save(rd.hard_state, ())
                if rd.hard_state is not None:
                    self._saved_hs = rd.hard_state
                if rd.snapshot is not None:
                    self.mem.apply_snapshot(rd.snapshot)
                self.mem.append(rd.entries)
                if rd.hard_state is not None:
                    self.mem.set_hard_state(rd.hard_state)
                # 2. send
                if later and self.transport is not None:
                    self._send(later)
                # 3. apply
                if rd.snapshot is not None:
                    self._install_snapshot(rd.snapshot)
                for e in rd.committed_entries:
                    self._apply_entry(e)
                for rs in rd.read_states:
                    waiters = self._read_pending.pop(rs.request_ctx, None)
                    if waiters:
                        self._when_applied(rs.index, waiters)
                raw.advance(rd)
                self._wake_applied()
                await self._maybe_snapshot()
                if self.stopped.is_set():
                    return

    def _send(self, msgs: list[Message]) -> None:
        assert self.transport is not None
        self.send_append += sum(1 for m in msgs if m.type is MessageType.APP)
        self.transport.send(msgs)

    def _only_commit_changed(self, hs: HardState) -> bool:
        old = self._saved_hs
        return old is not None and hs.term == old.term and hs.vote == old.vote

    def _on_soft_state(self, rd: Ready) -> None:
        assert rd.soft_state is not None
        lead, role = rd.soft_state.lead, rd.soft_state.role
        if lead != self.lead:
            if lead:
                log.info("raft", f"{hexid(self.member_id)} elected leader {hexid(lead)}")
            else:
                log.info("raft", f"{hexid(self.member_id)} lost leader {hexid(self.lead)}")
            self.leader_since = time.time()
            self._leader_changed.set()
            self._leader_changed = asyncio.Event()
        if role == LEADER and self.role != LEADER and not self.membership.cluster_version:
            asyncio.get_running_loop().call_soon(self._propose_version)
        self.lead, self.role = lead, role

    # ================================================================ applying
    def _apply_entry(self, e: Entry) -> None:
        self.applied = e.index
        if e.type is EntryType.CONF_CHANGE:
            self._apply_conf_change(e)
            return
        if not e.data:
            return  # a leader's no-op
        req = Request.decode(e.data)
        if req.id:
            if req.id in self._applied_ids:
                return  # a proposal made twice: only its first copy takes effect
            self._remember_applied(req.id)
        now = time.time()
        result: Event | None = None
        err: EtcdError | None = None
        try:
            result = self.store.apply(req, now)
        except EtcdError as ex:
            err = ex
        if err is None and req.path.startswith("/0/"):
            self._apply_cluster_key(req)
        fut = self._waits.pop(req.id, None) if req.id else None
        if fut is not None and not fut.done():
            if err is not None:
                fut.set_exception(err)
            else:
                fut.set_result(result)

    def _remember_applied(self, rid: int) -> None:
        self._applied_ids.add(rid)
        self._applied_order.append(rid)
        if len(self._applied_order) > APPLIED_IDS_KEPT:
            self._applied_ids.discard(self._applied_order.popleft())

    def _apply_cluster_key(self, req: Request) -> None:
        parts = req.path.split("/")
        if req.path == VERSION_KEY:
            self.membership.cluster_version = req.value
        elif len(parts) == 5 and parts[2] == "members" and parts[4] == "attributes":
            mid = int(parts[3], 16)
            m = self.membership.members.get(mid)
            if m is not None:
                d = json.loads(req.value)
                m.name = d.get("name", "")
                m.client_urls = list(d.get("clientURLs") or [])

    def _apply_conf_change(self, e: Entry) -> None:
        assert self.raw is not None
        cc = decode_conf_change(e.data)
        ms = self.membership
        now = time.time()
        err: MembershipError | None = None
        if cc.node_id in ms.removed:
            err = MembershipError(410, f"Member permanently removed: {hexid(cc.node_id)}")
        elif cc.type in (ConfChangeType.ADD_NODE, ConfChangeType.ADD_LEARNER):
            m = member_from_context(cc.context)
            existing = ms.members.get(m.id)
            if existing is not None and existing.is_learner and not m.is_learner:
                existing.is_learner = False
            elif existing is not None and self.raw.raft.prs.get(m.id) is not None:
                err = MembershipError(409, "membership: ID exists")
            else:
                if existing is not None:  # known from the configuration before this applied
                    m.name, m.client_urls = existing.name, existing.client_urls
                ms.members[m.id] = m
            self._store_write(
                Request(
                    rq.PUT,
                    raft_attributes_path(m.id),
                    value=json.dumps({"peerURLs": m.peer_urls}, separators=(",", ":")),
                ),
                now,
            )
            if m.id != self.member_id and self.transport is not None:
                self.transport.add_peer(m.id, m.peer_urls)
        elif cc.type is ConfChangeType.REMOVE_NODE:
            if cc.node_id not in ms.members:
                err = MembershipError(404, f"No such member: {hexid(cc.node_id)}")
            else:
                del ms.members[cc.node_id]
                ms.removed.add(cc.node_id)
                self._store_write(
                    Request(rq.DELETE, f"/0/members/{cc.node_id:x}", dir=True, recursive=True),
                    now,
                )
                self._store_write(
                    Request(rq.PUT, f"/0/removed_members/{cc.node_id:x}", value="removed"), now
                )
                if self.transport is not None and cc.node_id != self.member_id:
                    self.transport.remove_peer(cc.node_id)
        elif cc.type is ConfChangeType.UPDATE_NODE:
            m = member_from_context(cc.context)
            cur = ms.members.get(m.id)
            if cur is None:
                err = MembershipError(404, f"No such member: {hexid(m.id)}")
            else:
                cur.peer_urls = m.peer_urls
                self._store_write(
                    Request(
                        rq.PUT,
                        raft_attributes_path(m.id),
                        value=json.dumps({"peerURLs": m.peer_urls}, separators=(",", ":")),
                    ),
                    now,
                )
                if self.transport is not None and m.id != self.member_id:
                    self.transport.update_peer(m.id, m.peer_urls)
        if err is None:
            self.raw.apply_conf_change(cc)
        fut = self._conf_waits.pop(e.index, None)
        if fut is None:
            fut = self._conf_waits.pop(-cc.node_id, None)
        if fut is not None and not fut.done():
            if err is not None:
                fut.set_exception(err)
            else:
                fut.set_result(None)
        if cc.type is ConfChangeType.REMOVE_NODE and cc.node_id == self.member_id and not err:
            log.critical(PKG, "the member has been permanently removed from the cluster")
            self.request_stop("the member has been permanently removed from the cluster")

    def _store_write(self, req: Request, now: float) -> None:
        with contextlib.suppress(EtcdError):
            self.store.apply(req, now)

    # ================================================================ snapshots
    def _snapshot_data(self) -> bytes:
        return msgpack.packb(  # type: ignore[no-any-return]
            [self.store.save(), self.membership.encode(), list(self._applied_order)]
        )

    def _restore_snapshot_data(self, snap: Snapshot) -> None:
        store_data, members, applied_ids = msgpack.unpackb(snap.data)
        self.store.restore(store_data)
        self.membership = Membership.decode(members)
        self._applied_order = collections.deque(applied_ids)
        self._applied_ids = set(applied_ids)

    def _install_snapshot(self, snap: Snapshot) -> None:
        log.info(PKG, f"applying snapshot at index {snap.meta.index}")
        self._restore_snapshot_data(snap)
        self.applied = snap.meta.index
        self.snapshot_index = snap.meta.index
        if self.transport is not None:
            for pid in list(self.transport.peers()):
                if pid not in self.membership.members:
                    self.transport.remove_peer(pid)
            for m in self.membership.members.values():
                if m.id != self.member_id:
                    self.transport.add_peer(m.id, m.peer_urls)

    async def _maybe_snapshot(self) -> None:
        if self.applied - self.snapshot_index < self.cfg.snapshot_count:
            return
        assert self.raw is not None
        conf = self.raw.raft.conf_state()
        snap = self.mem.create_snapshot(self.applied, conf, self._snapshot_data())
        self.snapshot_index = self.applied
        await asyncio.get_running_loop().run_in_executor(
            self._wal_thread, self.disk.save_snapshot, snap
        )
        keep = min(SNAPSHOT_CATCHUP_ENTRIES, max(self.cfg.snapshot_count, 1))
        compact_to = self.applied - keep
        if compact_to > self.mem.first_index():
            self.mem.compact(compact_to)
        log.info(PKG, f"saved snapshot at index {snap.meta.index}")

    # ================================================================ proposals
    def _error(self, cause: str) -> EtcdError:
        return EtcdError(RAFT_INTERNAL, cause, self.store.index)

    async def _propose(self, data: bytes, deadline: float) -> None:
        """Hand `data` to raft; while there is no leader, wait for one (as etcd blocks).
        Proposals made in the same loop turn go to raft as one batch (one append, one round
        of replication)."""
        loop = asyncio.get_running_loop()
        while True:
            if self.stopped.is_set():
                raise self._error("etcdserver: server stopped")
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
                raise self._error("etcdserver: request timed out")
            changed = self._leader_changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(left, self.cfg.heartbeat_ms / 1000))

    def _flush_proposals(self) -> None:
        batch, fut = self._prop_batch, self._prop_fut
        self._prop_batch, self._prop_fut = [], None
        if fut is None or fut.done():
            return
        assert self.raw is not None
        try:
            self.raw.propose_many(batch)
        except ProposalDroppedError as e:
            fut.set_exception(e)
            fut.exception()  # retrieved: waiters that went away must not warn
            return
        fut.set_result(None)
        self._wake.set()

    async def do(self, req: Request) -> Event:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.cfg.request_timeout
        if req.method in (rq.QGET,) or (req.method == rq.GET and req.quorum):
            await self._read_barrier(deadline)
            return self.store.get(req.path, req.recursive, req.sorted, now=time.time())
        rid = req.id = next(self._ids)
        data = req.encode()
        fut: asyncio.Future[Event | _Retry | None] = loop.create_future()
        self._waits[rid] = fut
        # A proposal can be lost on its way (forwarded to a leader that just lost office, or
        # over a link still reconnecting). Propose it again after a while: entries carry the
        # request's id and a second copy is skipped when applied (see _apply_entry). A timer
        # per try (not wait_for + shield, which cost a task's worth of loop work per request)
        # hands the waiter _RETRY through a future that is swapped at the same instant.
        retry = max(1.0, 2 * self.cfg.election_ms / 1000.0)
        try:
            while True:
                await self._propose(data, deadline)
                left = deadline - loop.time()
                if left <= 0:
                    raise self._error("etcdserver: request timed out")
                timer = loop.call_later(min(left, retry), self._retry_wait, rid)
                try:
                    ev = await fut
                finally:
                    timer.cancel()
                if not isinstance(ev, _Retry):
                    break
                if loop.time() >= deadline:
                    raise self._error("etcdserver: request timed out")
                fut = self._waits[rid]
        finally:
            self._waits.pop(rid, None)
        assert ev is not None
        return ev

    def _retry_wait(self, rid: int) -> None:
        """A request's try timed out: wake its waiter with _RETRY and leave a fresh future in
        its place, so an apply from now on answers the next try."""
        old = self._waits.get(rid)
        if old is None or old.done():
            return
        self._waits[rid] = asyncio.get_running_loop().create_future()
        old.set_result(_RETRY)

    # ================================================================ linearizable reads
    async def linearizable_read(self) -> None:
        loop = asyncio.get_running_loop()
        await self._read_barrier(loop.time() + self.cfg.request_timeout)

    async def _read_barrier(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._read_waiters.append(fut)
        self._read_wanted.set()
        try:
            await asyncio.wait_for(asyncio.shield(fut), max(deadline - loop.time(), 0.001))
        except TimeoutError:
            raise self._error("etcdserver: request timed out") from None

    async def _read_loop(self) -> None:
        """Batches every waiting read into one ReadIndex request (etcd's linearizableReadLoop)."""
        retry = max(0.5, 2 * self.cfg.heartbeat_ms / 1000)
        while True:
            await self._read_wanted.wait()
            self._read_wanted.clear()
            batch = [f for f in self._read_waiters if not f.done()]
            self._read_waiters = []
            if not batch:
                continue
            ctx = next(self._ids).to_bytes(8, "big")
            while not all(f.done() for f in batch):
                assert self.raw is not None
                self._read_pending[ctx] = batch
                with contextlib.suppress(ProposalDroppedError):
                    self.raw.read_index(ctx)
                    self._wake.set()
                done, _ = await asyncio.wait(
                    [asyncio.ensure_future(asyncio.gather(*batch, return_exceptions=True))],
                    timeout=retry,
                )
                if done:
                    break
                # No answer (no leader, lost message): ask again under a new context.
                self._read_pending.pop(ctx, None)
                ctx = next(self._ids).to_bytes(8, "big")

    def _when_applied(self, index: int, waiters: list[asyncio.Future[None]]) -> None:
        for f in waiters:
            heapq.heappush(self._applied_waiters, _Applied(index, f))
        self._wake_applied()

    def _wake_applied(self) -> None:
        h = self._applied_waiters
        while h and h[0].index <= self.applied:
            w = heapq.heappop(h)
            if not w.fut.done():
                w.fut.set_result(None)

    # ================================================================ background proposals
    async def _publish(self) -> None:
        """Publish this member's name and client URLs through the log (etcd's publish)."""
        attrs = json.dumps(
            {"name": self.name, "clientURLs": self.client_urls}, separators=(",", ":")
        )
        while not self.stopped.is_set():
            m = self.membership.members.get(self.member_id)
            if m is not None and m.name == self.name and m.client_urls == self.client_urls:
                log.info(
                    PKG,
                    f"published {{Name:{self.name} ClientURLs:{self.client_urls}}} to cluster "
                    f"{hexid(self.cluster_id)}",
                )
                return
            try:
                await self.do(Request(rq.PUT, attributes_path(self.member_id), value=attrs))
            except EtcdError as e:
                log.warning(PKG, f"failed to publish local member to cluster through raft ({e})")
                await asyncio.sleep(0.5)

    def _propose_version(self) -> None:
        if self.membership.cluster_version or self.raw is None:
            return
        req = Request(rq.PUT, VERSION_KEY, value=CLUSTER_VERSION, id=0)
        with contextlib.suppress(ProposalDroppedError):
            self.raw.propose(req.encode())
            self._wake.set()

    async def _sync_loop(self) -> None:
        """The leader expires TTL keys by proposing its clock (etcd's SYNC every 500 ms)."""
        while True:
            await asyncio.sleep(SYNC_INTERVAL)
            if self.role != LEADER or self.raw is None or not self.store.has_ttl_keys():
                continue
            with contextlib.suppress(ProposalDroppedError):
                self.raw.propose(Request.sync(time.time()).encode())
                self._wake.set()

    # ================================================================ ServerAPI
    def leader_id(self) -> int:
        return self.lead

    def raft_index(self) -> int:
        return self.raw.raft.log.committed if self.raw is not None else 0

    def raft_term(self) -> int:
        return self.raw.raft.term if self.raw is not None else 0

    def members(self) -> list[MemberInfo]:
        return self.membership.sorted_members()

    def is_removed(self, member_id: int) -> bool:
        return member_id in self.membership.removed

    def _peer_members_json(self) -> list[dict[str, Any]]:
        return [
            {"id": m.id, "name": m.name, "peerURLs": m.peer_urls, "clientURLs": m.client_urls}
            for m in self.members()
        ]

    def version_json(self) -> dict[str, str]:
        return {
            "etcdserver": ETCD_VERSION,
            "etcdcluster": self.membership.cluster_version or "not_decided",
        }

    def _started_active(self) -> int:
        """Members we are connected to (and ourselves): what --strict-reconfig-check counts."""
        t = self.transport
        n = 0
        for m in self.membership.members.values():
            if m.is_learner:
                continue
            if m.id == self.member_id or (t is not None and t.is_active(m.id)):
                n += 1
        return n

    async def _conf_change(self, cc: ConfChange) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.cfg.request_timeout
        fut: asyncio.Future[None] = loop.create_future()
        self._conf_waits[-cc.node_id] = fut
        try:
            while True:
                assert self.raw is not None
                try:
                    self.raw.propose_conf_change(cc)
                    self._wake.set()
                    break
                except ProposalDroppedError as e:
                    if "membership change" in str(e):
                        raise MembershipError(500, f"etcdserver: {e}") from None
                    if loop.time() >= deadline:
                        raise self._error("etcdserver: request timed out") from None
                    await asyncio.sleep(self.cfg.heartbeat_ms / 1000)
            try:
                await asyncio.wait_for(asyncio.shield(fut), max(deadline - loop.time(), 0.001))
            except TimeoutError:
                raise self._error("etcdserver: request timed out") from None
        finally:
            self._conf_waits.pop(-cc.node_id, None)

    async def add_member(self, peer_urls: list[str], is_learner: bool = False) -> MemberInfo:
        for u in peer_urls:
            if self.membership.peer_url_owner(u) is not None:
                raise MembershipError(409, "membership: peerURL exists")
        voters = sum(1 for m in self.membership.members.values() if not m.is_learner)
        # --strict-reconfig-check: the new member counts as not started; the members that are
        # must still make a quorum of the grown cluster (etcd's isReadyToAddVotingMember).
        quorum_after = (voters + 1) // 2 + 1
        if (
            self.cfg.strict_reconfig_check
            and not is_learner
            and (self._started_active() < quorum_after)
        ):
            raise MembershipError(500, "etcdserver: unhealthy cluster")
        mid = derive_member_id(sorted(peer_urls), self.cfg.initial_cluster_token, int(time.time()))
        if mid in self.membership.members:
            raise MembershipError(409, "membership: ID exists")
        m = MemberInfo(mid, "", sorted(peer_urls), [], is_learner)
        kind = ConfChangeType.ADD_LEARNER if is_learner else ConfChangeType.ADD_NODE
        await self._conf_change(ConfChange(kind, mid, member_context(m)))
        return self.membership.members.get(mid, m)

    async def remove_member(self, member_id: int) -> None:
        if member_id in self.membership.removed:
            raise MembershipError(410, f"Member permanently removed: {hexid(member_id)}")
        if member_id not in self.membership.members:
            raise MembershipError(404, f"No such member: {hexid(member_id)}")
        if self.cfg.strict_reconfig_check:
            voters = [m for m in self.membership.members.values() if not m.is_learner]
            active = self._started_active()
            target = self.membership.members[member_id]
            t = self.transport
            is_active = member_id == self.member_id or (t is not None and t.is_active(member_id))
            after = active - (1 if is_active and not target.is_learner else 0)
            if after < (len(voters) - 1) // 2 + 1:
                raise MembershipError(
                    500,
                    "etcdserver: re-configuration failed due to not enough started members",
                )
        await self._conf_change(ConfChange(ConfChangeType.REMOVE_NODE, member_id))

    async def update_member(self, member_id: int, peer_urls: list[str]) -> None:
        cur = self.membership.members.get(member_id)
        if cur is None:
            if member_id in self.membership.removed:
                raise MembershipError(410, f"Member permanently removed: {hexid(member_id)}")
            raise MembershipError(404, f"No such member: {hexid(member_id)}")
        for u in peer_urls:
            owner = self.membership.peer_url_owner(u)
            if owner is not None and owner != member_id:
                raise MembershipError(409, "membership: peerURL exists")
        m = MemberInfo(member_id, cur.name, sorted(peer_urls), cur.client_urls, cur.is_learner)
        cc = ConfChange(ConfChangeType.UPDATE_NODE, member_id, member_context(m))
        await self._conf_change(cc)

    def self_stats(self) -> dict[str, Any]:
        now = time.time()
        d: dict[str, Any] = {
            "name": self.name,
            "id": hexid(self.member_id),
            "state": ROLE_NAMES.get(self.role, "StateFollower"),
            "startTime": _rfc3339(self.start_time),
            "leaderInfo": {
                "leader": hexid(self.lead) if self.lead else "",
                "uptime": _go_duration(now - self.leader_since) if self.lead else "",
                "startTime": _rfc3339(self.leader_since) if self.lead else "",
            },
            "recvAppendRequestCnt": self.recv_append,
            "sendAppendRequestCnt": self.send_append,
        }
        return d

    def leader_stats(self) -> dict[str, Any] | None:
        if self.role != LEADER or self.transport is None:
            return None
        followers: dict[str, Any] = {}
        stats = self.transport.stats()
        for m in self.members():
            if m.id == self.member_id:
                continue
            ps = stats.get(m.id)
            lat: dict[str, float] = {
                "current": 0.0,
                "average": 0.0,
                "standardDeviation": 0.0,
                "minimum": 0.0,
                "maximum": 0.0,
            }
            fail = success = 0
            if ps is not None:
                lat = ps.latency_json() if hasattr(ps, "latency_json") else lat
                success = getattr(ps, "messages_sent", 0)
                fail = getattr(ps, "messages_failed", 0)
            followers[hexid(m.id)] = {
                "latency": lat,
                "counts": {"fail": fail, "success": success},
            }
        return {"leader": hexid(self.member_id), "followers": followers}

    async def health(self) -> bool:
        if not self.lead:
            return False
        loop = asyncio.get_running_loop()
        try:
            await self._read_barrier(loop.time() + 1.0)
        except EtcdError:
            return False
        return True


class StartError(Exception):
    """A configuration the member cannot start with; the message is etcd's where it has one."""


def _rfc3339(t: float) -> str:
    lt = time.localtime(t)
    off = lt.tm_gmtoff or 0
    sign = "+" if off >= 0 else "-"
    off = abs(off)
    frac = f"{t % 1:.9f}"[1:].rstrip("0").rstrip(".")
    tz = "Z" if lt.tm_gmtoff == 0 else f"{sign}{off // 3600:02d}:{off % 3600 // 60:02d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", lt) + frac + tz


def _go_duration(s: float) -> str:
    """Go's time.Duration.String for a positive duration, e.g. 1h2m3.5s, 250ms."""
    if s < 1:
        return f"{s * 1000:.6f}".rstrip("0").rstrip(".") + "ms"
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    out = ""
    if h:
        out += f"{int(h)}h"
    if h or m:
        out += f"{int(m)}m"
    return out + f"{sec:.9f}".rstrip("0").rstrip(".") + "s"


def data_dir_exists(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "member"))
