"""`shoal up --tls --auth`: the seed's commands work through `shoal ssh` over https with the
root user, a client without credentials is refused as etcd refuses it, and the root password
is printed once and kept nowhere but DIR/root.password (0600): not in a log, a cloud-config, a
unit file or a process's arguments."""

from __future__ import annotations

import os
import re
import ssl
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from support import free_subnet

from .test_seed_experiment import Cluster, cluster  # noqa: F401  (the fixture)

pytestmark = pytest.mark.timeout(400)


def _files_holding(root: Path, secret: bytes) -> list[Path]:
    out = []
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink():
            try:
                if secret in p.read_bytes():
                    out.append(p)
            except OSError:
                pass
    return out


def _argv_holding(secret: bytes) -> list[int]:
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open(f"/proc/{e}/cmdline", "rb") as f:
                    if secret in f.read():
                        out.append(int(e))
            except OSError:
                pass
    return out


def test_up_tls_auth_secures_the_seed_cluster(cluster: Cluster) -> None:  # noqa: F811
    r = cluster.shoal("up", "--tls", "--auth", "--subnet", free_subnet())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "cluster is healthy" in r.stdout
    assert "got healthy result from https://" in r.stdout
    assert r.stdout.count("cabinet=one,role=services") == 3, r.stdout
    found = re.search(r"user root, password: (\S+)", r.stdout)
    assert found, r.stdout
    password = found.group(1)

    pw_file = cluster.dir / "root.password"
    assert pw_file.read_text().strip() == password
    assert stat.S_IMODE(pw_file.stat().st_mode) == 0o600
    for key in (cluster.dir / "tls").glob("*-key.pem"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert _files_holding(cluster.dir, password.encode()) == [pw_file]
    assert _argv_holding(password.encode()) == []

    # The seed's commands, typed on a machine.
    assert cluster.on("coreos-01", "etcdctl set /message hello").stdout.strip() == "hello"
    assert cluster.on("coreos-02", "etcdctl get /message").stdout.strip() == "hello"
    machines = cluster.on("coreos-03", "fleetctl list-machines")
    assert machines.stdout.count("cabinet=one,role=services") == 3, machines

    # Without credentials: etcd's 110 with 401 (over https: plain http gets no answer).
    url = r.stdout.split("got healthy result from ")[1].split()[0]
    ctx = ssl.create_default_context(cafile=str(cluster.dir / "tls" / "ca.pem"))
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url + "/v2/keys/", timeout=10, context=ctx)
    assert refused.value.code == 401
    assert b'"errorCode":110' in refused.value.read()
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(url.replace("https", "http") + "/v2/keys/", timeout=10)
