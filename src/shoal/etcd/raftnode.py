"""The raft node: drives `shoal.raft`'s RawNode with the clock, the WAL and the peer transport.

After etcd's `server/etcdserver/raft.go` (raftNode). Inputs (ticks, peer messages, proposals,
reads) are stepped into the RawNode as they come and wake the Ready loop, which takes one Ready
at a time and handles it strictly in raft's order: persist (one WAL write + one fsync for the
whole batch, in a worker thread), then send, then hand the batch to the server to apply
(`ReadyHandler`). Proposals that arrive while a batch is being fsynced ride in the next batch:
that is the group commit. Nothing here knows what an entry means.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from shoal.etcd import log
from shoal.etcd.ids import hexid
from shoal.raft.errors import RaftError
from shoal.raft.rawnode import RawNode, Ready, Status
from shoal.raft.storage import MemoryStorage
from shoal.raft.types import (
    ConfChange,
    Entry,
    HardState,
    Message,
    MessageType,
    ReadState,
    Snapshot,
    SoftState,
    StateType,
)
from shoal.tls import TLSInfo
from shoal.transport import Transport
from shoal.wal.errors import WALError
from shoal.wal.storage import DiskStorage

# What a leader may send before its own fsync of the same Ready (see run_ready).
_LEADER_EARLY = frozenset({MessageType.APP, MessageType.HEARTBEAT})


class ReadyHandler(Protocol):
    """What the server does with a Ready once it is on disk (etcd's apply channel)."""

    def became_leader(self) -> None: ...

    def apply_snapshot(self, snap: Snapshot) -> None: ...

    def apply_entries(self, entries: list[Entry]) -> None: ...

    def read_states(self, states: list[ReadState]) -> None: ...

    async def after_apply(self) -> None:
        """The batch is applied and raft advanced: wake waiters, maybe take a snapshot."""


class RaftNode:
    """One member's raft node. Built by bootstrap with its storage and RawNode; `run_ticker`
    and `run_ready` are the two loops the server runs as tasks."""

    def __init__(
        self,
        *,
        member_id: int,
        cluster_id: int,
        raw: RawNode,
        mem: MemoryStorage,
        disk: DiskStorage,
        hard_state: HardState,
        heartbeat_ms: int,
        election_ms: int,
        handler: ReadyHandler,
        stopped: asyncio.Event,
        on_removed: Callable[[int], None],
        members_json: Callable[[], Any],
        version_json: Callable[[], Mapping[str, str]],
        peer_tls: TLSInfo | None = None,
    ) -> None:
        self.member_id = member_id
        self.raw = raw
        self.mem = mem
        self.disk = disk
        self._heartbeat = heartbeat_ms / 1000.0
        self._handler = handler
        self._stopped = stopped
        self.transport = Transport(
            member_id,
            cluster_id,
            self._on_message,
            self._on_unreachable,
            on_snapshot_status=self._on_snapshot_status,
            on_removed=on_removed,
            members=members_json,
            version=version_json,
            dial_timeout=1.0 + election_ms / 1000.0,
            tls=peer_tls,
        )
        self.lead = 0
        self.role = StateType.FOLLOWER
        self.leader_since = 0.0
        self.leader_changed = asyncio.Event()
        """Set (and replaced by a fresh one) whenever the known leader changes."""
        self.committed = hard_state.commit  # as persisted: what X-Raft-Index reports
        self.term = hard_state.term
        self.recv_append = 0
        self.send_append = 0
        self.leader_changes = 0
        """Leaders seen (etcd_server_leader_changes_seen_total): a new known leader counts."""
        self.heartbeat_send_failures = 0
        """Heartbeats to a peer sent later than 2 heartbeat intervals after the previous one
        (etcd's contention detector: a leader too busy, likely on a slow disk)."""
        self._heartbeat_sent: dict[int, float] = {}
        self._wake = asyncio.Event()
        # WAL writes and fsyncs run in order on one thread of their own, off the event loop.
        self._wal_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="wal")
        self._saved_hs = hard_state  # the hard state last written to the WAL (or loaded)

    # -------------------------------------------------------------------- inputs
    def wake(self) -> None:
        self._wake.set()

    def _on_message(self, m: Message) -> None:
        with contextlib.suppress(RaftError):
            self.raw.step(m)
        if m.type is MessageType.APP:
            self.recv_append += 1
        self._wake.set()

    def _on_unreachable(self, peer: int) -> None:
        self.raw.report_unreachable(peer)
        self._wake.set()

    def _on_snapshot_status(self, peer: int, ok: bool) -> None:
        with contextlib.suppress(RaftError):
            self.raw.report_snapshot(peer, ok)
        self._wake.set()

    # Proposals and reads: raft's errors (ProposalDroppedError) reach the caller, unwoken.
    def propose(self, data: bytes) -> None:
        self.raw.propose(data)
        self._wake.set()

    def propose_many(self, batch: list[bytes]) -> None:
        self.raw.propose_many(batch)
        self._wake.set()

    def propose_conf_change(self, cc: ConfChange) -> None:
        self.raw.propose_conf_change(cc)
        self._wake.set()

    def read_index(self, ctx: bytes) -> None:
        self.raw.read_index(ctx)
        self._wake.set()

    def transfer_leadership(self, to: int) -> None:
        self.raw.transfer_leadership(to)
        self._wake.set()

    def status(self) -> Status:
        return self.raw.status()

    async def save_snapshot(self, snap: Snapshot) -> None:
        """Write a snapshot taken by the server, in order with the WAL's other writes.

        A snapshot the server takes is an optimisation: when its file cannot be written (a full
        disk) the WAL still holds every entry and no segment is released, so the member goes
        on and the next snapshot tries again. (A snapshot from the leader is not optional: its
        failure in run_ready stops the member.)"""
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._wal_thread, self.disk.save_snapshot, snap
            )
        except WALError as e:
            if self.disk.wal_failed:
                raise
            log.warning("etcdserver", f"{e}; skipped this snapshot: the log holds every entry")

    # -------------------------------------------------------------------- the loops
    async def run_ticker(self) -> None:
        loop = asyncio.get_running_loop()
        nxt = loop.time()
        while True:
            nxt += self._heartbeat
            await asyncio.sleep(max(0.0, nxt - loop.time()))
            if loop.time() - nxt > 10 * self._heartbeat:
                nxt = loop.time()  # we were paused (SIGSTOP): do not burst ticks
            self.raw.tick()
            self._wake.set()

    async def run_ready(self) -> None:
        raw, h = self.raw, self._handler
        while True:
            await self._wake.wait()
            self._wake.clear()
            while raw.has_ready():
                rd = raw.ready()
                if rd.soft_state is not None:
                    self._on_soft_state(rd.soft_state)
                # 0. A leader replicates while it persists (Raft thesis 10.2.1): its appends
                # and heartbeats go out before its own fsync. That is safe because nothing
                # of this batch is applied (so no client is answered) before that fsync is
                # done below, and every later Ready comes after it. Everything else, and all
                # of a follower's messages (its acks promise the entries are on its disk),
                # waits for the fsync.
                later = rd.messages
                if later and self.role is StateType.LEADER:
                    early = [m for m in later if m.type in _LEADER_EARLY]
                    if early:
                        later = [m for m in later if m.type not in _LEADER_EARLY]
                        self._send(early)
                # 1. persist
                await self._persist(rd)
                # 2. send
                if later:
                    self._send(later)
                # 3. apply
                if rd.snapshot is not None:
                    h.apply_snapshot(rd.snapshot)
                h.apply_entries(rd.committed_entries)
                if rd.read_states:
                    h.read_states(rd.read_states)
                raw.advance(rd)
                await h.after_apply()
                if self._stopped.is_set():
                    return

    async def _persist(self, rd: Ready) -> None:
        loop = asyncio.get_running_loop()
        hs = rd.hard_state
        if rd.snapshot is not None:
            await loop.run_in_executor(self._wal_thread, self.disk.save_snapshot, rd.snapshot)
        if rd.entries or (hs is not None and not self._only_commit_changed(hs)):
            await loop.run_in_executor(self._wal_thread, self.disk.save, hs, rd.entries)
        elif hs is not None:
            # Only the commit index moved: the WAL writes it without an fsync (as etcd's
            # MustSync), so a few bytes written here beat a thread round trip.
            self.disk.save(hs, ())
        if hs is not None:
            self._saved_hs = hs
            self.committed, self.term = hs.commit, hs.term
        if rd.snapshot is not None:
            self.mem.apply_snapshot(rd.snapshot)
        self.mem.append(rd.entries)
        if hs is not None:
            self.mem.set_hard_state(hs)

    def _send(self, msgs: list[Message]) -> None:
        apps = 0
        for m in msgs:
            if m.type is MessageType.APP:
                apps += 1
            elif m.type is MessageType.HEARTBEAT:
                self._heartbeat_out(m.to)
        self.send_append += apps
        self.transport.send(msgs)

    def _heartbeat_out(self, to: int) -> None:
        now = time.monotonic()
        last = self._heartbeat_sent.get(to)
        self._heartbeat_sent[to] = now
        if last is not None and now - last > 2 * self._heartbeat:
            self.heartbeat_send_failures += 1
            late = (now - last - 2 * self._heartbeat) * 1000
            log.warning(
                "etcdserver",
                f"failed to send out heartbeat on time (exceeded the "
                f"{self._heartbeat * 1000:.0f}ms timeout for {late:.0f}ms, to {hexid(to)})",
            )

    def _only_commit_changed(self, hs: HardState) -> bool:
        old = self._saved_hs
        return hs.term == old.term and hs.vote == old.vote

    def _on_soft_state(self, ss: SoftState) -> None:
        lead, role = ss.lead, ss.role
        self._heartbeat_sent.clear()  # etcd resets its contention detector on a soft state
        if lead != self.lead:
            if lead:
                self.leader_changes += 1
                log.info("raft", f"{hexid(self.member_id)} elected leader {hexid(lead)}")
            else:
                log.info("raft", f"{hexid(self.member_id)} lost leader {hexid(self.lead)}")
            self.leader_since = time.time()
            self.leader_changed.set()
            self.leader_changed = asyncio.Event()
        was_leader = self.role is StateType.LEADER
        self.lead, self.role = lead, role
        if role is StateType.LEADER and not was_leader:
            self._handler.became_leader()

    # -------------------------------------------------------------------- shutting down
    async def stop(self) -> None:
        await self.transport.stop()
        self.disk.close()
        self._wal_thread.shutdown(wait=False)
