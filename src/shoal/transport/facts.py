"""etcd's facts about the peer port that shoal's transport copies (etcd 3.4, rafthttp/etcdserver).

Each value says where it comes from; behaviour built on them lives in the other modules.
"""

from __future__ import annotations

STREAM_BUF_SIZE = 4096
"""Messages buffered per peer before the sender drops and reports the peer unreachable
(etcd rafthttp `streamBufSize`)."""

CLUSTER_ID_HEADER = "X-Etcd-Cluster-Id"
"""Header etcd's peer handlers put on `/members`: the cluster id in lowercase hex, unpadded."""

MEMBERS_PATH = "/members"
"""Peer-port endpoint listing the cluster's members; a member joining with
`--initial-cluster-state existing` reads it from the peers (etcd `peerMembersPath`)."""

VERSION_PATH = "/version"
"""Peer- and client-port endpoint with the server and cluster versions."""

ETCD_SERVER_VERSION = "3.4.23"
ETCD_CLUSTER_VERSION = "3.4.0"
"""What a real etcd 3.4.23 answers on GET /version: {"etcdserver":"3.4.23","etcdcluster":"3.4.0"}.
The member passes its own version callback; these are the defaults."""

NOT_FOUND_BODY = b"404 page not found\n"
"""Go's net/http body for an unknown path (text/plain), as etcd's peer port answers it."""

CONN_READ_TIMEOUT = 5.0
"""Seconds of silence after which etcd abandons a peer stream (rafthttp `ConnReadTimeout`);
shoal's equivalent is 5 unanswered PINGs at the default 1 s interval."""

PEER_DIAL_TIMEOUT_BASE = 1.0
"""etcd dials peers with a timeout of 1 s plus the election timeout (`PeerDialTimeout`); the
member passes `dial_timeout=PEER_DIAL_TIMEOUT_BASE + election_timeout_s` to Transport."""
