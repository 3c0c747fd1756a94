"""The request and response objects the client API's handlers see, and how a response is put on
the wire the way Go's net/http server writes it (etcd's client port runs on it).

    Request        one request: method, raw target, version, headers; its body read on demand
                   (`await read_body(limit)`, or `take_body(limit)` once `body_ready(limit)`)
    Response       a whole answer: status, headers, body bytes
    StreamResponse an answer written as it goes (watches): `await prepare(request)`,
                   `await write(data)`, `await write_eof()`
    encode_head    the status line and headers of an answer, in Go's order

What Go does, and so what a client of etcd sees (checked against /usr/bin/etcd):
- headers the handler set are written sorted by name, then Date, Content-Length, Connection and
  Transfer-Encoding, in that order;
- a body of at most 2048 bytes (Go's bufferBeforeChunkingSize) gets a Content-Length; a longer
  one, or one written in pieces, is chunked on HTTP/1.1 and ends the connection on HTTP/1.0;
- HEAD answers carry the length of the body they do not send; 1xx, 204 and 304 have no body
  and no length;
- `100 Continue` is written when a handler first reads a body the client holds back for it.
"""

from __future__ import annotations

import asyncio
import http
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any, Protocol, overload

CHUNKING_THRESHOLD = 2048
"""Go's bufferBeforeChunkingSize: a response body longer than this is sent chunked."""

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

_REASONS = {s.value: s.phrase.encode() for s in http.HTTPStatus}
_STATUS_LINES: dict[tuple[int, bool], bytes] = {}


def status_line(status: int, http10: bool) -> bytes:
    key = (status, http10)
    line = _STATUS_LINES.get(key)
    if line is None:
        # Go writes the code alone (and a space) for a status it has no text for.
        reason = _REASONS.get(status, b"")
        line = b"HTTP/1.0 " if http10 else b"HTTP/1.1 "
        line += b"%d %s\r\n" % (status, reason)
        _STATUS_LINES[key] = line
    return line


