"""Clusters formed through discovery, as a user would run them (separate processes)."""

from __future__ import annotations

import json

from discovery_harness import (
    STARTUP,
    Procs,
    healthy,
    http,
    members,
    new_token,
    wait_until,
)


def _form(procs: Procs, token: str, real: bool = False) -> list[str]:
    start = procs.real_etcd if real else procs.shoal_etcd
    clients = [start(f"infra{i}", f"127.0.0.{i + 1}", "--discovery", token) for i in range(3)]
    for c in clients:
        wait_until(lambda c=c: healthy(c), STARTUP, f"{c} healthy")  # type: ignore[misc]
    return clients


def _assert_one_cluster(clients: list[str]) -> None:
    views = [sorted((m["name"], tuple(m["clientURLs"])) for m in members(c)) for c in clients]
    assert views[0] == [
        ("infra0", (clients[0],)),
        ("infra1", (clients[1],)),
        ("infra2", (clients[2],)),
    ]
    assert all(v == views[0] for v in views)
    ids = {http("GET", c + "/v2/keys/")[1]["X-Etcd-Cluster-Id"] for c in clients}
    assert len(ids) == 1


def test_seed_first_attempt_with_shoal_discovery_forms_a_healthy_cluster(
    procs: Procs, real_etcd: str
) -> None:
    """`curl /new?size=3` then three members with --discovery and no initial cluster; a 4th
    becomes a proxy that serves clients, a 5th with --discovery-fallback exit is refused."""
    service = procs.discovery("discovery", real_etcd)
    status, _, token = http("GET", service + "/new?size=3")
    assert status == 200 and token.startswith(service + "/") and len(token.rsplit("/")[-1]) == 32
    clients = _form(procs, token)
    _assert_one_cluster(clients)
    # The token's registry lists the three members (name=peerURL), as etcd wrote them.
    _, _, body = http("GET", token)
    regs = [n["value"] for n in json.loads(body)["node"]["nodes"] if not n.get("dir")]
    assert sorted(r.split("=")[0] for r in regs) == ["infra0", "infra1", "infra2"]

    proxy = procs.shoal_etcd("proxy", "127.0.0.4", "--discovery", token)
    wait_until(lambda: "v2 proxy started" in procs.log("proxy"), STARTUP, "the proxy")
    assert "discovery cluster full, falling back to proxy" in procs.log("proxy")
    status, _, _ = http("PUT", proxy + "/v2/keys/through-proxy", {"value": "yes"})
    assert status == 201
    _, _, body = http("GET", clients[1] + "/v2/keys/through-proxy")
    assert json.loads(body)["node"]["value"] == "yes"
    assert len(json.loads(http("GET", proxy + "/v2/members")[2])["members"]) == 3

    procs.shoal_etcd("late", "127.0.0.5", "--discovery", token, "--discovery-fallback", "exit")
    assert procs.wait_exit("late") == 1
    assert "discovery: cluster is full" in procs.log("late")


def test_real_etcd_members_bootstrap_through_shoal_discovery(
    procs: Procs, shoal_registry: str, real_etcd: str
) -> None:
    service = procs.discovery("discovery", shoal_registry)
    token = http("GET", service + "/new?size=3")[2]
    clients = _form(procs, token, real=True)
    _assert_one_cluster(clients)


def test_shoal_members_bootstrap_with_a_token_kept_in_real_etcd(
    procs: Procs, real_etcd: str
) -> None:
    token = new_token(real_etcd, "3")
    clients = _form(procs, token)
    _assert_one_cluster(clients)
    # The same IDs etcd would derive: sha1(peer URLs + discovery URL).
    from shoal.etcd.ids import hexid, member_id

    for m in members(clients[0]):
        assert m["id"] == hexid(member_id(m["peerURLs"], token))
