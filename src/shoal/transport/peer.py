"""The outbound half of one peer link: a bounded queue drained by one writer task.

Each peer has its own task, connection and queue, so a slow or dead peer (or a large MsgSnap
being written to it) never holds up another. The task dials the peer's URLs in turn with a
jittered exponential backoff, performs the handshake, then writes whatever has been queued
since its last turn as one socket write: under load the batch grows by itself.

Queueing rule (etcd's): while the link is up or still being set up for the first time,
messages queue up to `queue_size`; once a dial has failed or the stream broke, messages are
dropped at once and the peer is reported unreachable, so raft learns quickly and stops
streaming entries at a peer that is not there. A full queue also drops and reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import socket
import ssl
import struct
import time
from collections.abc import Callable

from shoal.gocompat.syscall import os_error_text
from shoal.transport.frame import (
    HEADER,
    MAGIC,
    PING_TOKEN,
    PROTOCOL_VERSION,
    FrameError,
    FrameParser,
    Hello,
    Kind,
    Reject,
    RejectCode,
    Welcome,
    encode_frame,
)
from shoal.transport.stats import PeerStats
from shoal.transport.urls import Address

log = logging.getLogger("shoal.rafthttp")  # etcd's package name for its peer transport

_pack_header = HEADER.pack
_MSG = int(Kind.MSG)


@enum.unique
class LinkState(enum.Enum):
    CONNECTING = "connecting"  # first dial not finished yet: queue
    ACTIVE = "active"  # stream accepted: queue and write
    INACTIVE = "inactive"  # last dial failed or stream broke: drop and report
    CLOSED = "closed"  # peer removed or transport stopped


class Backoff:
    """Exponential backoff between `low` and `high` seconds with equal jitter."""

    __slots__ = ("_high", "_low", "_next", "_rng")

    def __init__(self, low: float, high: float, rng: random.Random) -> None:
        self._low, self._high, self._rng = low, high, rng
        self._next = low

    def reset(self) -> None:
        self._next = self._low

    def next(self) -> float:
        d = self._next
        self._next = min(self._high, d * 2)
        return d / 2 + self._rng.uniform(0, d / 2)


class _Ended(Exception):
    """The listener closed the outbound stream with a reason."""


class Rejected(Exception):
    def __init__(self, reject: Reject) -> None:
        super().__init__(f"{reject.code}: {reject.text}")
        self.reject = reject


class _SnapMark:
    """Marks a MsgSnap's position in the queue so its send result can be reported."""

    __slots__ = ()


