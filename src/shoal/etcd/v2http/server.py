"""The client port's HTTP/1.1 server: an asyncio protocol per connection that reads requests
with Go's rules (`wire.RequestReader`), hands each to the router, and writes the answers as
Go's net/http server writes them (`message`), in order, one request at a time per connection
as Go serves them.

    HTTPServer(dispatch)          `await start([(host, port), ...])`, `addresses`,
                                  `await stop(grace)`

`dispatch(request)` returns a `Response` when it can answer at once (a read of the local store
needs no task, no extra loop turn), or a coroutine that returns the answer (writes, watches).
A coroutine is not cancelled when its client leaves: an accepted write goes on, as etcd's
handlers use a background context; a watch learns of it through `Request.on_lost`.

After a handler answered, a body it did not read is dealt with as Go does: up to 256 KiB more
are read and dropped before the answer goes out and the connection is kept; beyond that, or
when a client still waits for `100 Continue`, the answer says `Connection: close`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

from shoal.etcd.v2http import wire
from shoal.etcd.v2http.message import (
    Answer,
    Headers,
    Request,
    Response,
    StreamResponse,
    date_header,
    encode_response,
)

if TYPE_CHECKING:
    from ssl import SSLContext

log = logging.getLogger("shoal.v2http")

Dispatch = Callable[[Request], Answer | Coroutine[Any, Any, Answer]]

MAX_POST_HANDLER_READ = 256 << 10
"""Go's maxPostHandlerReadBytes: unread body Go reads and drops after an answer to keep the
connection; past it the connection closes."""

MAX_HELD_BODY = (10 << 20) + 1
"""Body bytes kept for a handler that has not read them yet (Go's ParseForm limit + 1: no
handler reads more)."""

PAUSE_HELD = 1 << 20
"""Stop reading a connection while this much body waits for a handler that is not reading."""

MAX_QUEUED = 32
"""Pipelined requests read ahead of the one being answered before reading pauses."""

_INTERNAL_ERROR = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Connection: close\r\n\r\n500 Internal Server Error"
)


class _Refusal:
    """A place in the queue where the reader refused: Go answers it (or not) and closes."""

    __slots__ = ("answer", "dated")

    def __init__(self, answer: bytes | None, dated: bool) -> None:
        self.answer = answer
        self.dated = dated


class _Connection(asyncio.Protocol):
    __slots__ = (
        "_active",
        "_drain_waiter",
        "_ending",
        "_held",
        "_last",
        "_paused_reading",
        "_paused_writing",
        "_queue",
        "_reader",
        "_server",
        "_transport",
        "closing",
    )

    def __init__(self, server: HTTPServer) -> None:
        self._server = server
        self._reader = wire.RequestReader()
        self._transport: asyncio.Transport | None = None
        self._queue: deque[Request | _Refusal] = deque()
        self._last: Request | None = None  # the request body events belong to
        self._active: Request | None = None  # the request being answered
        self._held: Response | None = None  # an answer waiting for its body to be dropped
        self._ending: Request | None = None  # answered; its body is dropped, then we close
        self._paused_reading = False
        self._paused_writing = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self.closing = False

    # -- transport callbacks -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self._server.connections.discard(self)
        for req in (self._active, *self._queue):
            if isinstance(req, Request):
                req.connection_lost()
        self._queue.clear()
        self._held = None
        w = self._drain_waiter
        if w is not None and not w.done():
            w.set_exception(ConnectionResetError("client went away"))

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        w = self._drain_waiter
        if w is not None and not w.done():
            w.set_result(None)

    def eof_received(self) -> bool:
        # The client half-closed: Go answers what it read, then the connection ends; the
        # request being answered learns its client left (a watch ends).
        last = self._last
        if last is not None and not last.body_done and last.body_error is None:
            last.fail("unexpected EOF")
        if self._active is not None:
            self._active.connection_lost()
        if self._ending is not None:
            self._close()  # the body it waited for will not come
            return False
        if self._held is not None:
            self._send_held(close=True)  # the rest of its body will not come either
        self._queue.append(_Refusal(None, False))
        self._next()
        # Keep the write side open for the answers; TLS cannot half-close (asyncio warns when
        # asked to), so an https connection closes once they are written.
        t = self._transport
        return t is None or t.get_extra_info("sslcontext") is None

    def data_received(self, data: bytes) -> None:
        for ev in self._reader.feed(data):
            self._event(ev)
        self._next()
        self._flow()

    # -- reading -------------------------------------------------------------------------

    def _event(self, ev: wire.Event) -> None:
        ending = self._ending
        if ending is not None:
            # Go's body.Close after a closing answer: up to 256 KiB of what follows is read
            # as the body and dropped, then the connection ends.
            if isinstance(ev, wire.Body):
                ending.feed(ev.data, False)
                if ending.received - ending.consumed < MAX_POST_HANDLER_READ:
                    return
            self._close()
            return
        if isinstance(ev, wire.Body):
            req = self._last
            if req is not None:
                keep = req is not self._active or self._held is None
                req.feed(ev.data, keep and req.held < MAX_HELD_BODY)
                if self._held is not None and req is self._active:
                    self._dropping(req)
        elif isinstance(ev, wire.Head):
            req = Request(
                self,
                ev.method,
                ev.target,
                ev.version,
                Headers(ev.headers),
                ev.keep_alive,
                ev.length,
            )
            self._last = req
            self._queue.append(req)
        elif isinstance(ev, wire.BodyEnd):
            req = self._last
            if req is not None:
                req.end()
                if self._held is not None and req is self._active:
                    self._send_held(close=False)
        elif isinstance(ev, wire.BodyError):
            req = self._last
            if req is not None:
                req.fail(ev.text)
                if self._held is not None and req is self._active:
                    self._send_held(close=True)
        else:
            self._queue.append(_Refusal(ev.answer, ev.dated))

    def body_wanted(self) -> None:
        """A handler waits for body bytes: read on."""
        self._flow()

    def _flow(self) -> None:
        """Pause reading while enough is read ahead (pipelined requests, a body no handler is
        reading), resume when it is taken."""
        t = self._transport
        if t is None or self.closing:
            return
        last = self._last
        held = last.held if last is not None and not last.reading else 0
        full = len(self._queue) >= MAX_QUEUED or held >= PAUSE_HELD
        if full and not self._paused_reading:
            self._paused_reading = True
            t.pause_reading()
        elif not full and self._paused_reading:
            self._paused_reading = False
            t.resume_reading()

    # -- answering -----------------------------------------------------------------------

    def _next(self) -> None:
        """Start on the next request when none is being answered."""
        while self._active is None and self._queue and not self.closing and self._ending is None:
            item = self._queue.popleft()
            if isinstance(item, _Refusal):
                self._refuse(item)
                return
            self._active = item
            try:
                result = self._server.dispatch(item)
            except Exception:
                log.exception("v2 request %s %s failed", item.method, item.raw_path)
                self._fail()
                return
            if isinstance(result, Response | StreamResponse):
                self._answered(item, result)
            else:
                task = asyncio.get_running_loop().create_task(result)
                self._server.tasks.add(task)
                task.add_done_callback(functools.partial(self._task_done, item))
        self._flow()

    def _task_done(self, req: Request, task: asyncio.Task[Answer]) -> None:
        self._server.tasks.discard(task)
        if self.closing or req is not self._active:
            if not task.cancelled():
                task.exception()  # retrieved: a client that left needs no answer
            return
        if task.cancelled():
            self._fail()
            return
        exc = task.exception()
        if exc is not None:
            log.error("v2 request %s %s failed: %r", req.method, req.raw_path, exc)
            self._fail()
            return
        self._answered(req, task.result())
        self._next()

    def _answered(self, req: Request, resp: Answer) -> None:
        if isinstance(resp, StreamResponse):
            if not resp.prepared:
                # A stream answer never started: answer it whole (headers only).
                whole = Response(resp.status, b"", resp.headers)
                self._answered(req, whole)
                return
            self._done(req, close=resp.close or not req.keep_alive or req.body_error is not None)
            return
        # A body the handler did not read to its end, judged by what the handler took (as Go
        # judges it), not by what has arrived.
        # A broken body: what follows cannot be read, the connection ends. Go says so in the
        # answer unless the handler itself met the client's end of the stream (then the
        # client closed its side: eof_received queued the end).
        broken = req.body_error is not None
        close = broken and not (req.lost and req.taken)
        unread = (
            not broken and req.length != 0 and not (req.body_done and req.consumed == req.received)
        )
        if not close and unread:
            if req.expects_continue and not req.continue_sent:
                # The client may send its body yet (after its own timeout): Go answers with
                # `Connection: close`, then reads what comes as that body and closes.
                data, _ = encode_response(req, resp, True)
                self.write(data)
                self._active = None
                self._queue.clear()
                if req.body_done:
                    self._close()
                else:
                    self._ending = req
                return
            # Go gives up past 256 KiB: left by a Content-Length, or already read (chunked).
            left = req.length - req.consumed if req.length > 0 else 0
            if left >= MAX_POST_HANDLER_READ or req.received - req.consumed > MAX_POST_HANDLER_READ:
                close = True
            elif not req.body_done:
                # Read the rest (up to 256 KiB) before answering, as Go does.
                self._held = resp
                self._dropping(req)
                return
        data, close = encode_response(req, resp, close)
        self._write_answer(req, data, close)

    def _dropping(self, req: Request) -> None:
        if req.received - req.consumed > MAX_POST_HANDLER_READ:
            self._send_held(close=True)

    def _send_held(self, close: bool) -> None:
        req, resp = self._active, self._held
        self._held = None
        if req is None or resp is None:
            return
        data, close = encode_response(req, resp, close)
        self._write_answer(req, data, close)
        self._next()

    def _write_answer(self, req: Request, data: bytes, close: bool) -> None:
        t = self._transport
        if t is not None and not self.closing:
            t.write(data)
        self._done(req, close)

    def _done(self, req: Request, close: bool) -> None:
        self._active = None
        if close:
            self._close()

    def _refuse(self, item: _Refusal) -> None:
        t = self._transport
        if t is not None and not self.closing and item.answer is not None:
            answer = item.answer
            if item.dated:
                answer += date_header() + b"\r\n"
            t.write(answer)
        self._close()

    def _fail(self) -> None:
        t = self._transport
        if t is not None and not self.closing:
            t.write(_INTERNAL_ERROR)
        self._active = None
        self._close()

    def _close(self) -> None:
        self.closing = True
        t = self._transport
        if t is not None:
            t.close()

    # -- for requests --------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        t = self._transport
        if t is not None and not self.closing:
            t.write(data)

    def peer_certificate(self) -> dict[str, Any] | None:
        t = self._transport
        if t is None or t.get_extra_info("sslcontext") is None:
            return None
        cert: dict[str, Any] | None = t.get_extra_info("peercert")
        return cert

    async def drain(self) -> None:
        if self.closing:
            raise ConnectionResetError("client went away")
        if not self._paused_writing:
            return
        w = asyncio.get_running_loop().create_future()
        self._drain_waiter = w
        try:
            await w
        finally:
            self._drain_waiter = None

    @property
    def idle(self) -> bool:
        return self._active is None and not self._queue

    def shut(self) -> None:
        """The server stops: end the connection now."""
        self._close()


class HTTPServer:
    """Listens on addresses and serves each connection with `dispatch`."""

    def __init__(self, dispatch: Dispatch) -> None:
        self.dispatch = dispatch
        self.connections: set[_Connection] = set()
        self.tasks: set[asyncio.Task[Answer]] = set()
        self._servers: list[asyncio.Server] = []
        self.addresses: list[tuple[str, int]] = []

    async def listen(
        self, host: str, port: int, ssl: SSLContext | None = None
    ) -> list[tuple[str, int]]:
        """Serve on host:port (TLS with `ssl`); the addresses bound."""
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(
            lambda: _Connection(self), host, port, reuse_address=True, backlog=1024, ssl=ssl
        )
        self._servers.append(srv)
        bound = [(s.getsockname()[0], s.getsockname()[1]) for s in srv.sockets]
        self.addresses += bound
        return bound

    async def stop(self, grace: float, before: Callable[[], None] | None = None) -> None:
        """Stop listening; close idle connections; give answers in progress `grace` seconds
        (`before` runs first: it ends open watches), then cancel them and close the rest."""
        servers, self._servers = self._servers, []
        for srv in servers:
            srv.close()
        if before is not None:
            before()
        for conn in list(self.connections):
            if conn.idle:
                conn.shut()
        pending = list(self.tasks)
        if pending:
            _, left = await asyncio.wait(pending, timeout=grace)
            for task in left:
                task.cancel()
            if left:
                await asyncio.wait(left, timeout=grace)
        for conn in list(self.connections):
            conn.shut()
        for srv in servers:
            await srv.wait_closed()
