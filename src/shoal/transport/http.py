"""Just enough HTTP/1.1 for the peer port's few plain endpoints (sans-IO).

The peer port's hot traffic is the framed raft stream; HTTP there serves a handful of small
requests from tools (`curl`, a joining member reading /members, the nemesis setting faults).
A parser of a few dozen lines keeps both on one listening socket without putting an HTTP
framework in the raft stream's path. Bodies need a Content-Length (no chunked uploads).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus

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

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[HttpRequest]:
        self._buf += data
        out: list[HttpRequest] = []
        while True:
            req = self._one()
            if req is None:
                return out
            out.append(req)

    def _one(self) -> HttpRequest | None:
        buf = self._buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD:
                raise HttpError(431, "request header too large")
            return None
        try:
            head = bytes(buf[:end]).decode("latin-1")
        except UnicodeDecodeError as e:  # pragma: no cover - latin-1 decodes any byte
            raise HttpError(400, str(e)) from e
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise HttpError(400, f"malformed request line {lines[0]!r}")
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise HttpError(400, f"malformed header line {line!r}")
            headers[name.lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise HttpError(501, "chunked request bodies are not supported on the peer port")
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError as e:
            raise HttpError(400, "bad Content-Length") from e
        if length < 0 or length > MAX_BODY:
            raise HttpError(413, f"request body over {MAX_BODY} bytes")
        start = end + 4
        if len(buf) < start + length:
            return None
        body = bytes(buf[start : start + length])
        del buf[: start + length]
        path, _, query = target.partition("?")
        conn = headers.get("connection", "").lower()
        keep_alive = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
        return HttpRequest(method, path, query, headers, body, keep_alive)


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
