"""A CoreOS worker's cloud-config under `shoal node`: etcd2 with `proxy: on` in front of a
member elsewhere (a real etcd 3.4 here), fleet with role=worker talking to etcd through that
local proxy, as the "production cluster with central services" architecture runs them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal.systemd.control import ControlError, call, socket_path
from support import EtcdMember, Procs, free_port, real_etcd, wait_until

WORKER = """#cloud-config
hostname: worker-x
coreos:
  etcd2:
    proxy: on
    listen-client-urls: {proxy}
    initial-cluster: etcd={peer}
  fleet:
    metadata: "role=worker"
    etcd_servers: {proxy}
  units:
  - name: etcd2.service
    command: start
  - name: fleet.service
    command: start
"""


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return int(r.status), r.read()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read()
    except OSError:
        return 0, b""


def _active(root: Path, unit: str) -> bool:
    try:
        u = call(socket_path(root), {"op": "status", "unit": unit}, timeout=2)["unit"]
    except ControlError:
        return False
    return bool(u["active_state"] == "active")


def _machines(member: str) -> list[dict[str, object]]:
    status, body = _get(member + "/v2/keys/_coreos.com/fleet/machines?recursive=true")
    if status != 200:
        return []
    out = []
    for d in json.loads(body)["node"].get("nodes", []):
        for n in d.get("nodes", []):
            if n["key"].endswith("/object"):
                out.append(json.loads(n["value"]))
    return out


def _environ_of(root: Path, program: str) -> dict[str, str]:
    """The environment of the machine's process whose command line names `program`."""
    want = f"SHOAL_ROOT={root}".encode()
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{e}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{e}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
            if want in env and program.encode() in cmd:
                return dict(x.decode().split("=", 1) for x in env if b"=" in x)
    return {}


@pytest.fixture
def member() -> Iterator[EtcdMember]:
    with real_etcd(name="etcd") as m:  # skips without /usr/bin/etcd
        yield m


def test_a_coreos_worker_config_runs_a_proxy_and_fleet_through_it(
    tmp_path: Path, procs: Procs, member: EtcdMember
) -> None:
    proxy = f"http://127.0.0.1:{free_port()}"
    cfg = tmp_path / "user-data"
    cfg.write_text(WORKER.format(proxy=proxy, peer=member.peer_url))
    root = tmp_path / "worker"
    argv = [sys.executable, "-m", "shoal.cli", "node", "--cloud-config", str(cfg)]
    procs.start("node", [*argv, "--root", str(root)])
    try:
        procs.wait_ready("node", lambda: _active(root, "fleet.service"), 60, "fleet active")
        # The proxy answers for the member: a write through it is on the member.
        req = urllib.request.Request(proxy + "/v2/keys/from-worker", b"value=1", method="PUT")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 201
        status, body = _get(member.client_url + "/v2/keys/from-worker")
        assert status == 200 and json.loads(body)["node"]["value"] == "1"
        # It is etcd's proxy: its endpoints, and the cluster file in etcd2's data dir.
        status, body = _get(proxy + "/v2/config/local/proxy")
        assert (status, json.loads(body)) == (200, {"endpoints": [member.client_url]})
        kept = json.loads((root / "var/lib/etcd2/proxy/cluster").read_text())
        assert kept == {"PeerURLs": [member.peer_url]}
        # fleet registered this machine with role=worker, talking to etcd through the proxy.
        wait_until(
            lambda: [m["Metadata"] for m in _machines(member.client_url)] == [{"role": "worker"}],
            30,
            "the worker in fleet's registry",
        )
        assert _environ_of(root, "fleetd").get("FLEET_ETCD_SERVERS") == proxy
    finally:
        procs.stop("node", signal.SIGTERM, grace=30)
