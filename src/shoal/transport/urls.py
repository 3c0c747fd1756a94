"""Peer URLs (`http://host:port`, `https://host:port`) to socket addresses."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(slots=True, frozen=True)
class Address:
    host: str
    port: int
    tls: bool = False  # https: the stream runs over TLS

    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"


def parse_peer_url(url: str) -> Address:
    """`http://host:port` or `https://host:port` -> Address. Raises ValueError naming the URL
    and what is wrong. A port is required, as etcd requires one to listen on.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise ValueError(f"invalid peer URL {url!r}: {e}") from e
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"peer URL {url!r} must start with http:// or https://")
    if not parts.hostname:
        raise ValueError(f"peer URL {url!r} has no host")
    if port is None:
        raise ValueError(f"peer URL {url!r} has no port (want http://host:port)")
    if parts.path not in ("", "/"):
        raise ValueError(f"peer URL {url!r} must not have a path")
    return Address(parts.hostname, port, parts.scheme == "https")
