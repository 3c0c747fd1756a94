"""The bodies of /v2/stats/self and /v2/stats/leader, worded as etcd 3.4 words them.

The member hands over typed facts (`server_iface.SelfStats`, `LeaderStats`); this module picks
etcd's field names and order, its state names, and Go's formatting of times (RFC 3339 with
nanoseconds, in the local zone) and durations (time.Duration's String), from `shoal.gocompat`.
"""

from __future__ import annotations

import time
from typing import Any

from shoal.etcd.server_iface import LeaderStats, SelfStats
from shoal.gocompat.duration import format_seconds
from shoal.gocompat.rfc3339 import rfc3339nano, unix_ns


def _local_time(t: float) -> str:
    return rfc3339nano(unix_ns(t), local=True)


def self_stats_json(s: SelfStats, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    return {
        "name": s.name,
        "id": f"{s.id:x}",
        "state": s.role.go_name,
        "startTime": _local_time(s.start_time),
        "leaderInfo": {
            "leader": f"{s.leader:x}" if s.leader else "",
            "uptime": format_seconds(now - s.leader_since) if s.leader else "",
            "startTime": _local_time(s.leader_since) if s.leader else "",
        },
        "recvAppendRequestCnt": s.recv_append,
        "sendAppendRequestCnt": s.send_append,
    }


def leader_stats_json(s: LeaderStats) -> dict[str, Any]:
    followers: dict[str, Any] = {}
    for f in s.followers:
        lat = f.latency
        followers[f"{f.id:x}"] = {
            "latency": {
                "current": lat.current,
                "average": lat.average,
                "standardDeviation": lat.standard_deviation,
                "minimum": lat.minimum,
                "maximum": lat.maximum,
            },
            "counts": {"fail": f.fail, "success": f.success},
        }
    return {"leader": f"{s.leader:x}", "followers": followers}
