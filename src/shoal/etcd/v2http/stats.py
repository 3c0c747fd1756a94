"""The bodies of /v2/stats/self and /v2/stats/leader, worded as etcd 3.4 words them.

The member hands over typed facts (`server_iface.SelfStats`, `LeaderStats`); this module picks
etcd's field names and order, its state names, and Go's formatting of times and durations
(time.Time's RFC 3339 with nanoseconds, time.Duration's String).
"""

from __future__ import annotations

import time
from typing import Any

from shoal.etcd.server_iface import LeaderStats, SelfStats

# etcd's raft StateType names, by shoal.raft's role names.
STATE_NAMES = {
    "leader": "StateLeader",
    "follower": "StateFollower",
    "candidate": "StateCandidate",
    "pre-candidate": "StatePreCandidate",
}


def self_stats_json(s: SelfStats, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    return {
        "name": s.name,
        "id": f"{s.id:x}",
        "state": STATE_NAMES.get(s.role, "StateFollower"),
        "startTime": rfc3339(s.start_time),
        "leaderInfo": {
            "leader": f"{s.leader:x}" if s.leader else "",
            "uptime": go_duration(now - s.leader_since) if s.leader else "",
            "startTime": rfc3339(s.leader_since) if s.leader else "",
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


def rfc3339(t: float) -> str:
    """Go's time.Time.Format(time.RFC3339Nano) in local time: trailing zeros of the fraction
    dropped, `Z` for UTC."""
    lt = time.localtime(t)
    off = lt.tm_gmtoff or 0
    sign = "+" if off >= 0 else "-"
    off = abs(off)
    frac = f"{t % 1:.9f}"[1:].rstrip("0").rstrip(".")
    tz = "Z" if lt.tm_gmtoff == 0 else f"{sign}{off // 3600:02d}:{off % 3600 // 60:02d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", lt) + frac + tz


def go_duration(s: float) -> str:
    """Go's time.Duration.String for a positive duration, e.g. 1h2m3.5s, 250ms."""
    if s < 1:
        return f"{s * 1000:.6f}".rstrip("0").rstrip(".") + "ms"
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    out = ""
    if h:
        out += f"{int(h)}h"
    if h or m:
        out += f"{int(m)}m"
    return out + f"{sec:.9f}".rstrip("0").rstrip(".") + "s"
