"""What can go wrong talking to etcd, as exceptions a caller can branch on.

The texts follow the Go v2 client (release-3.4 `client/`), because etcdctl prints them verbatim:
`EtcdError` is `<code>: <message> (<cause>) [<index>]`, `ClusterError` lists one line per
endpoint tried, and connection failures read like Go's net errors (`dial tcp H:P: connect:
connection refused`).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shoal.client.model import ErrorBody
from shoal.client.protocol import CLUSTER_UNAVAILABLE, DEADLINE_EXCEEDED

if TYPE_CHECKING:
    from yarl import URL
from shoal.client.urls import URLsError, new_urls


class ClientError(Exception):
    """Base of every error this client raises."""


class EtcdError(ClientError):
    """etcd answered with an error body (errorCode/message/cause/index).

    `index` is the body's index; `etcd_index` the X-Etcd-Index header (0 when absent).
    """

    def __init__(self, body: ErrorBody, *, status: int = 0, etcd_index: int = 0) -> None:
        self.code = body.code
        self.message = body.message
        self.cause = body.cause
        self.index = body.index
        self.status = status
        self.etcd_index = etcd_index
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.code}: {self.message} ({self.cause}) [{self.index}]"


@dataclass(frozen=True, slots=True)
class EndpointError:
    """Why one endpoint did not answer. `connection` is True for dial/read failures and
    timeouts (etcdctl exits 2 when every endpoint failed that way)."""

    endpoint: str
    detail: str
    connection: bool

    def __str__(self) -> str:
        return self.detail


class ClusterError(ClientError):
    """No endpoint gave a usable answer; one entry per endpoint tried, in order."""

    def __init__(self, errors: list[EndpointError]) -> None:
        self.errors = errors
        super().__init__(str(self))

    def __str__(self) -> str:
        return CLUSTER_UNAVAILABLE + "".join(
            f"; error #{i}: {e}\n" for i, e in enumerate(self.errors)
        )

    def detail(self) -> str:
        return "".join(f"error #{i}: {e}\n" for i, e in enumerate(self.errors))

    @property
    def is_connection_error(self) -> bool:
        return all(e.connection for e in self.errors)


class DeadlineExceeded(ClientError):
    """The call's total timeout passed before an answer."""

    def __init__(self) -> None:
        super().__init__(DEADLINE_EXCEEDED)


class NoEndpointsError(ClientError):
    def __init__(self) -> None:
        super().__init__("client: no endpoints available")


class UnexpectedStatus(ClientError):
    """A members/stats call got an HTTP status it does not expect."""

    def __init__(self, status: int, body: bytes = b"") -> None:
        self.status = status
        self.body = body
        super().__init__(f"unexpected status code {status}")


class MembersError(ClientError):
    """The members API refused a change and said why (its `message`)."""

    def __init__(self, message: str, status: int) -> None:
        self.message = message
        self.status = status
        super().__init__(message)


class InvalidURL(ClientError, ValueError):
    """A peer URL etcd would reject (same checks and wording as etcd's types.NewURLs)."""


_ERRNO_TEXT = {
    errno.ECONNREFUSED: "connection refused",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network is unreachable",
    errno.ECONNRESET: "connection reset by peer",
    errno.ETIMEDOUT: "connection timed out",
}


def host_port(url: URL) -> str:
    host = url.raw_host or ""
    if ":" in host:  # IPv6 literal, bracketed as Go prints it
        host = f"[{host}]"
    return f"{host}:{url.port}"


def describe(exc: BaseException, url: URL) -> tuple[str, bool]:
    """Go-style text for a transport failure on `url`, and whether it is a connection error."""
    import asyncio

    import aiohttp

    if isinstance(exc, aiohttp.ClientConnectorError):
        os_err = exc.os_error
        text = _ERRNO_TEXT.get(os_err.errno or 0) if os_err is not None else None
        if text is None:
            text = (os_err.strerror if os_err is not None else None) or str(exc)
        return f"dial tcp {host_port(url)}: connect: {text}", True
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return "EOF", True
    if isinstance(exc, aiohttp.ClientOSError):
        code = exc.errno or 0
        return f"read tcp {host_port(url)}: {_ERRNO_TEXT.get(code, str(exc))}", True
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return f"dial tcp {host_port(url)}: i/o timeout", True
    return str(exc) or type(exc).__name__, False


def check_peer_urls(urls: list[str]) -> list[str]:
    """etcd's client runs types.NewURLs on peer URLs before sending them: the URLs as it sends
    them (trimmed, sorted), or InvalidURL with etcd's text."""
    try:
        return new_urls(urls)
    except URLsError as e:
        raise InvalidURL(str(e)) from None
