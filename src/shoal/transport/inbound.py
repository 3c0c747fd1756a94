"""Accepted connections on the peer port: the raft stream or plain HTTP, told apart by the
first four bytes.

Why one port speaks both: tools and joining members poke the peer URL with plain HTTP
(`GET /members`, `GET /version`, the fault endpoint), as they do with etcd, while the raft
traffic wants a bare framed stream with no per-message HTTP overhead. A peer stream begins
with `frame.MAGIC`, whose first byte is NUL; every HTTP request begins with an ASCII method.
So the listener reads four bytes and hands the connection to the right parser; neither path
costs the other anything afterwards.

This module is the protocol object only; what a handshake, a message or a request means is
decided by the `InboundHost` (the Transport).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import socket
from typing import Protocol, cast

from shoal.gocompat.strconv import quote
from shoal.tls import TLSInfo, peer_common_name
from shoal.transport.frame import (
    MAGIC,
    FrameError,
    FrameParser,
    Hello,
    Kind,
    Reject,
    Welcome,
    encode_frame,
)
from shoal.transport.http import HttpError, HttpRequest, RequestParser, format_response

log = logging.getLogger("shoal.rafthttp")  # etcd's package name for its peer transport

HTTP_PREFIXES = frozenset({b"GET ", b"HEAD", b"POST", b"PUT ", b"DELE", b"OPTI", b"PATC"})


class InboundHost(Protocol):
    def accept_stream(self, conn: InboundConnection, hello: Hello) -> Welcome | Reject | None:
        """None: close without an answer (the sender is blackholed by fault injection)."""
        ...

    def answers_pings(self, peer_id: int) -> bool: ...

    def deliver(self, peer_id: int, payloads: list[bytes]) -> None: ...

    def stream_closed(self, conn: InboundConnection) -> None: ...

    def handle_http(self, request: HttpRequest) -> bytes: ...


class _Mode(enum.Enum):
    SNIFF = 0
    HELLO = 1
    STREAM = 2
    HTTP = 3
    CLOSED = 4


class InboundConnection(asyncio.Protocol):
    def __init__(self, host: InboundHost, tls: TLSInfo | None = None) -> None:
        self._host = host
        self._tls = tls
        self._transport: asyncio.Transport | None = None
        self._mode = _Mode.SNIFF
        self._sniff = b""
        self._frames = FrameParser()
        self._http: RequestParser | None = None
        self.peer_id: int | None = None
        """The sender, once its handshake was accepted."""
        self.origin = ""
        """The peer URL the sender says it listens on (its HELLO's origin)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport is not an asyncio.Transport subclass, but has its methods.
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = self._tls
        if tls is not None and tls.allowed_cn and transport.get_extra_info("sslcontext"):
            # --peer-cert-allowed-cn: etcd fails the handshake ("client certificate
            # authentication failed"); Python's ssl has no hook there, so the connection is
            # closed before its first byte is read.
            cert = transport.get_extra_info("peercert")
            if not tls.cn_allowed(cert):
                log.warning(
                    "peer port: rejected connection from %s (CN %s is not the allowed CN %s)",
                    transport.get_extra_info("peername"),
                    quote(peer_common_name(cert)),
                    quote(tls.allowed_cn),
                )
                self._mode = _Mode.CLOSED
                transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._mode is _Mode.STREAM:
            self._host.stream_closed(self)
        self._mode = _Mode.CLOSED

    def close(self) -> None:
        self._mode_closed()

    def close_with(self, reject: Reject) -> None:
        """Say why on the stream (its sender reads it as the reason the link ended), then
        close."""
        if self._transport is not None and self._mode is _Mode.STREAM:
            self._transport.write(reject.encode())
        self._mode_closed()

    def data_received(self, data: bytes) -> None:
        mode = self._mode
        if mode is _Mode.STREAM:
            self._stream(data)
        elif mode is _Mode.SNIFF:
            self._sniff += data
            if len(self._sniff) < 4:
                return
            head, rest = self._sniff[:4], self._sniff[4:]
            self._sniff = b""
            if head == MAGIC:
                self._mode = _Mode.HELLO
                self._hello(rest)
            elif head in HTTP_PREFIXES:
                self._mode = _Mode.HTTP
                self._http = RequestParser()
                self._serve_http(head + rest)
            else:
                log.warning(
                    "peer port: dropping a connection that began with %s",
                    quote(head.decode("utf-8", "surrogateescape")),
                )
                self._mode_closed()
        elif mode is _Mode.HELLO:
            self._hello(data)
        elif mode is _Mode.HTTP:
            self._serve_http(data)

    def _stream(self, data: bytes) -> None:
        try:
            frames = self._frames.feed(data)
        except FrameError as e:
            log.warning("peer %x: bad stream: %s", self.peer_id or 0, e)
            self._mode_closed()
            return
        self._handle_frames(frames)

    def _handle_frames(self, frames: list[tuple[int, bytes]]) -> None:
        payloads: list[bytes] = []
        for kind, payload in frames:
            if kind == Kind.MSG:
                payloads.append(payload)
            elif kind == Kind.PING:
                assert self._transport is not None and self.peer_id is not None
                if self._host.answers_pings(self.peer_id):
                    self._transport.write(encode_frame(Kind.PONG, payload))
            else:
                log.warning("peer %x: unexpected frame kind %d", self.peer_id or 0, kind)
                self._mode_closed()
                break
        if payloads and self.peer_id is not None:
            self._host.deliver(self.peer_id, payloads)

    def _hello(self, data: bytes) -> None:
        try:
            frames = self._frames.feed(data)
        except FrameError as e:
            log.warning("peer port: bad handshake: %s", e)
            self._mode_closed()
            return
        if not frames:
            return
        kind, payload = frames[0]
        assert self._transport is not None
        try:
            if kind != Kind.HELLO:
                raise FrameError(f"stream began with frame kind {kind}, not HELLO")
            hello = Hello.decode(payload)
        except FrameError as e:
            log.warning("peer port: bad handshake: %s", e)
            self._mode_closed()
            return
        answer = self._host.accept_stream(self, hello)
        if answer is not None:
            self._transport.write(answer.encode())
        if not isinstance(answer, Welcome):
            self._mode_closed()
            return
        self.peer_id = hello.sender
        self._mode = _Mode.STREAM
        if len(frames) > 1:  # frames that arrived in the same read as the HELLO
            self._handle_frames(frames[1:])

    def _serve_http(self, data: bytes) -> None:
        assert self._http is not None and self._transport is not None
        try:
            requests = self._http.feed(data)
        except HttpError as e:
            body = (e.message + "\n").encode()
            self._transport.write(format_response(e.status, body, keep_alive=False))
            self._mode_closed()
            return
        for req in requests:
            try:
                answer = self._host.handle_http(req)
            except Exception:  # e.g. the member's /members callback failed
                log.exception("peer port: %s %s failed", req.method, req.path)
                answer = format_response(500, b"internal error\n", keep_alive=req.keep_alive)
            self._transport.write(answer)
            if not req.keep_alive:
                self._mode_closed()
                return

    def _mode_closed(self) -> None:
        was = self._mode
        self._mode = _Mode.CLOSED
        if was is _Mode.STREAM:
            self._host.stream_closed(self)
        if self._transport is not None:
            self._transport.close()
