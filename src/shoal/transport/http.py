"""HTTP/1.1 for the peer port's few plain endpoints (sans-IO): requests parsed by httptools
(llhttp, the parser Node.js uses), answers formatted here.

The peer port's hot traffic is the framed raft stream; HTTP there serves a handful of small
requests from tools (`curl`, a joining member reading /members, the nemesis setting faults).
A parser that is fed bytes keeps both on one listening socket without putting an HTTP
framework in the raft stream's path. Bodies need a Content-Length (no chunked uploads).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus

import httptools

MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024


class HttpError(Exception):
    """A request that cannot be parsed; the connection answers `status` and closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True, frozen=True)
class HttpRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    """Header names lowercased; a repeated header keeps its last value."""
    body: bytes
    keep_alive: bool


class RequestParser:
    """Feed bytes, get complete requests (several if the client pipelines them)."""

    __slots__ = ("_body", "_body_size", "_done", "_head_size", "_headers", "_parser", "_url")

    def __init__(self) -> None:
        self._parser = httptools.HttpRequestParser(self)
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._body_size = 0
        self._head_size = 0
        self._done: list[HttpRequest] = []

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = {}
        self._body = []
        self._body_size = 0
        self._head_size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._grow(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._grow(len(name) + len(value) + 4)
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1").strip()

    def on_headers_complete(self) -> None:
        if "chunked" in self._headers.get("transfer-encoding", "").lower():
            # Nothing the peer port serves takes a streamed body; refusing it at once means
            # no request waits on a body that may never end.
            raise HttpError(501, "chunked request bodies are not supported on the peer port")
        raw = self._headers.get("content-length", "")
        if raw.isdigit() and int(raw) > MAX_BODY:
            raise HttpError(413, f"request body over {MAX_BODY} bytes")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)
        self._body_size += len(body)
        if self._body_size > MAX_BODY:
            raise HttpError(413, f"request body over {MAX_BODY} bytes")

    def on_message_complete(self) -> None:
        p = self._parser
        target = self._url.decode("latin-1")
        path, _, query = target.partition("?")
        method = p.get_method().decode("latin-1")
        self._done.append(
            HttpRequest(
                method, path, query, self._headers, b"".join(self._body), p.should_keep_alive()
            )
        )

    def _grow(self, n: int) -> None:
        self._head_size += n
        if self._head_size > MAX_HEAD:
            raise HttpError(431, "request header too large")

    def feed(self, data: bytes) -> list[HttpRequest]:
        try:
            self._parser.feed_data(data)
        except HttpError:
            raise
        except httptools.HttpParserError as e:
            cause = e.__context__
            if isinstance(cause, HttpError):  # raised by a callback
                raise cause from None
            raise HttpError(400, str(e) or "malformed request") from None
        out, self._done = self._done, []
        return out


def format_response(
    status: int,
    body: bytes = b"",
    content_type: str = "text/plain; charset=utf-8",
    headers: dict[str, str] | None = None,
    keep_alive: bool = True,
    head_only: bool = False,
) -> bytes:
    """A complete HTTP/1.1 response with Content-Length (HEAD: the headers only)."""
    reason = HTTPStatus(status).phrase
    lines = [f"HTTP/1.1 {status} {reason}"]
    if body or status not in (204, 304):
        lines.append(f"Content-Type: {content_type}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    lines.append(f"Date: {formatdate(usegmt=True)}")
    lines.append(f"Content-Length: {len(body)}")
    if not keep_alive:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + body
