"""`Transport`: a member's peer connections, as the member loop uses them.

Outbound, one `PeerLink` per peer (own task, queue and TCP stream); inbound, one listener per
listen URL accepting peer streams and plain HTTP (`inbound`). Messages flow one way on a
stream: A's messages to B travel on the stream A dialled, B's answers on the one B dialled,
as etcd's rafthttp does, so neither side ever waits for the other to write.

Everything here runs on the event loop thread; callbacks are invoked on it and must not block.
Fault injection on the message paths is `injector`'s, the handshake's checks `handshake`'s, the
peer port's HTTP answers `peer_http`'s; this module routes messages and keeps the peers.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from shoal.raft.codec import decode_message, encode_message
from shoal.raft.types import Message, MessageType
from shoal.tls import TLSInfo
from shoal.transport import facts, peer_http
from shoal.transport.faults import Faults
from shoal.transport.frame import PROTOCOL_VERSION, Hello, Reject, RejectCode, Welcome
from shoal.transport.handshake import refusal
from shoal.transport.http import HttpRequest
from shoal.transport.inbound import InboundConnection
from shoal.transport.injector import FaultInjector
from shoal.transport.peer import Backoff, LinkState, PeerLink
from shoal.transport.stats import PeerStats
from shoal.transport.urls import Address, parse_peer_url

log = logging.getLogger("shoal.rafthttp")  # etcd's package name for its peer transport

_APP = MessageType.APP

DUPLICATE_WARN_EVERY = 30.0
"""Seconds between this member's warnings that two members stream under one ID (they take
turns many times a second; each one's own log says why at every turn)."""
_SNAP = MessageType.SNAP


def _noop_snapshot_status(peer_id: int, ok: bool) -> None:
    pass


def _default_version() -> Mapping[str, str]:
    return {"etcdserver": facts.ETCD_SERVER_VERSION, "etcdcluster": facts.ETCD_CLUSTER_VERSION}