class PeerLink:
    """The outbound link to one peer. All methods must be called on the event loop thread."""

    def __init__(
        self,
        *,
        self_id: int,
        peer_id: int,
        urls: list[Address],
        cluster_id: Callable[[], int],
        queue_size: int,
        on_unreachable: Callable[[int], None],
        on_snapshot_status: Callable[[int, bool], None],
        on_removed: Callable[[int], None],
        blocked: Callable[[int], bool],
        ping_interval: float,
        origin: Callable[[], str] = lambda: "",
        dial_timeout: float,
        backoff: Backoff,
        client_ssl: ssl.SSLContext | None = None,
    ) -> None:
        self.self_id = self_id
        self._client_ssl = client_ssl
        self.peer_id = peer_id
        self.urls = list(urls)
        self._cluster_id = cluster_id
        self._origin = origin
        self._queue_size = queue_size
        self._on_unreachable = on_unreachable
        self._on_snapshot_status = on_snapshot_status
        self._on_removed = on_removed
        self._blocked = blocked
        self._ping_interval = ping_interval
        self._dial_timeout = dial_timeout
        self._backoff = backoff
        self.stats = PeerStats(peer_id)
        self._state = LinkState.CONNECTING
        self._accepting = True  # state is CONNECTING or ACTIVE: the hot path tests this bool
        self._parts: list[bytes | _SnapMark] = []
        self._count = 0  # messages in _parts
        self._snaps = 0  # _SnapMarks in _parts
        self._wakeup = asyncio.Event()
        self._poke = asyncio.Event()  # cuts a backoff pause short (a partition was lifted)
        self._lost: str | None = None  # set by the reader when the stream ends
        self._writer: asyncio.StreamWriter | None = None
        self._addr: Address | None = None
        self._last_pong = 0.0
        self._ping_handle: asyncio.Handle | None = None
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"shoal-transport-peer-{peer_id:x}"
        )

    @property
    def state(self) -> LinkState:
        return self._state

    @state.setter
    def state(self, state: LinkState) -> None:
        self._state = state
        self._accepting = state is LinkState.CONNECTING or state is LinkState.ACTIVE

    # -- called by Transport -------------------------------------------------------------

    def enqueue(self, payload: bytes, is_snap: bool) -> bool:
        """Queue one encoded message. False: dropped (the caller reports the peer unreachable)."""
        if not self._accepting or self._count >= self._queue_size:
            self.stats.messages_failed += 1
            if is_snap:
                self._on_snapshot_status(self.peer_id, False)
            return False
        parts = self._parts
        parts.append(_pack_header(len(payload), _MSG))
        parts.append(payload)
        if is_snap:
            parts.append(_SnapMark())
            self._snaps += 1
        if not self._count:
            self._wakeup.set()
        self._count += 1
        return True

    def queued(self) -> int:
        return self._count

    def set_urls(self, urls: list[Address]) -> None:
        self.urls = list(urls)
        if self._addr is not None and self._addr not in self.urls and self._writer is not None:
            # The member moved: drop the stream to the old address; the task redials.
            self._abort(f"peer URLs changed to {', '.join(a.url() for a in urls)}")

    def _abort(self, reason: str) -> None:
        """Abandon the current stream; the task redials after a backoff. The socket is aborted
        too, so a writer stuck in drain() (a peer that stopped reading) wakes up at once."""
        self._lost = reason
        self._wakeup.set()
        if self._writer is not None:
            self._writer.transport.abort()

    def poke(self) -> None:
        """Redial now if waiting to redial (the network changed)."""
        self._poke.set()

    async def close(self) -> None:
        self.state = LinkState.CLOSED
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._fail_queue()

    # -- the task ------------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while True:
            addr = self.urls[attempt % len(self.urls)]
            self._addr = addr
            self.stats.url = addr.url()
            if self._blocked(self.peer_id):
                self._go_inactive(f"dial {addr.url()}: blocked by fault injection")
                await self._pause(self._backoff.next())
                continue
            try:
                reader, writer, parser = await self._dial(addr)
            except Rejected as r:
                attempt += 1
                self._rejected(r.reject, addr)
                self._go_inactive(str(r))
            except (OSError, TimeoutError, FrameError, EOFError) as e:
                attempt += 1
                self._go_inactive(f"dial {addr.url()}: {_describe(e, 'connect')}")
            except Exception as e:  # a bug, not the network: say so loudly, keep the link alive
                attempt += 1
                log.exception("peer %x: unexpected error dialling %s", self.peer_id, addr.url())
                self._go_inactive(f"dial {addr.url()}: {_describe(e)}")
            else:
                self._backoff.reset()
                reason = await self._stream(reader, writer, parser)
                self._go_inactive(reason)
            await self._pause(self._backoff.next())

    async def _pause(self, seconds: float) -> None:
        self._poke.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._poke.wait()

    async def _dial(
        self, addr: Address
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, FrameParser]:
        async with asyncio.timeout(self._dial_timeout):
            if addr.tls:
                # An https peer without peer TLS settings is dialled as Go's default client
                # would: the system's roots, no certificate of our own.
                ctx = self._client_ssl or ssl.create_default_context()
                reader, writer = await asyncio.open_connection(
                    addr.host, addr.port, ssl=ctx, server_hostname=addr.host
                )
            else:
                reader, writer = await asyncio.open_connection(addr.host, addr.port)
            try:
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                hello = Hello(
                    PROTOCOL_VERSION, self.self_id, self.peer_id, self._cluster_id(), self._origin()
                )
                writer.write(MAGIC + hello.encode())
                parser = FrameParser()
                while True:
                    data = await reader.read(65536)
                    if not data:
                        raise EOFError("connection closed during handshake")
                    frames = parser.feed(data)
                    if frames:
                        break
                kind, payload = frames[0]
                if kind == Kind.REJECT:
                    raise Rejected(Reject.decode(payload))
                if kind != Kind.WELCOME:
                    raise FrameError(f"handshake answered with frame kind {kind}")
                welcome = Welcome.decode(payload)
                if welcome.member_id != self.peer_id:
                    raise Rejected(
                        Reject(
                            RejectCode.WRONG_TARGET,
                            f"{addr.url()} is member {welcome.member_id:x}, not {self.peer_id:x}",
                        )
                    )
            except BaseException:
                writer.close()
                raise
        return reader, writer, parser

    async def _stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, parser: FrameParser
    ) -> str:
        """Write queued messages until the stream breaks; returns why it ended."""
        loop = asyncio.get_running_loop()
        self._lost = None
        self._writer = writer
        self._last_pong = loop.time()
        self._go_active()
        reader_task = loop.create_task(self._read(reader, parser))
        self._ping_handle = loop.call_soon(self._ping)
        snaps = 0
        try:
            while True:
                if not self._parts and self._lost is None:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                if self._lost is not None:
                    return self._lost
                parts, n, snaps = self._parts, self._count, self._snaps
                self._parts, self._count, self._snaps = [], 0, 0
                if snaps:
                    parts = [p for p in parts if not isinstance(p, _SnapMark)]
                data = b"".join(parts)  # type: ignore[arg-type]
                writer.write(data)
                self.stats.messages_sent += n
                self.stats.bytes_sent += len(data)
                await writer.drain()
                while snaps:
                    snaps -= 1
                    self._on_snapshot_status(self.peer_id, True)
        except (OSError, RuntimeError) as e:
            return f"write to {self.stats.url}: {_describe(e)}"
        finally:
            # Snapshots written in the batch that failed did not make it.
            for _ in range(snaps):
                self._on_snapshot_status(self.peer_id, False)
            if self._ping_handle is not None:
                self._ping_handle.cancel()
                self._ping_handle = None
            reader_task.cancel()
            self._writer = None
            writer.close()

    async def _read(self, reader: asyncio.StreamReader, parser: FrameParser) -> None:
        """Reads PONGs on the outbound stream; any end of it wakes the writer to redial."""
        loop = asyncio.get_running_loop()
        reason = "connection closed by peer"
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for kind, payload in parser.feed(data):
                    if kind == Kind.REJECT:
                        # The listener ended the stream and said why (a newer one replaced it).
                        raise _Ended(
                            f"{self.stats.url} closed the stream: {Reject.decode(payload).text}"
                        )
                    if kind != Kind.PONG:
                        raise FrameError(f"unexpected frame kind {kind} on outbound stream")
                    (token,) = PING_TOKEN.unpack(payload)
                    if not self._blocked(self.peer_id):  # a blackholed peer's PONGs are lost
                        self._last_pong = loop.time()
                        self.stats.latency.add((time.monotonic_ns() - token) / 1e6)
        except _Ended as e:
            reason = str(e)
        except (OSError, FrameError, struct.error) as e:
            reason = f"read from {self.stats.url}: {_describe(e)}"
        if self._lost is None:  # an abort() already said why it ended
            self._lost = reason
        self._wakeup.set()

    def _ping(self) -> None:
        """Every ping_interval: send a PING; a stream silent for 5 intervals is presumed dead."""
        if self._writer is None or self._lost is not None:
            return
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_pong > 5 * self._ping_interval:
            self._abort(f"no answer from {self.stats.url} for {5 * self._ping_interval:.1f}s")
            return
        token = PING_TOKEN.pack(time.monotonic_ns())
        self._parts.append(encode_frame(Kind.PING, token))
        self._ping_handle = loop.call_later(self._ping_interval, self._ping)
        self._wakeup.set()

    # -- state changes -------------------------------------------------------------------

    def _go_active(self) -> None:
        self.state = LinkState.ACTIVE
        self.stats.active = True
        self.stats.active_since = time.monotonic()
        self.stats.connects += 1
        self.stats.last_error = ""
        log.info("peer %x became active (%s)", self.peer_id, self.stats.url)

    def _go_inactive(self, reason: str) -> None:
        was = self.state
        if was is LinkState.CLOSED:
            return
        self.state = LinkState.INACTIVE
        self.stats.active = False
        self.stats.active_since = None
        self.stats.last_error = reason
        if was is LinkState.ACTIVE:
            self.stats.disconnects += 1
        if was is not LinkState.INACTIVE:
            log.warning("peer %x became inactive: %s", self.peer_id, reason)
        else:
            log.debug("peer %x still inactive: %s", self.peer_id, reason)
        dropped = self._fail_queue()
        if was is LinkState.ACTIVE or dropped:
            self._on_unreachable(self.peer_id)

    def _fail_queue(self) -> int:
        n, snaps = self._count, self._snaps
        self.stats.messages_failed += n
        self._parts, self._count, self._snaps = [], 0, 0
        for _ in range(snaps):
            self._on_snapshot_status(self.peer_id, False)
        return n

    def _rejected(self, reject: Reject, addr: Address) -> None:
        if reject.code == RejectCode.REMOVED_MEMBER:
            log.error(
                "peer %x at %s says this member (%x) has been removed from the cluster",
                self.peer_id,
                addr.url(),
                self.self_id,
            )
            self._on_removed(self.peer_id)
        elif reject.code == RejectCode.CLUSTER_ID_MISMATCH and self.state is not (
            LinkState.INACTIVE
        ):
            log.error("peer %x at %s refused the stream: %s", self.peer_id, addr.url(), reject.text)


