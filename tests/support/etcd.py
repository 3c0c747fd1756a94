"""etcd members for tests: the flags one member is started with, the real etcd 3.4 at
/usr/bin/etcd (tests that need it skip with a reason when it is absent), and `shoal etcd`, which
takes the same flags. Members listen on loopback only, keep their data in the launcher's temp
dir, and run etcd's v2 API (--enable-v2), the one shoal speaks.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.ports import free_port
from support.procs import STARTUP, Procs

ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"
HAVE_ETCD = os.access(ETCD, os.X_OK)
HAVE_ETCDCTL = os.access(ETCDCTL, os.X_OK)
SKIP_REASON = f"needs the real etcd 3.4 at {ETCD} (not installed; see `make sysdeps`)"


def _shoal_argv() -> list[str]:
    # The venv's console script when there is one (what a user runs), else the module.
    exe = Path(sys.executable).with_name("shoal")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "shoal.cli"]


SHOAL = _shoal_argv()
SHOAL_ETCD = [*SHOAL, "etcd"]
# Fast raft timings for tests (etcd's defaults are 100/1000 ms).
FAST = ("--heartbeat-interval", "50", "--election-timeout", "500")


def require_etcd(etcdctl: bool = False) -> None:
    """Skip the calling test (or fixture) when the real etcd (and etcdctl) is not installed."""
    if not HAVE_ETCD or (etcdctl and not HAVE_ETCDCTL):
        pytest.skip(SKIP_REASON if HAVE_ETCD else SKIP_REASON.replace(ETCD, ETCDCTL))


def etcd_command(kind: str) -> list[str]:
    """The program for a kind of member: "etcd" (the real one) or "shoal" (`shoal etcd`)."""
    return {"etcd": [ETCD], "shoal": SHOAL_ETCD}[kind]


@dataclass(frozen=True)
class EtcdMember:
    """One member's name and URLs (ports picked free on its loopback host)."""

    name: str
    client_url: str
    peer_url: str

    @classmethod
    def on(cls, name: str, host: str = "127.0.0.1") -> EtcdMember:
        return cls(name, f"http://{host}:{free_port(host)}", f"http://{host}:{free_port(host)}")

    @property
    def addr(self) -> str:
        """host:port of the client URL."""
        return self.client_url.removeprefix("http://")

    def flags(
        self,
        data_dir: Path | str,
        cluster: Sequence[EtcdMember] | None = None,
        *,
        state: str = "new",
        token: str | None = None,
        fast: bool = True,
    ) -> list[str]:
        """etcd's flags for this member. Without `cluster`, no --initial-cluster (etcd then uses
        name=peer URL, or the caller passes --discovery and friends)."""
        args = [
            "--name", self.name,
            "--data-dir", str(data_dir),
            "--enable-v2",
            "--listen-client-urls", self.client_url,
            "--advertise-client-urls", self.client_url,
            "--listen-peer-urls", self.peer_url,
            "--initial-advertise-peer-urls", self.peer_url,
        ]  # fmt: skip
        if cluster is not None:
            ic = ",".join(f"{m.name}={m.peer_url}" for m in cluster)
            args += ["--initial-cluster", ic, "--initial-cluster-state", state]
        if token is not None:
            args += ["--initial-cluster-token", token]
        return [*args, *(FAST if fast else ())]


def start_etcd(
    procs: Procs,
    member: EtcdMember,
    *,
    command: Sequence[str] = (ETCD,),
    cluster: Sequence[EtcdMember] | None = None,
    data_dir: Path | None = None,
    flags: Sequence[str] = (),
    state: str = "new",
    token: str | None = None,
    fast: bool = True,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `member` under `procs` (its log is `<name>.log`, its data `<name>.etcd` unless
    data_dir says otherwise). `command` is the real etcd by default; SHOAL_ETCD for shoal's."""
    if list(command) == [ETCD]:
        require_etcd()
    data = data_dir if data_dir is not None else procs.dir / f"{member.name}.etcd"
    args = member.flags(data, cluster, state=state, token=token, fast=fast)
    return procs.start(member.name, [*command, *args, *flags], env=env)


def _get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return int(r.status), r.read()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read()


def etcd_healthy(client_url: str) -> bool:
    """GET /health says {"health":"true"}: the member knows a leader."""
    status, body = _get(client_url + "/health")
    return status == 200 and json.loads(body).get("health") == "true"


def etcd_ready(client_url: str) -> bool:
    """Healthy, the cluster version decided (etcd writes nothing of its own after that, so a
    test's indexes are its own), and a quorum read of /v2/keys answers."""
    if not etcd_healthy(client_url):
        return False
    status, body = _get(client_url + "/version")
    if status != 200 or json.loads(body).get("etcdcluster") == "not_decided":
        return False
    return _get(client_url + "/v2/keys/?quorum=true")[0] == 200


@contextlib.contextmanager
def real_etcd(
    command: Sequence[str] = (ETCD,),
    name: str = "etcd",
    host: str = "127.0.0.1",
    flags: Sequence[str] = (),
    ready: Callable[[str], bool] = etcd_ready,
    timeout: float = STARTUP,
) -> Iterator[EtcdMember]:
    """A one-member etcd (the real 3.4 unless `command` says otherwise) on free loopback ports in
    a temp dir (in memory when /dev/shm exists), ready for requests; killed and removed however
    the block ends. Skips the test when the real etcd is needed and absent."""
    if list(command) == [ETCD]:
        require_etcd()
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with Procs(prefix="shoal-test-etcd-", tmp_root=shm) as procs:
        member = EtcdMember.on(name, host)
        start_etcd(procs, member, command=command, cluster=[member], flags=flags)
        procs.wait_ready(name, lambda: ready(member.client_url), timeout, f"{name} ready")
        yield member
