"""etcd v2 wire facts the client relies on, in one place.

Sources: etcd-io/etcd release-3.4 `client/` (the Go v2 client: paths, query parameters, header
names, error wording) and `etcdctl/ctlv2/command/util.go` (default endpoints). Messages are kept
word for word because etcdctl prints them and users' scripts grep them.
"""

from __future__ import annotations

from typing import Final

# etcdctl v2 uses these when neither --endpoints nor ETCDCTL_ENDPOINTS is given.
DEFAULT_ENDPOINTS: Final = ("http://127.0.0.1:2379", "http://127.0.0.1:4001")

KEYS_PREFIX: Final = "/v2/keys"
MEMBERS_PREFIX: Final = "/v2/members"
STATS_PREFIX: Final = "/v2/stats"
HEALTH_PATH: Final = "/health"
VERSION_PATH: Final = "/version"
MACHINES_PATH: Final = "/v2/machines"

HEADER_ETCD_INDEX: Final = "X-Etcd-Index"
HEADER_CLUSTER_ID: Final = "X-Etcd-Cluster-ID"
HEADER_RAFT_INDEX: Final = "X-Raft-Index"
HEADER_RAFT_TERM: Final = "X-Raft-Term"

# Go client `ErrClusterUnavailable`; a ClusterError's text starts with it.
CLUSTER_UNAVAILABLE: Final = "client: etcd cluster is unavailable or misconfigured"
# Go `context.DeadlineExceeded`: what a request past its total deadline reports.
DEADLINE_EXCEEDED: Final = "context deadline exceeded"

# Error codes a caller commonly branches on (the full table: shoal.store.errors, etcd's v2error).
ECODE_KEY_NOT_FOUND: Final = 100
ECODE_TEST_FAILED: Final = 101
ECODE_NOT_FILE: Final = 102
ECODE_NOT_DIR: Final = 104
ECODE_NODE_EXIST: Final = 105
ECODE_DIR_NOT_EMPTY: Final = 108
ECODE_UNAUTHORIZED: Final = 110
ECODE_RAFT_INTERNAL: Final = 300
ECODE_LEADER_ELECT: Final = 301
ECODE_WATCHER_CLEARED: Final = 400
ECODE_EVENT_INDEX_CLEARED: Final = 401

# Go's http.StatusText for the 5xx codes the Go client names in "returns server error [..]".
STATUS_TEXT: Final = {
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}