class Transport:
    """Peer messaging for one member.

    `on_message(m)` is called for every raft message received from a known peer, in the order
    that peer sent them. `on_unreachable(peer_id)` is called when messages to a peer were
    dropped because it could not be reached (dial failed, stream broke, queue full): the member
    passes it on to raft (etcd's ReportUnreachable). `on_snapshot_status(peer_id, ok)` reports
    each MsgSnap's fate: ok once it was written to the peer's socket, not ok if it was dropped
    (etcd's ReportSnapshot). `on_removed(peer_id)` is called once if a peer refuses us because
    this member was removed from the cluster; etcd then stops the member.
    `members()` supplies the JSON for `GET /members` on the peer port; `version()` that of
    `GET /version`.

    Messages from one peer arrive in the order it sent them; some may be missing (a broken
    stream, a fault), none are duplicated or reordered. Tuning keywords: `queue_size` (messages
    per peer before drops, etcd's 4096), `fault_endpoint` (serve /_shoal/faults), `ping_interval`
    (seconds between PINGs; a stream with no PONG for 5 intervals is abandoned, etcd's 5 s),
    `dial_timeout` (connect + handshake; etcd uses 1 s + the election timeout),
    `backoff_min`/`backoff_max` (redial delays, jittered), `rng` (for reproducible drop faults
    and jitter).
    """

    def __init__(
        self,
        self_id: int,
        cluster_id: int,
        on_message: Callable[[Message], None],
        on_unreachable: Callable[[int], None],
        *,
        on_snapshot_status: Callable[[int, bool], None] | None = None,
        on_removed: Callable[[int], None] | None = None,
        members: Callable[[], Any] | None = None,
        version: Callable[[], Mapping[str, str]] | None = None,
        queue_size: int = facts.STREAM_BUF_SIZE,
        fault_endpoint: bool = True,
        ping_interval: float = facts.CONN_READ_TIMEOUT / 5,
        dial_timeout: float = facts.PEER_DIAL_TIMEOUT_BASE,
        backoff_min: float = 0.1,
        backoff_max: float = 1.0,
        rng: random.Random | None = None,
        tls: TLSInfo | None = None,
    ) -> None:
        self.self_id = self_id
        self.cluster_id = cluster_id
        """Settable: a member joining an existing cluster learns it from a peer's /members."""
        self._on_message = on_message
        self._on_unreachable = on_unreachable
        self._user_snapshot_status = on_snapshot_status or _noop_snapshot_status
        self._on_removed = on_removed
        self._removed_reported = False
        self._members = members or (lambda: [])
        self._version = version or _default_version
        self._queue_size = queue_size
        self._fault_endpoint = fault_endpoint
        self._ping_interval = ping_interval
        self._dial_timeout = dial_timeout
        self._backoff = (backoff_min, backoff_max)
        self._rng = rng or random.Random()
        self._tls = tls
        # Contexts are made once: loading the files again per dial would cost a handshake's
        # worth of parsing (etcd re-reads them; a changed certificate needs a restart here).
        self._server_ssl = tls.server_context() if tls is not None else None
        self._client_ssl = tls.client_context() if tls is not None else None
        self._peers: dict[int, PeerLink] = {}
        self._faults = FaultInjector(
            self._rng,
            self._peers,
            hand_over=self._hand_over,
            report_unreachable=self._report_unreachable,
            snapshot_status=self._on_snapshot_status,
        )
        self._gate = self._faults.gate
        self._removed: set[int] = set()
        self._inbound: dict[int, InboundConnection] = {}
        self._duplicate_warned: dict[int, float] = {}
        self._connections: weakref.WeakSet[InboundConnection] = weakref.WeakSet()
        self._servers: list[asyncio.Server] = []
        self._tls_servers: set[asyncio.Server] = set()
        self._closing: set[asyncio.Task[None]] = set()  # links of removed peers, closing
        self._stopped = False

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, listen_urls: list[str]) -> None:
        """Listen on every URL (`http://host:port`; port 0 picks a free one, see
        `listen_urls`). Raises ValueError for a malformed URL and OSError if a port is taken."""
        addrs = [parse_peer_url(u) for u in listen_urls]
        for a in addrs:
            if a.tls and self._server_ssl is None:
                raise ValueError(
                    "TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for "
                    f"peer url {a.url()} with HTTPS scheme"
                )
        loop = asyncio.get_running_loop()
        try:
            for a in addrs:
                ssl = self._server_ssl if a.tls else None
                server = await loop.create_server(self._new_connection, a.host, a.port, ssl=ssl)
                self._servers.append(server)
                if ssl is not None:
                    self._tls_servers.add(server)
        except BaseException:
            await self.stop()
            raise

    @property
    def listen_urls(self) -> list[str]:
        """The URLs actually listened on (with the real port when 0 was asked for)."""
        out: list[str] = []
        for s in self._servers:
            for sock in s.sockets:
                host, port = sock.getsockname()[:2]
                out.append(Address(host, port, s in self._tls_servers).url())
        return out

    async def stop(self) -> None:
        """Close the listeners, every connection and every peer link. Queued messages are lost."""
        self._stopped = True
        for s in self._servers:
            s.close()
        for conn in list(self._connections):
            conn.close()
        self._faults.close()
        links = list(self._peers.values())
        self._peers.clear()
        await asyncio.gather(*(link.close() for link in links), *self._closing)
        for s in self._servers:
            await s.wait_closed()
        self._servers.clear()

    def _new_connection(self) -> InboundConnection:
        conn = InboundConnection(self, self._tls)
        self._connections.add(conn)
        return conn

    # -- membership ----------------------------------------------------------------------

    def add_peer(self, peer_id: int, urls: list[str]) -> None:
        """Start a link to a peer (dialling at once). Adding a known peer updates its URLs;
        adding a removed id makes it a peer again. Raises ValueError for bad URLs or own id."""
        if self._stopped:
            raise RuntimeError("transport is stopped")
        if peer_id == self.self_id:
            raise ValueError(f"cannot add this member ({peer_id:x}) as its own peer")
        addrs = self._parse_urls(peer_id, urls)
        if peer_id in self._peers:
            self._peers[peer_id].set_urls(addrs)
            return
        self._removed.discard(peer_id)
        lo, hi = self._backoff
        link = PeerLink(
            self_id=self.self_id,
            peer_id=peer_id,
            urls=addrs,
            cluster_id=lambda: self.cluster_id,
            queue_size=self._queue_size,
            on_unreachable=self._report_unreachable,
            on_snapshot_status=self._on_snapshot_status,
            on_removed=self._report_removed,
            blocked=self._gate.is_blocked,
            ping_interval=self._ping_interval,
            dial_timeout=self._dial_timeout,
            backoff=Backoff(lo, hi, self._rng),
            client_ssl=self._client_ssl,
            origin=lambda: self.listen_urls[0] if self.listen_urls else "",
        )
        self._peers[peer_id] = link

    def update_peer(self, peer_id: int, urls: list[str]) -> None:
        """New URLs for a peer; a stream to an address no longer listed is re-dialled."""
        link = self._peers.get(peer_id)
        if link is None:
            raise KeyError(f"unknown peer {peer_id:x}")
        link.set_urls(self._parse_urls(peer_id, urls))

    def remove_peer(self, peer_id: int) -> None:
        """Close the links to and from a peer and refuse it from now on (etcd keeps removed
        ids forever: a removed member is told so and stops). Messages to it are dropped."""
        self._removed.add(peer_id)
        link = self._peers.pop(peer_id, None)
        if link is not None:
            # The link's task stops at its next await; nothing here needs to wait for it.
            task = asyncio.get_running_loop().create_task(link.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        conn = self._inbound.pop(peer_id, None)
        if conn is not None:
            conn.close()
        self._faults.forget(peer_id)

    def peers(self) -> list[int]:
        return sorted(self._peers)

    def _parse_urls(self, peer_id: int, urls: list[str]) -> list[Address]:
        if not urls:
            raise ValueError(f"peer {peer_id:x} has no URLs")
        return [parse_peer_url(u) for u in urls]

    # -- sending -------------------------------------------------------------------------

    def send(self, messages: list[Message]) -> None:
        """Queue messages for their peers and return at once. Messages to unknown or removed
        peers are dropped; a peer whose message was dropped is reported unreachable (once
        per call). Per-peer order is kept."""
        if self._stopped:
            return
        unreachable: set[int] | None = None
        peers = self._peers
        gate = self._gate
        held = self._faults.out_lines
        outbound = self._faults.outbound
        for m in messages:
            to = m.to
            link = peers.get(to)
            if link is None:
                log.debug("dropping %s to unknown peer %x", m.type.name, to)
                continue
            mtype = m.type
            is_snap = mtype == _SNAP
            payload = encode_message(m)
            if mtype == _APP:  # counted before queueing, as etcd's Transport.Send does
                st = link.stats
                st.appends_sent += 1
                st.append_bytes_sent += len(payload)
            if (gate.active or to in held) and not outbound(link, payload, is_snap):
                continue
            if not link.enqueue(payload, is_snap):
                if unreachable is None:
                    unreachable = set()
                unreachable.add(to)
        if unreachable:
            for peer_id in unreachable:
                self._report_unreachable(peer_id)

    def _on_snapshot_status(self, peer_id: int, ok: bool) -> None:
        try:
            self._user_snapshot_status(peer_id, ok)
        except Exception:
            log.exception("on_snapshot_status(%x, %s) failed", peer_id, ok)

    def _report_unreachable(self, peer_id: int) -> None:
        try:
            self._on_unreachable(peer_id)
        except Exception:
            log.exception("on_unreachable(%x) failed", peer_id)

    def _report_removed(self, peer_id: int) -> None:
        if self._removed_reported or self._on_removed is None:
            return
        self._removed_reported = True
        try:
            self._on_removed(peer_id)
        except Exception:
            log.exception("on_removed(%x) failed", peer_id)

    # -- receiving (InboundHost) ---------------------------------------------------------

    def answers_pings(self, peer_id: int) -> bool:
        return not self._gate.is_blocked(peer_id)

    def accept_stream(self, conn: InboundConnection, hello: Hello) -> Welcome | Reject | None:
        """Decide on an inbound stream's handshake, in etcd's order: cluster first, then
        removed members, then senders this member does not know (yet)."""
        refused = refusal(hello, self.self_id, self.cluster_id, self._removed)
        if refused is not None:
            return refused
        sender = hello.sender
        if self._gate.is_blocked(sender):
            return None  # blackholed: the handshake is lost, the sender's dial fails
        if sender not in self._peers:
            # As etcd: a member we do not know yet (we may be behind on conf changes); the
            # sender retries.
            return Reject(RejectCode.UNKNOWN_SENDER, f"member {sender:x} is not a known peer")
        old = self._inbound.get(sender)
        self._inbound[sender] = conn
        conn.origin = hello.origin
        if old is not None and old is not conn:
            # The sender redialled (its old stream is dead to it), or a second member runs
            # with its ID (a copy of its data dir): then the two take turns, and each needs
            # to hear why its stream keeps ending.
            self._replace_stream(sender, old, conn)
        return Welcome(PROTOCOL_VERSION, self.self_id, self.cluster_id)

    def _replace_stream(self, sender: int, old: InboundConnection, new: InboundConnection) -> None:
        text = f"member {sender:x} opened another stream"
        if old.origin and new.origin and old.origin != new.origin:
            text += (
                f": {old.origin} and {new.origin} both run as member {sender:x} (a copy of"
                " its data dir? stop the copy, or start it with a data dir of its own)"
            )
            now = time.monotonic()
            last = self._duplicate_warned.get(sender)
            if last is None or now - last >= DUPLICATE_WARN_EVERY:
                self._duplicate_warned[sender] = now
                log.warning(
                    "two members stream as %x: %s and %s (a copy of its data dir?)",
                    sender,
                    old.origin,
                    new.origin,
                )
        elif new.origin:
            text += f", from {new.origin}"
        old.close_with(Reject(RejectCode.REPLACED, text))

    def stream_closed(self, conn: InboundConnection) -> None:
        if conn.peer_id is not None and self._inbound.get(conn.peer_id) is conn:
            del self._inbound[conn.peer_id]

    def deliver(self, peer_id: int, payloads: list[bytes]) -> None:
        link = self._peers.get(peer_id)
        if link is None:
            return  # removed while its bytes were in flight
        stats = link.stats
        stats.messages_received += len(payloads)
        stats.bytes_received += sum(len(p) for p in payloads)
        faulty = self._gate.active or peer_id in self._faults.in_lines
        inbound = self._faults.inbound
        on_message = self._on_message
        for payload in payloads:
            try:
                m = decode_message(payload)
            except Exception as e:
                log.warning("peer %x sent an undecodable message: %s", peer_id, e)
                continue
            if m.type == _APP:
                stats.appends_received += 1
                stats.append_bytes_received += len(payload)
            if faulty and not inbound(peer_id, m, stats):
                continue
            try:
                on_message(m)
            except Exception:
                log.exception("on_message failed for %s from %x", m.type.name, peer_id)

    def _hand_over(self, m: Message, peer_id: int) -> None:
        try:
            self._on_message(m)
        except Exception:
            log.exception("on_message failed for %s from %x", m.type.name, peer_id)

    # -- HTTP on the peer port (InboundHost) ---------------------------------------------

    def handle_http(self, req: HttpRequest) -> bytes:
        return peer_http.answer(
            req,
            cluster_id=self.cluster_id,
            members=self._members,
            version=self._version,
            faults=self if self._fault_endpoint else None,
        )

    # -- fault injection -----------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._faults.faults

    def set_faults(self, faults: Faults) -> None:
        """Replace every fault setting at once (`Faults()` clears them)."""
        self._faults.set(faults)

    def block(self, peer_ids: Iterable[int]) -> None:
        """Partition this member from these peers, in both directions (see `faults`)."""
        self._faults.set(self._gate.faults.block(peer_ids))

    def unblock(self, peer_ids: Iterable[int] | None = None) -> None:
        """Lift the partition from these peers (from all when None)."""
        self._faults.set(self._gate.faults.unblock(peer_ids))

    # -- observation ---------------------------------------------------------------------

    def stats(self) -> dict[int, PeerStats]:
        """A copy of every peer's counters and latency."""
        return {pid: link.stats.copy() for pid, link in self._peers.items()}

    def is_active(self, peer_id: int) -> bool:
        link = self._peers.get(peer_id)
        return link is not None and link.state is LinkState.ACTIVE

    def active_since(self, peer_id: int) -> float | None:
        """time.monotonic() since which the stream to the peer has been up (None: it is not),
        for etcd's --strict-reconfig-check ("not enough started members")."""
        link = self._peers.get(peer_id)
        return None if link is None else link.stats.active_since
