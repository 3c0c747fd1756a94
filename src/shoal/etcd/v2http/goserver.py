"""aiohttp's low-level server with Go's request reading (wire.RequestReader) in place of its C
parser: the requests etcd takes are taken, the ones it refuses get Go's answer, byte for byte.

    GoServer(handler, **runner_options)    a web.Server whose connections read requests as Go
    BodyError                              what read_body raises when a chunked body is broken

aiohttp's parts are reused as they are (request objects, responses, keep-alive, pipelining
queue, flow control); only the protocol's parser is swapped, through the interface aiohttp's
RequestHandler calls (`feed_data`, `feed_eof`, ...). That interface is aiohttp's internal one
(pinned in pyproject); issue 13's own HTTP server is expected to drive wire.RequestReader
directly and retire this module.
"""

from __future__ import annotations

import asyncio
from email.utils import formatdate
from typing import Any

from aiohttp import web
from aiohttp.http_parser import RawRequestMessage
from aiohttp.http_writer import HttpVersion
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader
from aiohttp.web_protocol import RequestHandler, _ErrInfo
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from shoal.etcd.v2http import wire

_HTTP10, _HTTP11 = HttpVersion(1, 0), HttpVersion(1, 1)


class BodyError(Exception):
    """The request body broke off (a malformed chunk); `str(err)` is Go's text."""


class _Refusal(Exception):
    """A request Go's server would not read: its raw answer (None: close without one)."""

    def __init__(self, answer: bytes | None, dated: bool) -> None:
        super().__init__("refused")
        self.answer = answer
        self.dated = dated


MAX_POST_HANDLER_READ = 256 << 10
"""Go's maxPostHandlerReadBytes: how much of a body the handler left unread the server reads
(and throws away) before answering, to keep the connection; beyond it, or on a broken body,
the answer says `Connection: close`."""


class _GoBody(StreamReader):
    """A request body as the parser feeds it. Once broken it reads as Go's body does (the
    error, every time) and counts as finished for aiohttp, which then does not linger on it."""

    failed = False

    def fail(self, text: str) -> None:
        self.failed = True
        self.set_exception(BodyError(text))

    def is_eof(self) -> bool:
        return self.failed or super().is_eof()


class _GoRequest(web.BaseRequest):
    async def _prepare_hook(self, response: web.StreamResponse) -> None:
        # Go's finalizeHeaders: before the first byte of an answer, settle the unread body.
        body = self.content
        if not isinstance(body, _GoBody) or (body.at_eof() and not body.failed):
            return
        if not body.failed and "100-continue" not in self.headers.get("Expect", "").lower():
            try:
                left = MAX_POST_HANDLER_READ + 1
                while left > 0:
                    chunk = await body.read(left)
                    if not chunk:
                        return  # read to its end: the connection stays open
                    left -= len(chunk)
            except BodyError:
                pass
        # Broken, too big to throw away, or a 100-continue body never asked for: the answer
        # goes out (headers already prepared, so the close is said here) and the connection
        # ends after it.
        response.force_close()
        if self.version == _HTTP11:
            response.headers["Connection"] = "close"
        else:
            response.headers.popall("Connection", None)


class _RawAnswer(web.StreamResponse):
    """Go's own answer to an unreadable request: bytes written as they are, then close."""

    def __init__(self, answer: bytes | None, dated: bool) -> None:
        super().__init__(status=400)
        self._answer = answer
        self._dated = dated
        self.force_close()

    async def prepare(self, request: web.BaseRequest) -> Any:
        transport = request.transport
        answer = self._answer
        if answer is not None and transport is not None and not transport.is_closing():
            if self._dated:
                answer += f"Date: {formatdate(usegmt=True)}\r\n\r\n".encode()
            transport.write(answer)
        self._eof_sent = True
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


class _Parser:
    """The parser interface aiohttp's RequestHandler drives, over wire.RequestReader."""

    def __init__(self, protocol: RequestHandler, loop: asyncio.AbstractEventLoop, limit: int):
        self._protocol = protocol
        self._loop = loop
        self._limit = limit
        self._reader = wire.RequestReader()
        self._payload: _GoBody | None = None

    def feed_data(self, data: bytes) -> tuple[list[tuple[Any, StreamReader]], bool, bytes]:
        messages: list[tuple[Any, StreamReader]] = []
        for event in self._reader.feed(data):
            if isinstance(event, wire.Body):
                if self._payload is not None:
                    self._payload.feed_data(event.data)
            elif isinstance(event, wire.Head):
                messages.append((self._message(event), self._start_payload(event)))
            elif isinstance(event, wire.BodyEnd):
                if self._payload is not None:
                    self._payload.feed_eof()
                    self._payload = None
            elif isinstance(event, wire.BodyError):
                # The reader takes nothing more; the answer to this request closes the
                # connection (_GoRequest._prepare_hook), as Go's does.
                if self._payload is not None:
                    self._payload.fail(event.text)
                    self._payload = None
            else:
                err = _ErrInfo(status=400, exc=_Refusal(event.answer, event.dated), message="")
                messages.append((err, EMPTY_PAYLOAD))
        return messages, False, b""

    def _start_payload(self, head: wire.Head) -> StreamReader:
        if head.length == 0:
            return EMPTY_PAYLOAD
        payload = _GoBody(self._protocol, self._limit, loop=self._loop)
        self._payload = payload
        return payload

    @staticmethod
    def _message(head: wire.Head) -> RawRequestMessage:
        raw_headers = tuple(
            (k.encode(), v.encode("utf-8", "surrogateescape")) for k, v in head.headers
        )
        path, _, query = head.target.partition("?")
        try:
            url = URL.build(path=path, query_string=query, encoded=True)
        except ValueError:
            url = URL.build(path="/", encoded=True)  # handlers read raw_path, not this
        return RawRequestMessage(
            head.method,
            head.target,
            # Go answers every 1.x request above 1.0 as HTTP/1.1.
            _HTTP11 if head.version > (1, 0) else _HTTP10,
            CIMultiDictProxy(CIMultiDict(head.headers)),
            raw_headers,
            not head.keep_alive,
            None,
            False,
            head.chunked,
            url,
        )

    def feed_eof(self) -> None:
        if self._payload is not None:
            self._payload.fail("unexpected EOF")
            self._payload = None

    def message_consumed(self) -> None:
        return None

    def pause_reading(self) -> None:
        return None

    def set_upgraded(self, val: bool) -> None:
        return None


class _GoRequestHandler(RequestHandler):
    def __init__(self, manager: web.Server, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._parser = _Parser(self, kwargs["loop"], self._read_bufsize)  # type: ignore[assignment]

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if isinstance(exc, _Refusal):
            return _RawAnswer(exc.answer, exc.dated)
        return super().handle_error(request, status, exc, message)


class GoServer(web.Server):
    """web.Server whose connections read requests the way etcd's client port does."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, request_factory=self._go_request, **kwargs)

    def _go_request(
        self,
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: RequestHandler,
        writer: Any,
        task: asyncio.Task[None],
    ) -> web.BaseRequest:
        return _GoRequest(message, payload, protocol, writer, task, self._loop)

    def __call__(self) -> RequestHandler:
        return _GoRequestHandler(self, loop=self._loop, **self._kwargs)
