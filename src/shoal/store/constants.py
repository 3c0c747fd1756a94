"""etcd v2 store facts that shoal copies (etcd release-3.4, `etcdserver/api/v2store` and
`etcdserver/server.go`). Kept in one place so a reader can check them against the source."""

from __future__ import annotations

KEYS_PREFIX = "/1"
"""etcd keeps user keys under `/1` (StoreKeysPrefix): `/v2/keys/foo` is the store path `/1/foo`.
Responses strip it again (v2http trimEventPrefix / trimErrorPrefix)."""

CLUSTER_PREFIX = "/0"
"""etcd keeps membership (`/0/members/<id>/...`, `/0/version`) under `/0` (StoreClusterPrefix)."""

NAMESPACES = (CLUSTER_PREFIX, KEYS_PREFIX)
"""Directories that exist from the start, at index 0, and that no request may change."""

READ_ONLY_PATHS = frozenset(("/", *NAMESPACES))
"""Writing or deleting one of these fails with 107 `Root is read only`, cause `/`."""

HISTORY_CAPACITY = 1000
"""Events kept for `waitIndex` watches, one ring shared by every key (newWatchHub(1000))."""

WATCHER_BUFFER = 100
"""Events a watcher may hold undelivered; one more and the watcher is dropped (chan size 100)."""

MIN_EXPIRE_NS = 946_684_800 * 1_000_000_000
"""Create/Set treat an expire time before 2000-01-01T00:00:00Z as "no TTL" (minExpireTime)."""

IN_ORDER_KEY_WIDTH = 20
"""POST names the new child with the next store index zero-padded to 20 digits (`%020s`)."""

NS_PER_SECOND = 1_000_000_000
