"""Member and cluster IDs, derived exactly as etcd derives them (etcdserver/api/membership).

A member's ID is the first 8 bytes (big-endian) of sha1(sorted peer URLs joined + cluster
token [+ unix seconds, for a member added at runtime]); the cluster ID is the first 8 bytes of
sha1 over the sorted member IDs, each as 8 big-endian bytes. Printed as lowercase hex.
"""

from __future__ import annotations

import hashlib
import struct

from shoal.gocompat.strconv import parse_uint


def member_id(peer_urls: list[str], token: str, now_unix: int | None = None) -> int:
    b = "".join(sorted(peer_urls)) + token
    if now_unix is not None:
        b += str(now_unix)
    return int.from_bytes(hashlib.sha1(b.encode()).digest()[:8], "big")


def cluster_id(member_ids: list[int]) -> int:
    b = b"".join(struct.pack(">Q", i) for i in sorted(member_ids))
    return int.from_bytes(hashlib.sha1(b).digest()[:8], "big")


def hexid(i: int) -> str:
    return f"{i:x}"


def parse_hex_id(s: str) -> int:
    """types.IDFromString: strconv.ParseUint(s, 16, 64); raises ValueError."""
    return parse_uint(s, 16, 64)
