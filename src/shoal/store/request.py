"""A v2 keys request as it travels through the raft log (etcd's etcdserverpb.Request), with
its one encoder and decoder.

Strings are Go strings, i.e. bytes: text that is not UTF-8 arrives surrogate-escaped
(`bytes.decode("utf-8", "surrogateescape")`) and goes through the log byte for byte.

Paths are store paths (`/1/...` for user keys, see `paths.keys_path`). Times are unix
nanoseconds, as in etcd, so an expire time survives the log exactly: `expiration` is the
absolute expire time the receiving member computed from `ttl` (None: no TTL); `time` is the
leader's clock carried by SYNC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

from shoal.store.constants import NS_PER_SECOND

# Methods. GET with quorum=true is proposed as QGET (etcd's RequestV2.Handle); SYNC expires
# keys with the leader's clock.
GET = "GET"
HEAD = "HEAD"
PUT = "PUT"
POST = "POST"
DELETE = "DELETE"
QGET = "QGET"
SYNC = "SYNC"

_FORMAT = 1
"""First element of every encoded request; bump when the field list changes."""


@dataclass(slots=True)
class Request:
    method: str
    path: str = ""
    value: str = ""
    dir: bool = False
    prev_value: str = ""
    prev_index: int = 0
    prev_exist: bool | None = None
    expiration: int | None = None
    refresh: bool = False
    recursive: bool = False
    sorted: bool = False
    wait: bool = False
    wait_index: int = 0
    stream: bool = False
    quorum: bool = False
    no_value_on_success: bool = False
    time: int = 0
    id: int = 0
    """Chosen by the proposing member to match the applied result to the waiting client."""

    @classmethod
    def sync(cls, now: float, id: int = 0) -> Request:
        """The leader's periodic request that expires every key whose time has come."""
        return cls(SYNC, time=to_ns(now), id=id)

    def encode(self) -> bytes:
        return msgpack.packb(  # type: ignore[no-any-return]
            [
                _FORMAT,
                self.method,
                self.path,
                self.value,
                self.dir,
                self.prev_value,
                self.prev_index,
                self.prev_exist,
                self.expiration,
                self.refresh,
                self.recursive,
                self.sorted,
                self.wait,
                self.wait_index,
                self.stream,
                self.quorum,
                self.no_value_on_success,
                self.time,
                self.id,
            ],
            unicode_errors="surrogateescape",
        )

    @classmethod
    def decode(cls, data: bytes) -> Request:
        t: Any = msgpack.unpackb(data, unicode_errors="surrogateescape")
        if not isinstance(t, list) or len(t) != 19 or t[0] != _FORMAT:
            raise ValueError(f"not a shoal v2 request (format {_FORMAT}): {data[:40]!r}")
        return cls(*t[1:])


def to_ns(t: float) -> int:
    """Unix seconds as unix nanoseconds."""
    return int(t * NS_PER_SECOND)


def expiration_for_ttl(now: float, ttl: int) -> int:
    """The absolute expire time for `ttl` seconds from `now`, computed where the request is
    received (as etcd does) so every member applies the same instant.

    Computed in Go's int64 arithmetic, wrapping as etcd's does, so any uint64 ttl a client
    sends gives an instant that fits the log (a wrapped, past instant means "no TTL" to a
    create or set, and "expire at the next SYNC" to an update, as on etcd)."""
    return _int64(to_ns(now) + _int64(ttl * NS_PER_SECOND))


def _int64(x: int) -> int:
    return (x + 2**63) % 2**64 - 2**63
