"""The client API as an aiohttp Application, for embedding it beside other routes: aiohttp
reads the requests, the router answers them, and the answers are written byte for byte as
`ClientListener` writes them (shoal.etcd.v2http.message), aiohttp being told they are sent.

    make_app(router)     the Application (one catch-all route)
    runner_options()     AppRunner options matching etcd's client port

aiohttp's parser is not Go's (it refuses some requests etcd takes, see wire.py); the member
itself is served by shoal.etcd.v2http.server.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from shoal.etcd import facts
from shoal.etcd.v2http.message import (
    Headers,
    Request,
    Response,
    StreamResponse,
    encode_response,
)
from shoal.gocompat.nethttp import MAX_FORM_BYTES

if TYPE_CHECKING:
    from shoal.etcd.v2http.api import Router


class _Conn:
    """message.Conn over an aiohttp request: writes go to its transport, the body is pumped
    from aiohttp's stream when the handler first wants it."""

    def __init__(self, request: web.Request) -> None:
        self._request = request
        self.req: Request | None = None
        self._pump: asyncio.Task[None] | None = None

    @property
    def closing(self) -> bool:
        t = self._request.transport
        return t is None or t.is_closing()

    def write(self, data: bytes) -> None:
        t = self._request.transport
        if t is not None and not t.is_closing():
            t.write(data)

    def peer_certificate(self) -> dict[str, Any] | None:
        t = self._request.transport
        if t is None or t.get_extra_info("sslcontext") is None:
            return None
        cert: dict[str, Any] | None = t.get_extra_info("peercert")
        return cert

    async def drain(self) -> None:
        if self.closing:
            raise ConnectionResetError("client went away")
        await self._request.writer.drain()

    def body_wanted(self) -> None:
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        req = self.req
        assert req is not None
        content = self._request.content
        try:
            while True:
                part = await content.readany()
                if not part:
                    break
                req.feed(part, req.held <= MAX_FORM_BYTES)
            req.end()
        except Exception as e:  # a broken body: what the handler's read gets
            req.fail(str(e) or type(e).__name__)


class _Sent(web.StreamResponse):
    """An answer already written to the transport: aiohttp writes nothing more."""

    def __init__(self, close: bool) -> None:
        super().__init__(status=200)
        if close:
            self.force_close()

    async def prepare(self, request: web.BaseRequest) -> Any:
        self._eof_sent = True
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


def make_app(router: Router) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        conn = _Conn(request)
        length = request.content_length
        chunked = request.headers.get("Transfer-Encoding", "").lower() == "chunked"
        req = Request(
            conn,
            request.method,
            request.raw_path,
            (request.version.major, request.version.minor),
            Headers(list(request.headers.items())),
            request.keep_alive,
            -1 if chunked else (length or 0),
        )
        conn.req = req
        result = router.dispatch(req)
        if not isinstance(result, Response | StreamResponse):
            # Shielded: an accepted write goes on when aiohttp cancels a handler whose
            # client left.
            result = await asyncio.shield(asyncio.ensure_future(result))
        if isinstance(result, StreamResponse):
            if result.prepared:
                return _Sent(True)
            result = Response(result.status, b"", result.headers)
        data, close = encode_response(req, result, False)
        conn.write(data)
        return _Sent(close or not req.body_done)

    app = web.Application()
    # 100-continue is sent by the handlers when they read a body, as Go does.
    app.router.add_route("*", "/{tail:.*}", handle, expect_handler=_no_expect_handling)

    async def end_watches(_: web.Application) -> None:
        router.close()

    app.on_shutdown.append(end_watches)
    return app


async def _no_expect_handling(request: web.Request) -> None:
    return None


def runner_options() -> dict[str, object]:
    """AppRunner options matching etcd's client port: a request line of at most 4096 bytes,
    1 MiB headers, handlers cancelled when their client disconnects (watches are removed
    then), no access log."""
    return {
        "handler_cancellation": True,
        "max_line_size": facts.MAX_REQUEST_LINE - len("GET ") - len(" HTTP/1.1\r\n"),
        "max_field_size": facts.MAX_HEADER_BYTES,
        "access_log": None,
    }
