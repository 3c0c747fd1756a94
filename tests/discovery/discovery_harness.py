"""Helpers for the discovery tests: members (`shoal etcd` or the real etcd 3.4) and `shoal
discovery` started with the shared launcher (tests/support), plain HTTP calls, and tokens.
Loopback only; every process is killed at teardown by its `Procs`."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from support import ETCD, SHOAL, SHOAL_ETCD, EtcdMember, Procs, free_port, start_etcd

STARTUP = 60.0  # generous: this 2-core machine is shared with other test suites


def http(
    method: str, url: str, data: dict[str, str] | None = None, timeout: float = 5.0
) -> tuple[int, dict[str, str], str]:
    body = "&".join(f"{k}={v}" for k, v in data.items()).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def members(client_url: str) -> list[dict[str, Any]]:
    _, _, body = http("GET", client_url + "/v2/members", timeout=2.0)
    got: list[dict[str, Any]] = json.loads(body)["members"]
    return got


def etcd_member(procs: Procs, name: str, host: str, *flags: str, real: bool = False) -> str:
    """Start `shoal etcd` (or with real=True the real etcd) on host (127.0.0.x) with no initial
    cluster of its own (flags give --discovery and friends); returns its client URL."""
    m = EtcdMember.on(name, host)
    start_etcd(procs, m, command=[ETCD] if real else SHOAL_ETCD, flags=flags)
    return m.client_url


def start_discovery(procs: Procs, name: str, backend: str) -> str:
    """`shoal discovery` keeping its tokens in `backend`; its URL once it answers."""
    listen = f"http://127.0.0.1:{free_port()}"
    procs.start(name, [*SHOAL, "discovery", "--listen", listen, "--etcd-endpoints", backend])
    procs.wait_ready(name, lambda: http("GET", listen + "/")[0] == 200, STARTUP, "listening")
    return listen


def new_token(registry: str, size: str) -> str:
    """A token kept directly in an etcd, as etcd's docs describe self-hosted discovery."""
    token = os.urandom(16).hex()
    url = f"{registry}/v2/keys/_etcd/registry/{token}"
    status, _, _ = http("PUT", url + "/_config/size", {"value": size})
    assert status == 201
    return url