def _describe(e: BaseException, op: str = "") -> str:
    """Go's text for a network error (`connect: connection refused`, `i/o timeout`, `EOF`), not
    Python's repr of it (`[Errno 111] Connect call failed ('127.0.0.1', 2380)`)."""
    if isinstance(e, TimeoutError):
        return "i/o timeout"
    if isinstance(e, ssl.SSLError):  # before OSError: its errno is OpenSSL's, not the kernel's
        return tls_error_text(e)
    if isinstance(e, OSError) and e.errno:
        return f"{op}: {os_error_text(e)}" if op else os_error_text(e)
    if isinstance(e, EOFError | asyncio.IncompleteReadError):
        return "EOF"
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


# OpenSSL verify codes and TLS alerts in Go's crypto/tls words (what etcd logs for a peer).
_UNKNOWN_AUTHORITY = "x509: certificate signed by unknown authority"
_VERIFY_TEXT = {
    10: "x509: certificate has expired or is not yet valid",
    9: "x509: certificate has expired or is not yet valid",
    18: _UNKNOWN_AUTHORITY,
    19: _UNKNOWN_AUTHORITY,
    20: _UNKNOWN_AUTHORITY,
    21: _UNKNOWN_AUTHORITY,
}
_ALERT_TEXT = {
    "TLSV1_ALERT_UNKNOWN_CA": "remote error: tls: unknown certificate authority",
    "SSLV3_ALERT_BAD_CERTIFICATE": "remote error: tls: bad certificate",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "remote error: tls: certificate required",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "remote error: tls: handshake failure",
    "WRONG_VERSION_NUMBER": "tls: first record does not look like a TLS handshake",
}


def tls_error_text(e: ssl.SSLError) -> str:
    if isinstance(e, ssl.SSLCertVerificationError):
        code = e.verify_code
        return _VERIFY_TEXT.get(code, f"x509: {e.verify_message}")
    reason = e.reason or ""
    return _ALERT_TEXT.get(reason, f"tls: {reason.lower().replace('_', ' ') or e}")
