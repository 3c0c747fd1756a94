"""v2 auth on a three-member shoal cluster: users, roles and the switch are replicated through
the log, so they hold on every member, after the leader is killed, and after a restart."""

from __future__ import annotations

import base64
import json
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from support import wait_until
from support.cluster import EtcdCluster, shoal_etcd_cluster


def _call(
    url: str, method: str = "GET", body: object = None, auth: tuple[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return int(r.status), json.loads(raw) if raw.strip() else {}
    except urllib.error.HTTPError as e:
        raw = e.read()
        return int(e.code), json.loads(raw) if raw.strip() else {}


ROOT = ("root", "s3cret")


@pytest.fixture(scope="module")
def cluster() -> Iterator[EtcdCluster]:
    c = shoal_etcd_cluster()
    assert isinstance(c, EtcdCluster)
    try:
        yield c
    finally:
        c.close()


def _leader(c: EtcdCluster) -> int:
    def find() -> list[int]:  # a list: member 0 must count as found
        for i in c.running():
            status, body = _call(c.client_urls[i] + "/v2/stats/self")
            if status == 200 and body.get("state") == "StateLeader":
                return [i]
        return []

    return wait_until(find, 30, "a leader", ignore=(OSError,))[0]


def _guarded_everywhere(c: EtcdCluster, app_password: str = "apppw") -> bool:
    """On every running member: no credentials refused with etcd's 110, root let in."""
    for i in c.running():
        url = c.client_urls[i]
        status, body = _call(url + "/v2/keys/")
        if (status, body.get("errorCode")) != (401, 110):
            return False
        if _call(url + "/v2/keys/app/x", auth=("app", app_password))[0] != 200:
            return False
        if _call(url + "/v2/auth/users", auth=ROOT)[0] != 200:
            return False
    return True


def test_auth_holds_on_every_member_across_leader_failover_and_restart(
    cluster: EtcdCluster,
) -> None:
    url = cluster.client_urls[0]
    assert (
        _call(url + "/v2/auth/users/root", "PUT", {"user": "root", "password": ROOT[1]})[0] == 201
    )
    assert _call(url + "/v2/auth/users/app", "PUT", {"user": "app", "password": "apppw"})[0] == 201
    grant = {"role": "app", "grant": {"kv": {"read": ["/app/*"], "write": ["/app/*"]}}}
    assert _call(url + "/v2/auth/roles/app", "PUT", {"role": "app"})[0] == 201
    assert _call(url + "/v2/auth/roles/app", "PUT", grant)[0] == 200
    assert _call(url + "/v2/auth/users/app", "PUT", {"user": "app", "grant": ["app"]})[0] == 200
    urllib.request.urlopen(
        urllib.request.Request(url + "/v2/keys/app/x", data=b"value=1", method="PUT"), timeout=10
    ).close()
    assert _call(url + "/v2/auth/enable", "PUT")[0] == 200
    revoke = {"role": "guest", "revoke": {"kv": {"read": ["/*"], "write": ["/*"]}}}
    assert _call(url + "/v2/auth/roles/guest", "PUT", revoke, auth=ROOT)[0] == 200
    wait_until(lambda: _guarded_everywhere(cluster), 30, "auth on every member", ignore=(OSError,))

    leader = _leader(cluster)
    cluster.stop(leader, signal.SIGKILL)
    new_leader = _leader(cluster)
    assert new_leader != leader
    wait_until(lambda: _guarded_everywhere(cluster), 30, "auth after failover", ignore=(OSError,))
    # The new leader takes a password change (a write to /2) and the old one learns it.
    new_url = cluster.client_urls[new_leader]
    change = {"user": "app", "password": "newpw"}
    assert _call(new_url + "/v2/auth/users/app", "PUT", change, auth=ROOT)[0] == 200

    cluster.start(leader)
    cluster.wait_ready(60)
    for i in range(3):
        cluster.stop(i)
    for i in range(3):
        cluster.start(i)
    cluster.wait_ready(60)
    wait_until(
        lambda: _guarded_everywhere(cluster, "newpw"), 30, "auth after restart", ignore=(OSError,)
    )
    assert _call(cluster.client_urls[leader] + "/v2/keys/app/x", auth=("app", "apppw"))[0] == 401
