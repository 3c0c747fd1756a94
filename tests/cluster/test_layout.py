"""A cluster directory from the seed's template or from the user's own cloud-configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.cluster.commands import _create
from shoal.cluster.layout import ClusterError, load_cluster
from shoal.cluster.shell import environment

OWN = """#cloud-config
hostname: mine
write_files:
- path: /etc/environment
  content: |
    COREOS_PUBLIC_IPV4=127.0.60.7
coreos:
  etcd2:
    name: solo
    advertise-client-urls: http://$public_ipv4:2379
    initial-advertise-peer-urls: http://$public_ipv4:2380
    listen-client-urls: http://$public_ipv4:2379
    listen-peer-urls: http://$public_ipv4:2380
    initial-cluster: solo=http://127.0.60.7:2380
"""


def test_template_cluster_has_the_seed_addresses(tmp_path: Path) -> None:
    c = _create(tmp_path / "c", 3, "127.0.50.0", [], "")
    assert [m.name for m in c.machines] == ["coreos-01", "coreos-02", "coreos-03"]
    assert [m.client_url for m in c.machines] == [
        "http://127.0.50.10:2379", "http://127.0.50.20:2379", "http://127.0.50.30:2379",
    ]  # fmt: skip
    text = (tmp_path / "c" / "coreos-02.yml").read_text()
    assert "coreos-01=http://127.0.50.10:2380,coreos-02=http://127.0.50.20:2380" in text
    again = load_cluster(str(tmp_path / "c"))
    assert again.machines == c.machines
    env = environment(again, again.machine("2"), {"PATH": "/usr/bin"})
    assert env["ETCDCTL_ENDPOINTS"] == "http://127.0.50.20:2379"
    assert env["PATH"].startswith(str(tmp_path / "c" / "bin"))
    assert (tmp_path / "c" / "bin" / "etcdctl").exists()


def test_own_cloud_config_addresses_come_from_its_environment_file(tmp_path: Path) -> None:
    f = tmp_path / "mine.yml"
    f.write_text(OWN)
    c = _create(tmp_path / "c", None, "127.0.0.0", [str(f)], "/usr/bin/etcd")
    (m,) = c.machines
    assert (m.client_url, m.peer_url, m.etcd_name) == (
        "http://127.0.60.7:2379", "http://127.0.60.7:2380", "solo",
    )  # fmt: skip
    assert load_cluster(str(tmp_path / "c")).etcd_command == "/usr/bin/etcd"


def test_bad_own_cloud_config_is_refused_with_its_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.yml"
    f.write_text("#cloud-config\ncoreos:\n  etcd2:\n    heartbeat-interval: fast\n")
    with pytest.raises(ClusterError, match="line 4"):
        _create(tmp_path / "c", None, "127.0.0.0", [str(f)], "")
    assert not (tmp_path / "c" / "cluster.json").exists()


def test_workers_come_after_the_central_machines_as_proxies(tmp_path: Path) -> None:
    c = _create(tmp_path / "c", 3, "127.0.50.0", [], "", workers=2)
    assert [m.name for m in c.machines] == [
        "coreos-01", "coreos-02", "coreos-03", "worker-01", "worker-02",
    ]  # fmt: skip
    assert [m.name for m in c.worker_machines] == ["worker-01", "worker-02"]
    w1 = c.machine("worker-01")
    # Its own address after the central ones; the proxy listens there and has no peer URL.
    assert (w1.client_url, w1.peer_url, w1.proxy, w1.etcd_name) == (
        "http://127.0.50.40:2379", "", True, "",
    )  # fmt: skip
    text = (tmp_path / "c" / "worker-01.yml").read_text()
    assert "    proxy: on\n" in text
    assert (
        "initial-cluster: coreos-01=http://127.0.50.10:2380,coreos-02=http://127.0.50.20:2380,"
        in text
    )
    assert 'metadata: "role=worker"' in text
    assert "etcd_servers: http://127.0.50.40:2379" in text
    again = load_cluster(str(tmp_path / "c"))
    assert again.machines == c.machines and (again.size, again.workers) == (3, 2)
    assert [m.name for m in again.members] == ["coreos-01", "coreos-02", "coreos-03"]
    env = environment(again, w1, {"PATH": "/usr/bin"})
    assert env["ETCDCTL_ENDPOINTS"] == "http://127.0.50.40:2379"  # etcdctl talks to the proxy


def test_workers_need_the_template_and_loopback_room(tmp_path: Path) -> None:
    f = tmp_path / "mine.yml"
    f.write_text(OWN)
    with pytest.raises(ClusterError, match="--workers makes workers from shoal's template"):
        _create(tmp_path / "c", None, "127.0.0.0", [str(f)], "", workers=1)
    # 3 + 23 machines at .10, .20, ... would run past .255 of the subnet.
    with pytest.raises(ClusterError, match="at most 25"):
        _create(tmp_path / "d", 3, "127.0.0.0", [], "", workers=23)
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()


def test_a_users_proxy_cloud_config_is_a_worker(tmp_path: Path) -> None:
    f = tmp_path / "w.yml"
    f.write_text(
        "#cloud-config\nhostname: edge\ncoreos:\n  etcd2:\n    proxy: readonly\n"
        "    listen-client-urls: http://127.0.60.9:2379\n"
        "    initial-cluster: solo=http://127.0.60.7:2380\n"
    )
    (m,) = _create(tmp_path / "c", None, "127.0.0.0", [str(f)], "").machines
    assert (m.name, m.client_url, m.proxy) == ("edge", "http://127.0.60.9:2379", True)
