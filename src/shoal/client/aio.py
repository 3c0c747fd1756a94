"""The asyncio etcd v2 client: keys, watch, members, health, version, stats.

`AsyncClient` is one object made of three parts, one module each: `failover` sends a request
to the cluster (pinned endpoint, failover, timeouts, auth), `keys` is the /v2/keys API, and
`members` the members API with endpoint sync, health, version and stats. `sync()` replaces the
endpoint list by the client URLs the cluster publishes in /v2/members.
"""

from __future__ import annotations

# Re-exported: callers build requests and read replies through this module.
from shoal.client.failover import EndpointFailure as EndpointFailure
from shoal.client.failover import Reply as Reply
from shoal.client.failover import Request as Request
from shoal.client.failover import RequestHook as RequestHook
from shoal.client.failover import normalize_endpoint as normalize_endpoint
from shoal.client.keys import KeysAPI
from shoal.client.keys import key_path as key_path
from shoal.client.members import ClusterAPI


class AsyncClient(KeysAPI, ClusterAPI):
    """An etcd v2 client over aiohttp. Use `async with AsyncClient([...]) as c:`."""
