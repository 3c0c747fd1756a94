"""What a cluster looks like from outside: each member's /health, the leader, the members' ids.

Plain blocking HTTP (urllib) with short timeouts: these are CLI checks against loopback. The
endpoints are etcd's v2 ones, so they answer the same for shoal's etcd and a real etcd 3.4.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from shoal.cluster.layout import Cluster, Machine
from shoal.cluster.security import ssl_context

TIMEOUT = 2.0


def _get(url: str, timeout: float = TIMEOUT, m: Machine | None = None) -> tuple[int, Any]:
    ctx = ssl_context(m) if m is not None else None
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read() or b"null")
        except ValueError:
            return e.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return 0, None


def healthy(m: Machine) -> bool:
    """etcd's /health: {"health": "true"} once the member has a leader and serves reads. A
    worker's proxy forwards it to a member: true while the proxy reaches a healthy member."""
    status, body = _get(m.client_url + "/health", m=m)
    return status == 200 and isinstance(body, dict) and str(body.get("health")) == "true"


@dataclass(frozen=True)
class MemberInfo:
    id: str  # hex, as etcdctl prints it
    name: str
    state: str  # StateLeader / StateFollower / ""
    leader: str  # the leader's id as this member sees it


def member_info(m: Machine) -> MemberInfo | None:
    status, body = _get(m.client_url + "/v2/stats/self", m=m)
    if status != 200 or not isinstance(body, dict):
        return None
    leader = body.get("leaderInfo", {}).get("leader", "") if body.get("leaderInfo") else ""
    return MemberInfo(str(body.get("id", "")), str(body.get("name", "")),
                      str(body.get("state", "")), str(leader))  # fmt: skip


def member_ids(cluster: Cluster) -> dict[str, str]:
    """member name -> hex id, asked of the first member that answers /v2/members."""
    for m in cluster.members:
        status, body = _get(m.client_url + "/v2/members", m=m)
        if status == 200 and isinstance(body, dict):
            return {
                str(x.get("name")): str(x.get("id"))
                for x in body.get("members", [])
                if x.get("name")
            }
    return {}
