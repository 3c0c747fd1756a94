"""`shoal up --discovery URL`: each machine's cloud-config gets the token instead of a static
initial cluster (the seed's first attempt)."""

from __future__ import annotations

import pytest
from discovery_harness import http, start_discovery

from shoal.cloudinit.template import render
from shoal.discovery.cloudconfig import token_for, with_discovery
from support import Procs


def test_template_gets_the_token_in_place_of_the_initial_cluster() -> None:
    token = "http://127.0.0.1:8087/0123456789abcdef0123456789abcdef"
    text = with_discovery(render(1, "/tmp/root", size=3), token)
    assert f"    discovery: {token}\n" in text
    assert "initial-cluster" not in text
    assert "initial-advertise-peer-urls" in text


def test_a_config_without_initial_cluster_is_refused() -> None:
    with pytest.raises(ValueError, match="no etcd2 initial-cluster"):
        with_discovery("#cloud-config\ncoreos:\n  etcd2:\n    name: x\n", "http://t/1")


def test_a_service_url_gives_a_token_of_the_cluster_size(procs: Procs, real_etcd: str) -> None:
    service = start_discovery(procs, "discovery", real_etcd)
    token = token_for(service, 5)
    assert token.startswith(service + "/")
    assert '"value":"5"' in http("GET", token + "/_config/size")[2]
    assert token_for(token, 5) == token  # a token URL is used as given
