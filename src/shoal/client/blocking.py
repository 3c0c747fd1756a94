"""One HTTP/1.1 exchange at a time over a plain socket, for command-line clients that send a
request or two and exit: no event loop and no HTTP framework to import (they cost a short-lived
command most of its run time). Connections are kept per endpoint for the next request.

    conn = Connections(ssl_context)
    status, headers, body = conn.exchange("http://127.0.0.1:2379", "GET", "/v2/keys/a", {},
                                          None, timeout=2.0)

Failures raise `Failure` with the text Go's net/http gives (as shoal.client.errors.describe
words aiohttp's), and whether it is a connection error, or `HeaderTimeout`.
"""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

_ERRNO_TEXT = {
    errno.ECONNREFUSED: "connection refused",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network is unreachable",
    errno.ECONNRESET: "connection reset by peer",
    errno.ETIMEDOUT: "connection timed out",
}

MAX_HEAD = 1 << 20


class Failure(Exception):
    def __init__(self, text: str, connection: bool) -> None:
        super().__init__(text)
        self.text = text
        self.connection = connection


class HeaderTimeout(Exception):
    """No response headers within the per-request timeout."""


def _split(endpoint: str) -> tuple[str, str, int]:
    scheme, _, rest = endpoint.partition("://")
    hostport = rest.split("/", 1)[0]
    if hostport.startswith("["):
        host, _, port = hostport[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    default = 443 if scheme == "https" else 80
    return scheme, host, int(port) if port.isdigit() else default


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Reader:
    __slots__ = ("buf", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def until(self, sep: bytes, limit: int) -> bytes:
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + len(sep) :]
                return out
            if len(self.buf) > limit:
                raise ValueError("response head too large")
            self.more()

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def rest(self) -> bytes:
        try:
            while True:
                self.more()
        except EOFError:
            pass
        out, self.buf = self.buf, b""
        return out


class Connections:
    """Kept-alive connections, one per endpoint."""

    def __init__(
        self, ssl_context: ssl.SSLContext | None = None, dial_timeout: float | None = None
    ) -> None:
        self._ssl = ssl_context
        self._dial_timeout = dial_timeout
        self._socks: dict[str, socket.socket] = {}

    def close(self) -> None:
        for s in self._socks.values():
            s.close()
        self._socks.clear()

    def _dial(self, endpoint: str, timeout: float | None) -> socket.socket:
        scheme, host, port = _split(endpoint)
        try:
            dial = self._dial_timeout if self._dial_timeout is not None else timeout
            sock = socket.create_connection((host, port), timeout=dial)
        except TimeoutError:
            raise Failure(f"dial tcp {host_port(host, port)}: i/o timeout", True) from None
        except OSError as e:
            text = _ERRNO_TEXT.get(e.errno or 0) or e.strerror or str(e)
            raise Failure(f"dial tcp {host_port(host, port)}: connect: {text}", True) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "https":
            import ssl

            ctx = self._ssl if self._ssl is not None else ssl.create_default_context()
            try:
                sock = ctx.wrap_socket(sock, server_hostname=host)
            except (OSError, ssl.SSLError) as e:
                sock.close()
                raise Failure(str(e), True) from None
        return sock

    def exchange(
        self,
        endpoint: str,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float | None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request and read its answer. A kept connection that the server closed
        meanwhile is dialled again once."""
        sock = self._socks.pop(endpoint, None)
        fresh = sock is None
        if sock is None:
            sock = self._dial(endpoint, timeout)
        _, host, port = _split(endpoint)
        head = [f"{method} {target} HTTP/1.1", f"Host: {host_port(host, port)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            head.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("utf-8", "surrogateescape") + (body or b"")
        try:
            sock.settimeout(timeout)
            sock.sendall(data)
            status, hdrs, payload, keep = self._read(sock, method)
        except TimeoutError:
            sock.close()
            raise HeaderTimeout() from None
        except (EOFError, ConnectionResetError, BrokenPipeError) as e:
            sock.close()
            if not fresh:
                return self.exchange(endpoint, method, target, headers, body, timeout)
            if isinstance(e, EOFError):
                raise Failure("EOF", True) from None
            raise Failure(
                f"read tcp {host_port(host, port)}: connection reset by peer", True
            ) from None
        except (OSError, ValueError) as e:
            sock.close()
            raise Failure(f"read tcp {host_port(host, port)}: {e}", True) from None
        if keep:
            self._socks[endpoint] = sock
        else:
            sock.close()
        return status, hdrs, payload

    @staticmethod
    def _read(sock: socket.socket, method: str) -> tuple[int, dict[str, str], bytes, bool]:
        r = _Reader(sock)
        while True:
            head = r.until(b"\r\n\r\n", MAX_HEAD).decode("latin-1")
            lines = head.split("\r\n")
            parts = lines[0].split(" ", 2)
            status = int(parts[1])
            if status != 100:
                break
        sock.settimeout(None)  # the timeout bounds the wait for headers only
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().title()] = value.strip()
        keep = parts[0] == "HTTP/1.1" and headers.get("Connection", "").lower() != "close"
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return status, headers, b"", keep
        if headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(r.until(b"\r\n", 4096).split(b";")[0].strip(), 16)
                if size == 0:
                    while r.until(b"\r\n", MAX_HEAD):
                        pass  # trailers
                    break
                chunks.append(r.exactly(size))
                r.exactly(2)
            return status, headers, b"".join(chunks), keep
        length = headers.get("Content-Length")
        if length is not None:
            return status, headers, r.exactly(int(length)), keep
        return status, headers, r.rest(), False
