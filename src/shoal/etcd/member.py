"""The etcd member: the server the v2 HTTP layer talks to (`server_iface.ServerAPI`).

After etcd's `server/etcdserver/server.go` (EtcdServer). It is put together from parts that
each do one thing, and owns none of their logic:

- `bootstrap`  builds the parts from the config and the data dir (`Member.open`);
- `raftnode`   ticks raft and runs the Ready loop (persist, send, hand over to apply);
- `apply`      applies committed entries and snapshots to the store and the membership;
- `requests`   proposes (batched, retried) and waits; linearizable reads;
- this module  starts and stops them, publishes this member, keeps the cluster version and
               TTL expiry going, and checks membership changes before proposing them.

One asyncio loop runs it all. A client is answered only after its entry is applied here,
which is after a majority (this member included) had it on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
from typing import Any

from shoal.etcd import log
from shoal.etcd.apply import Applier
from shoal.etcd.bootstrap import Booted, StartError, bootstrap
from shoal.etcd.flags import EtcdConfig
from shoal.etcd.ids import hexid
from shoal.etcd.ids import member_id as derive_member_id
from shoal.etcd.membership import VERSION_KEY, Membership, attributes_path, member_context
from shoal.etcd.metrics import MemberMetrics
from shoal.etcd.raftnode import RaftNode
from shoal.etcd.requests import Requests
from shoal.etcd.server_iface import (
    FollowerStats,
    Latency,
    LeaderStats,
    MemberInfo,
    MembershipError,
    SelfStats,
)
from shoal.gocompat.fmt import sprint_list
from shoal.raft.errors import ProposalDroppedError
from shoal.raft.storage import MemoryStorage
from shoal.raft.types import ConfChange, ConfChangeType, Entry, ReadState, Snapshot, StateType
from shoal.store import EtcdError, Event, Request
from shoal.store import request as rq

__all__ = ["ETCD_VERSION", "Member", "StartError"]

PKG = "etcdserver"
ETCD_VERSION = "3.4.23"
CLUSTER_VERSION = "3.4.0"
SYNC_INTERVAL = 0.5  # the leader expires TTL keys through the log this often (etcd)
GC_THRESHOLDS = (50_000, 20, 100)  # gc.set_threshold for a member process (default 700, 10, 10)
REMOVED = "the member has been permanently removed from the cluster"


class Member:
    """Implements `shoal.etcd.server_iface.ServerAPI`. Build one with `await Member.open(cfg)`,
    then `await start()`."""

    @classmethod
    async def open(cls, cfg: EtcdConfig) -> Member:
        """Bootstrap (new, restart, or join) and build the member; raises StartError."""
        return cls(cfg, await bootstrap(cfg))

    def __init__(self, cfg: EtcdConfig, boot: Booted) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.client_urls = list(cfg.advertise_client_urls)
        self.member_id = boot.member_id
        self.cluster_id = boot.cluster_id
        self.state = boot.state
        self.store = boot.state.store  # restored in place by snapshots: safe to hold
        self.start_time = time.time()
        self.stopped = asyncio.Event()
        self.stop_reason = ""
        self.exit_code = 0  # what `shoal etcd` exits with once stopped
        self.node = RaftNode(
            member_id=boot.member_id,
            cluster_id=boot.cluster_id,
            raw=boot.raw,
            mem=boot.mem,
            disk=boot.disk,
            hard_state=boot.hard_state,
            heartbeat_ms=cfg.heartbeat_ms,
            election_ms=cfg.election_ms,
            handler=self,
            stopped=self.stopped,
            on_removed=lambda peer: self._removed(),
            members_json=self._peer_members_json,
            version_json=self.version_json,
            peer_tls=cfg.peer_tls,
        )
        self.requests = Requests(
            self.node,
            self.store,
            lambda: self.state.applied,
            self.stopped,
            member_id=boot.member_id,
            request_timeout=cfg.request_timeout,
            heartbeat_ms=cfg.heartbeat_ms,
            election_ms=cfg.election_ms,
        )
        self.applier = Applier(
            self.state,
            boot.member_id,
            boot.raw,
            boot.mem,
            self.node.transport,
            self.node.save_snapshot,
            self.requests,
            self._removed,
            cfg.snapshot_count,
        )
        self._tasks: list[asyncio.Task[Any]] = []
        self.metrics = MemberMetrics()
        """This member's own Prometheus registry (served at /metrics)."""
        self.metrics.bind(self)

    # What tests and tools read of a running member.
    @property
    def membership(self) -> Membership:
        return self.state.membership  # replaced by a snapshot's: never hold it

    @property
    def role(self) -> StateType:
        return self.node.role

    @property
    def lead(self) -> int:
        return self.node.lead

    @property
    def applied(self) -> int:
        return self.state.applied

    @property
    def snapshot_index(self) -> int:
        return self.state.snapshot_index

    @property
    def mem(self) -> MemoryStorage:
        return self.node.mem

    # ================================================================ start-up and shut-down
    async def start(self) -> None:
        # The cyclic GC's default (a collection every 700 net container allocations, full
        # ones often) took 10-15% of a busy leader's CPU and grows with the key space (a full
        # collection walks every node). Requests allocate many short-lived objects but make
        # few reference cycles (reference counting frees the rest), so collect rarely:
        # measured under `shoal bench` put64, +20-35% ops/s and less CPU per request.
        gc.set_threshold(*GC_THRESHOLDS)
        transport = self.node.transport
        for m in self.membership.members.values():
            if m.id != self.member_id:
                transport.add_peer(m.id, m.peer_urls)
        await transport.start(self.cfg.listen_peer_urls)
        log.info(
            PKG,
            f"starting member {hexid(self.member_id)} in cluster {hexid(self.cluster_id)}",
        )
        self._tasks = [
            asyncio.create_task(self.node.run_ticker(), name="ticker"),
            asyncio.create_task(self.node.run_ready(), name="ready"),
            asyncio.create_task(self.requests.run_reads(), name="reads"),
            asyncio.create_task(self._publish(), name="publish"),
            asyncio.create_task(self._sync_loop(), name="sync"),
        ]
        for t in self._tasks:
            t.add_done_callback(self._task_done)
        self.node.wake()

    def _task_done(self, t: asyncio.Task[Any]) -> None:
        if t.cancelled():
            return
        exc = t.exception()
        if exc is not None and not self.stopped.is_set():
            what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            log.critical(PKG, f"{t.get_name()} failed: {what}")
            self.request_stop(f"internal error in {t.get_name()}: {what}", failed=True)

    def request_stop(self, reason: str, *, failed: bool = False) -> None:
        """Stop serving; `failed` makes the process exit 1 (removed, or an internal error)."""
        if not self.stop_reason:
            self.stop_reason = reason
        if failed:
            self.exit_code = 1
        self.stopped.set()

    def _removed(self) -> None:
        log.critical(PKG, REMOVED)
        self.request_stop(REMOVED, failed=True)

    async def hand_over_leadership(self) -> None:
        """On a clean stop, a leader first hands leadership to its most up-to-date connected
        voter (etcd 3.4 does the same), so the cluster need not wait out an election timeout."""
        if self.role is not StateType.LEADER or self.stopped.is_set():
            return
        t = self.node.transport
        candidates = [
            (p.match, i)
            for i, p in self.node.status().peers.items()
            if i != self.member_id and not p.is_learner and t.is_active(i)
        ]
        if not candidates:
            return
        to = max(candidates)[1]
        log.info(PKG, f"{hexid(self.member_id)} starts leadership transfer to {hexid(to)}")
        self.node.transfer_leadership(to)
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
        await self.node.stop()
        self.requests.fail_all()

    # ================================================================ the Ready hand-off
    def became_leader(self) -> None:
        if not self.membership.cluster_version:
            asyncio.get_running_loop().call_soon(self._propose_version)

    def apply_snapshot(self, snap: Snapshot) -> None:
        self.applier.apply_snapshot(snap)

    def apply_entries(self, entries: list[Entry]) -> None:
        self.applier.apply_entries(entries)

    def read_states(self, states: list[ReadState]) -> None:
        self.requests.read_states(states)

    async def after_apply(self) -> None:
        self.requests.wake_applied()
        await self.applier.maybe_snapshot()

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
                    f"published {{Name:{self.name} ClientURLs:{sprint_list(self.client_urls)}}} "
                    f"to cluster {hexid(self.cluster_id)}",
                )
                return
            try:
                await self.do(Request(rq.PUT, attributes_path(self.member_id), value=attrs))
            except EtcdError as e:
                log.warning(PKG, f"failed to publish local member to cluster through raft ({e})")
                await asyncio.sleep(0.5)

    def _propose_version(self) -> None:
        if self.membership.cluster_version:
            return
        req = Request(rq.PUT, VERSION_KEY, value=CLUSTER_VERSION, id=0)
        with contextlib.suppress(ProposalDroppedError):
            self.node.propose(req.encode())

    async def _sync_loop(self) -> None:
        """The leader expires TTL keys by proposing its clock (etcd's SYNC every 500 ms)."""
        while True:
            await asyncio.sleep(SYNC_INTERVAL)
            if self.role is not StateType.LEADER or not self.store.has_ttl_keys():
                continue
            with contextlib.suppress(ProposalDroppedError):
                self.node.propose(Request.sync(time.time()).encode())

    # ================================================================ ServerAPI
    def leader_id(self) -> int:
        return self.lead

    def raft_index(self) -> int:
        return self.node.committed

    def raft_term(self) -> int:
        return self.node.term

    async def do(self, req: Request) -> Event:
        return await self.requests.do(req)

    async def linearizable_read(self) -> None:
        await self.requests.linearizable_read()

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

    def _is_started(self, member_id: int) -> bool:
        return member_id == self.member_id or self.node.transport.is_active(member_id)

    def _started_voters(self) -> int:
        """Voters we are connected to (and ourselves): what --strict-reconfig-check counts."""
        ms = self.membership.members.values()
        return sum(1 for m in ms if not m.is_learner and self._is_started(m.id))

    async def add_member(self, peer_urls: list[str], is_learner: bool = False) -> MemberInfo:
        ms = self.membership
        for u in peer_urls:
            if ms.peer_url_owner(u) is not None:
                raise MembershipError(409, "membership: peerURL exists")
        voters = sum(1 for m in ms.members.values() if not m.is_learner)
        # --strict-reconfig-check: the new member counts as not started; the members that are
        # must still make a quorum of the grown cluster (etcd's isReadyToAddVotingMember).
        quorum_after = (voters + 1) // 2 + 1
        if (
            self.cfg.strict_reconfig_check
            and not is_learner
            and self._started_voters() < quorum_after
        ):
            raise MembershipError(500, "etcdserver: unhealthy cluster")
        mid = derive_member_id(sorted(peer_urls), self.cfg.initial_cluster_token, int(time.time()))
        if mid in ms.members:
            raise MembershipError(409, "membership: ID exists")
        m = MemberInfo(mid, "", sorted(peer_urls), [], is_learner)
        kind = ConfChangeType.ADD_LEARNER if is_learner else ConfChangeType.ADD_NODE
        await self.requests.conf_change(ConfChange(kind, mid, member_context(m)))
        return self.membership.members.get(mid, m)

    async def remove_member(self, member_id: int) -> None:
        ms = self.membership
        if member_id in ms.removed:
            raise MembershipError(410, f"Member permanently removed: {hexid(member_id)}")
        if member_id not in ms.members:
            raise MembershipError(404, f"No such member: {hexid(member_id)}")
        if self.cfg.strict_reconfig_check:
            voters = [m for m in ms.members.values() if not m.is_learner]
            target = ms.members[member_id]
            after = self._started_voters()
            if self._is_started(member_id) and not target.is_learner:
                after -= 1
            if after < (len(voters) - 1) // 2 + 1:
                raise MembershipError(
                    500,
                    "etcdserver: re-configuration failed due to not enough started members",
                )
        await self.requests.conf_change(ConfChange(ConfChangeType.REMOVE_NODE, member_id))

    async def update_member(self, member_id: int, peer_urls: list[str]) -> None:
        ms = self.membership
        cur = ms.members.get(member_id)
        if cur is None:
            if member_id in ms.removed:
                raise MembershipError(410, f"Member permanently removed: {hexid(member_id)}")
            raise MembershipError(404, f"No such member: {hexid(member_id)}")
        for u in peer_urls:
            owner = ms.peer_url_owner(u)
            if owner is not None and owner != member_id:
                raise MembershipError(409, "membership: peerURL exists")
        m = MemberInfo(member_id, cur.name, sorted(peer_urls), cur.client_urls, cur.is_learner)
        cc = ConfChange(ConfChangeType.UPDATE_NODE, member_id, member_context(m))
        await self.requests.conf_change(cc)

    def self_stats(self) -> SelfStats:
        n = self.node
        return SelfStats(
            self.name,
            self.member_id,
            n.role,
            self.start_time,
            n.lead,
            n.leader_since,
            n.recv_append,
            n.send_append,
        )

    def leader_stats(self) -> LeaderStats | None:
        if self.role is not StateType.LEADER:
            return None
        stats = self.node.transport.stats()
        followers: list[FollowerStats] = []
        for m in self.members():
            if m.id == self.member_id:
                continue
            ps = stats.get(m.id)
            if ps is None:
                followers.append(FollowerStats(m.id, Latency(), 0, 0))
                continue
            lat = ps.latency
            followers.append(
                FollowerStats(
                    m.id,
                    Latency(
                        lat.current, lat.average, lat.standard_deviation, lat.minimum, lat.maximum
                    ),
                    ps.messages_failed,
                    ps.messages_sent,
                )
            )
        return LeaderStats(self.member_id, followers)

    async def health(self) -> bool:
        ok = await self._health()
        self.metrics.health_checked(ok)
        return ok

    async def _health(self) -> bool:
        if not self.lead:
            return False
        loop = asyncio.get_running_loop()
        try:
            await self.requests.read_barrier(loop.time() + 1.0)
        except EtcdError:
            return False
        return True
