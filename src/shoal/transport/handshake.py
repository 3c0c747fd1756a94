"""Whether a member accepts an inbound peer stream's HELLO, checked in etcd's order: protocol
version, cluster, target, removed members (etcd's rafthttp stream handler).

Pure: the Transport then applies what only it knows at the moment (a blackholed sender, a
sender not yet a peer) and keeps the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Container

from shoal.transport.frame import PROTOCOL_VERSION, Hello, Reject, RejectCode

log = logging.getLogger("shoal.rafthttp")  # etcd's package name for its peer transport


def refusal(hello: Hello, self_id: int, cluster_id: int, removed: Container[int]) -> Reject | None:
    """The REJECT to answer `hello` with, or None if nothing here refuses it."""
    sender = hello.sender
    if hello.version != PROTOCOL_VERSION:
        return Reject(
            RejectCode.BAD_VERSION,
            f"peer protocol version {hello.version} unsupported (want {PROTOCOL_VERSION})",
        )
    if hello.cluster_id != cluster_id:
        text = (
            f"cluster ID mismatch: member {sender:x} is in cluster {hello.cluster_id:x}, "
            f"member {self_id:x} is in cluster {cluster_id:x}"
        )
        log.error("refused peer stream: %s", text)
        return Reject(RejectCode.CLUSTER_ID_MISMATCH, text)
    if hello.target != self_id:
        return Reject(RejectCode.WRONG_TARGET, f"this is member {self_id:x}, not {hello.target:x}")
    if sender in removed:
        log.warning("refused peer stream from removed member %x", sender)
        return Reject(RejectCode.REMOVED_MEMBER, f"member {sender:x} was removed from the cluster")
    return None