class _DateCache:
    """The Date header's value, formatted once a second (Go formats it per response)."""

    __slots__ = ("second", "value")

    def __init__(self) -> None:
        self.second = -1
        self.value = b""

    def get(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.value = b"Date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
        return self.value


_DATE = _DateCache()


def date_header() -> bytes:
    """`Date: ...\\r\\n` for now."""
    return _DATE.get()


class BodyError(Exception):
    """The request body broke off (a malformed chunk, the client gone); `str(err)` is Go's
    text."""


class Conn(Protocol):
    """What a request needs from its connection (shoal.etcd.v2http.server implements it)."""

    def write(self, data: bytes) -> None: ...

    def body_wanted(self) -> None: ...

    async def drain(self) -> None: ...

    @property
    def closing(self) -> bool: ...

    def peer_certificate(self) -> dict[str, Any] | None:
        """The client's verified TLS certificate (`getpeercert()`'s dict), None without one."""


class Headers:
    """Request headers by name, case-insensitively; `get` returns the first value, as Go's
    Header.Get does."""

    __slots__ = ("_by_lower", "items")

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = items
        by_lower: dict[str, str] = {}
        for k, v in items:
            by_lower.setdefault(k.lower(), v)
        self._by_lower = by_lower

    @overload
    def get(self, name: str) -> str | None: ...

    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._by_lower.get(name.lower(), default)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._by_lower


class Request:
    """One request on a connection. The body arrives through `feed`/`end`/`fail` (the
    connection's reader) and is handed to the handler by `read_body`/`take_body`."""

    __slots__ = (
        "_conn",
        "_continue_sent",
        "_lost_callbacks",
        "_parts",
        "_waiter",
        "body_done",
        "body_error",
        "consumed",
        "expects_continue",
        "headers",
        "held",
        "keep_alive",
        "length",
        "lost",
        "method",
        "raw_path",
        "received",
        "taken",
        "version",
    )

    def __init__(
        self,
        conn: Conn,
        method: str,
        raw_path: str,
        version: tuple[int, int],
        headers: Headers,
        keep_alive: bool,
        length: int,
    ) -> None:
        self._conn = conn
        self.method = method
        self.raw_path = raw_path
        self.version = version
        self.headers = headers
        self.keep_alive = keep_alive
        self.length = length  # the Content-Length, -1 for chunked
        expect = headers.get("Expect") if length != 0 else None
        # Go: only HTTP/1.1 clients with a body get the interim answer.
        self.expects_continue = (
            expect is not None and expect.lower() == "100-continue" and version >= (1, 1)
        )
        self._continue_sent = False
        self._parts: list[bytes] = []
        self.received = 0  # body bytes that arrived
        self.consumed = 0  # body bytes handed to the handler
        self.held = 0  # body bytes stored for the handler, not handed over yet
        self.taken = False  # the handler read (or tried to read) the body
        self.body_done = length == 0
        self.body_error: str | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.lost = False
        self._lost_callbacks: list[Callable[[], None]] = []

    # -- the connection's side ---------------------------------------------------------------

    def feed(self, data: bytes, keep: bool) -> None:
        """Body bytes arrived; stored while `keep` (the handler may still read them)."""
        self.received += len(data)
        if keep:
            self._parts.append(data)
            self.held += len(data)
        self._wake()

    def end(self) -> None:
        self.body_done = True
        self._wake()

    def fail(self, text: str) -> None:
        self.body_error = text
        self._wake()

    def connection_lost(self) -> None:
        self.lost = True
        if not self.body_done and self.body_error is None:
            self.body_error = "unexpected EOF"
        self._wake()
        callbacks, self._lost_callbacks = self._lost_callbacks, []
        for cb in callbacks:
            cb()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    # -- the handler's side ------------------------------------------------------------------

    def on_lost(self, callback: Callable[[], None]) -> None:
        """Call `callback` when the client goes away (at once if it already has)."""
        if self.lost:
            callback()
        else:
            self._lost_callbacks.append(callback)

    @property
    def reading(self) -> bool:
        """The handler waits for body bytes."""
        return self._waiter is not None

    @property
    def http10(self) -> bool:
        return self.version < (1, 1)

    def write_continue(self) -> None:
        if self.expects_continue and not self._continue_sent:
            self._continue_sent = True
            self._conn.write(CONTINUE)

    @property
    def continue_sent(self) -> bool:
        return self._continue_sent

    def body_ready(self, limit: int) -> bool:
        """Whether `take_body(limit)` has all it needs (the body ended, broke, or is over
        `limit`)."""
        return self.body_done or self.body_error is not None or self.received > limit

    def take_body(self, limit: int) -> tuple[bytes, bool]:
        """The body read so far, up to `limit` + 1 bytes, and whether it went over `limit`
        (the rest stays unread, as with Go's MaxBytesReader). Raises BodyError for a body that
        broke off before its end."""
        self.write_continue()
        self.taken = True
        data = b"".join(self._parts)
        self._parts = []
        self.held = 0
        if len(data) > limit:
            self.consumed += limit + 1
            return data[: limit + 1], True
        if self.body_error is not None:
            raise BodyError(self.body_error)
        self.consumed += len(data)
        return data, False

    async def read_body(self, limit: int) -> tuple[bytes, bool]:
        """`take_body` once the body is ready, sending `100 Continue` first when the client
        waits for it."""
        self.write_continue()
        while not self.body_ready(limit):
            loop = asyncio.get_running_loop()
            self._waiter = loop.create_future()
            self._conn.body_wanted()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self.take_body(limit)

    @property
    def closing(self) -> bool:
        return self.lost or self._conn.closing

    def peer_certificate(self) -> dict[str, Any] | None:
        """The client's verified TLS certificate, for etcd's client-cert-auth users."""
        return self._conn.peer_certificate()


class Response:
    """A whole answer. `headers` are the handler's (names as Go canonicalizes them)."""

    __slots__ = ("body", "close", "headers", "status")

    def __init__(
        self, status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers if headers is not None else {}
        self.close = False

    def force_close(self) -> None:
        """End the connection after this answer (Go: closeAfterReply)."""
        self.close = True


def body_allowed(status: int) -> bool:
    """Go's bodyAllowedForStatus."""
    return not (100 <= status < 200 or status in (204, 304))


def encode_head(
    status: int,
    headers: dict[str, str],
    http10: bool,
    length: int | None,
    close: bool,
    keep_alive_10: bool,
    chunked: bool,
) -> bytes:
    """The head of an answer as Go writes it: the handler's headers sorted by name, then Date,
    Content-Length (when `length` is given), Connection (`close` on HTTP/1.1 when closing,
    `keep-alive` for an HTTP/1.0 client kept), Transfer-Encoding."""
    parts = [status_line(status, http10)]
    for name in sorted(headers):
        parts.append(f"{name}: {headers[name]}\r\n".encode("utf-8", "surrogateescape"))
    parts.append(_DATE.get())
    if length is not None:
        parts.append(b"Content-Length: %d\r\n" % length)
    if close:
        if not http10:
            parts.append(b"Connection: close\r\n")
    elif http10 and keep_alive_10:
        parts.append(b"Connection: keep-alive\r\n")
    if chunked:
        parts.append(b"Transfer-Encoding: chunked\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def encode_response(req: Request, resp: Response, close: bool) -> tuple[bytes, bool]:
    """The bytes of a whole answer to `req`, and whether the connection ends after it."""
    status = resp.status
    body = resp.body
    http10 = req.http10
    close = close or resp.close or not req.keep_alive
    length: int | None = None
    chunked = False
    send_body = body
    if not body_allowed(status):
        send_body = b""
    elif req.method == "HEAD":
        send_body = b""
        if 0 < len(body) <= CHUNKING_THRESHOLD:
            length = len(body)
    elif len(body) <= CHUNKING_THRESHOLD:
        length = len(body)
    elif http10:
        close = True  # the body runs until the connection ends
    else:
        chunked = True
    head = encode_head(status, resp.headers, http10, length, close, req.keep_alive, chunked)
    if chunked:
        return head + b"%x\r\n" % len(send_body) + send_body + b"\r\n0\r\n\r\n", close
    return head + send_body, close


class StreamResponse:
    """An answer whose body is written as it goes: chunked on HTTP/1.1, until the connection
    ends on HTTP/1.0. Each write goes out at once (etcd flushes after every event)."""

    __slots__ = ("_request", "close", "headers", "prepared", "status")

    def __init__(self, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.headers = headers if headers is not None else {}
        self._request: Request | None = None
        self.prepared = False
        self.close = False

    async def prepare(self, request: Request) -> None:
        self._request = request
        self.prepared = True
        http10 = request.http10
        head_only = request.method == "HEAD" or not body_allowed(self.status)
        self.close = http10 and not head_only
        if request.closing:
            raise ConnectionResetError("client went away")
        request._conn.write(
            encode_head(
                self.status,
                self.headers,
                http10,
                None,
                self.close or not request.keep_alive,
                False,
                not http10 and not head_only,
            )
        )

    async def write(self, data: bytes) -> None:
        req = self._request
        assert req is not None, "prepare() first"
        if req.closing:
            raise ConnectionResetError("client went away")
        if not data or req.method == "HEAD":
            return
        if req.http10:
            req._conn.write(data)
        else:
            req._conn.write(b"%x\r\n" % len(data) + data + b"\r\n")
        await req._conn.drain()

    async def write_eof(self) -> None:
        req = self._request
        assert req is not None, "prepare() first"
        if not req.http10 and req.method != "HEAD" and not req.closing:
            req._conn.write(b"0\r\n\r\n")


Answer = Response | StreamResponse
