"""etcd v2 client (async on aiohttp, with a blocking face) used by etcdctl, fleet and tests.

    from shoal.client import AsyncClient, Client, EtcdError

    async with AsyncClient(["http://127.0.0.1:2379"]) as c:
        await c.set("/a", "1", ttl=10)
        resp = await c.get("/a")          # Response(action, node, prev_node, index, ...)

Errors: `EtcdError` (etcd's errorCode/message/cause/index + X-Etcd-Index), `ClusterError`
(every endpoint failed; one entry each), `DeadlineExceeded` (total_timeout passed).
"""

from typing import TYPE_CHECKING

from shoal.client.aio import AsyncClient, Reply, key_path, normalize_endpoint
from shoal.client.errors import (
    ClientError,
    ClusterError,
    DeadlineExceeded,
    EndpointError,
    EtcdError,
    InvalidURL,
    MembersError,
    NoEndpointsError,
    UnexpectedStatus,
)
from shoal.client.model import DecodeError, Health, Member, Node, Response, Version

if TYPE_CHECKING:
    from shoal.client.sync import Client


def __getattr__(name: str) -> object:
    # The blocking Client runs an event loop: asyncio is imported only by those who use it
    # (a one-request command-line client runs without one).
    if name == "Client":
        from shoal.client.sync import Client

        return Client
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AsyncClient",
    "Client",
    "ClientError",
    "ClusterError",
    "DeadlineExceeded",
    "DecodeError",
    "EndpointError",
    "EtcdError",
    "Health",
    "InvalidURL",
    "Member",
    "MembersError",
    "NoEndpointsError",
    "Node",
    "Reply",
    "Response",
    "UnexpectedStatus",
    "Version",
    "key_path",
    "normalize_endpoint",
]
