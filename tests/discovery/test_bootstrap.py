"""Clusters formed through discovery, as a user would run them (separate processes)."""

from __future__ import annotations

import json

import pytest
from discovery_harness import STARTUP, etcd_member, http, members, new_token, start_discovery

from shoal.etcd.ids import hexid, member_id
from support import Procs, etcd_healthy, wait_until


def _form(procs: Procs, token: str, real: bool = False) -> list[str]:
    clients = [
        etcd_member(procs, f"infra{i}", f"127.0.0.{i + 1}", "--discovery", token, real=real)
        for i in range(3)
    ]
    for i, c in enumerate(clients):
        procs.wait_ready(f"infra{i}", lambda c=c: etcd_healthy(c), STARTUP, f"{c} healthy")  # type: ignore[misc]
    return clients


def _assert_one_cluster(clients: list[str]) -> None:
    want = [(f"infra{i}", (c,)) for i, c in enumerate(clients)]

    def agreed() -> bool:
        views = [sorted((m["name"], tuple(m["clientURLs"])) for m in members(c)) for c in clients]
        return all(v == want for v in views)

    # Every member publishes its name and client URLs once it has joined: wait for all three.
    wait_until(
        agreed, STARTUP, "every member listing the same three members", ignore=(OSError, ValueError)
    )
    ids = {http("GET", c + "/v2/keys/")[1]["X-Etcd-Cluster-Id"] for c in clients}
    assert len(ids) == 1


@pytest.mark.parametrize("backend", ["shoal_registry", "real_etcd"])
def test_seed_first_attempt_with_shoal_discovery_forms_a_healthy_cluster(
    procs: Procs, backend: str, request: pytest.FixtureRequest
) -> None:
    """`curl /new?size=3` then three members with --discovery and no initial cluster; a 4th
    becomes a proxy that serves clients (and stays one across a restart), a 5th with
    --discovery-fallback exit is refused. The service keeps tokens in a shoal etcd or in a
    real etcd 3.4."""
    service = start_discovery(procs, "discovery", request.getfixturevalue(backend))
    status, _, token = http("GET", service + "/new?size=3")
    assert status == 200 and token.startswith(service + "/") and len(token.rsplit("/")[-1]) == 32
    clients = _form(procs, token)
    _assert_one_cluster(clients)
    # The token's registry lists the three members (name=peerURL), as etcd wrote them.
    _, _, body = http("GET", token)
    regs = [n["value"] for n in json.loads(body)["node"]["nodes"] if not n.get("dir")]
    assert sorted(r.split("=")[0] for r in regs) == ["infra0", "infra1", "infra2"]

    proxy = etcd_member(procs, "proxy", "127.0.0.4", "--discovery", token)
    etcd_member(procs, "late", "127.0.0.5", "--discovery", token, "--discovery-fallback", "exit")
    wait_until(lambda: "v2 proxy started" in procs.log("proxy"), STARTUP, "the proxy")
    assert "discovery cluster full, falling back to proxy" in procs.log("proxy")
    status, _, _ = http("PUT", proxy + "/v2/keys/through-proxy", {"value": "yes"})
    assert status == 201
    _, _, body = http("GET", clients[1] + "/v2/keys/through-proxy?quorum=true")
    assert json.loads(body)["node"]["value"] == "yes"
    assert len(json.loads(http("GET", proxy + "/v2/members")[2])["members"]) == 3

    # Restarted on its data dir, it is a proxy again without asking the token (as etcd).
    procs.procs["proxy"].terminate()
    assert procs.wait_exit("proxy") == 0
    procs.start("proxy-again", procs.procs["proxy"].args)  # type: ignore[arg-type]
    wait_until(
        lambda: "v2 proxy started" in procs.log("proxy-again"), STARTUP, "the proxy restarted"
    )
    log = procs.log("proxy-again")
    assert "the server is already initialized as proxy before" in log
    assert "discovery token ignored since the proxy has already been initialized" in log
    _, _, body = http("GET", proxy + "/v2/keys/through-proxy")
    assert json.loads(body)["node"]["value"] == "yes"

    assert procs.wait_exit("late") == 1
    assert "discovery: cluster is full" in procs.log("late")

    # --proxy on with the token: a proxy from the start, registering nothing.
    asked = etcd_member(procs, "asked", "127.0.0.6", "--discovery", token, "--proxy", "on")
    wait_until(lambda: "v2 proxy started" in procs.log("asked"), STARTUP, "the --proxy on proxy")
    assert "falling back" not in procs.log("asked")
    _, _, body = http("GET", asked + "/v2/keys/through-proxy")
    assert json.loads(body)["node"]["value"] == "yes"
    _, _, body = http("GET", token)
    assert len([n for n in json.loads(body)["node"]["nodes"] if not n.get("dir")]) == 3


def test_real_etcd_members_bootstrap_through_shoal_discovery(
    procs: Procs, shoal_registry: str, real_etcd: str
) -> None:
    service = start_discovery(procs, "discovery", shoal_registry)
    token = http("GET", service + "/new?size=3")[2]
    clients = _form(procs, token, real=True)
    _assert_one_cluster(clients)
    # etcd's own IDs are the ones shoal derives for discovery: sha1(peer URLs + token URL).
    for m in members(clients[0]):
        assert m["id"] == hexid(member_id(m["peerURLs"], token))


def test_shoal_members_bootstrap_with_a_token_kept_in_real_etcd(
    procs: Procs, real_etcd: str
) -> None:
    token = new_token(real_etcd, "3")
    clients = _form(procs, token)
    _assert_one_cluster(clients)
    # The same IDs etcd would derive: sha1(peer URLs + discovery URL).
    for m in members(clients[0]):
        assert m["id"] == hexid(member_id(m["peerURLs"], token))

    # A machine rebooted with the same config (the used token) restarts from its data.
    procs.procs["infra2"].terminate()
    assert procs.wait_exit("infra2") == 0
    procs.start("infra2-again", procs.procs["infra2"].args)  # type: ignore[arg-type]
    procs.wait_ready(
        "infra2-again", lambda: etcd_healthy(clients[2]), STARTUP, "infra2 healthy again"
    )
    assert "discovery token ignored since a cluster has already been initialized" in (
        procs.log("infra2-again")
    )
    assert len(members(clients[2])) == 3
