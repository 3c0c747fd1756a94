"""A swappable three-member cluster for the client and etcdctl tests.

A *target* is anything with `client_urls` (one per member, index i is member i) and
`stop(i, sig)` / `start(i)` / `wait_ready()` / `close()` (see `Target`). `EtcdCluster` runs three
real etcd 3.4 members (--enable-v2) on loopback, or `shoal etcd` members with the same flags; a
cluster defined elsewhere drops in without touching this file with
SHOAL_TEST_TARGET=package.module:factory (a zero-argument callable returning a started Target).

Every process is started by one `Procs` and killed on close, also when a test fails.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from support.etcd import ETCD, SHOAL_ETCD, EtcdMember, start_etcd
from support.ports import loopback_net
from support.procs import Procs
from support.wait import wait_until


class Target(Protocol):
    client_urls: list[str]

    def stop(self, i: int, sig: int = signal.SIGTERM) -> None: ...

    def start(self, i: int) -> None: ...  # no-op when member i is running

    def wait_ready(self, timeout: float = 20.0) -> None: ...

    def close(self) -> None: ...


def http_status(url: str, timeout: float = 2.0) -> int:
    """The status of GET url, 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


class EtcdCluster:
    """`size` members on 127.0.<r>.1.. (random r and ports), fast timings (50/500 ms), run by the
    real etcd, or by `command` (another program taking etcd's flags, such as `shoal etcd`)."""

    def __init__(self, size: int = 3, command: Sequence[str] = (ETCD,)) -> None:
        self.command = list(command)
        self.procs = Procs(prefix="shoal-etcdctl-")
        net = loopback_net()
        self.members = [EtcdMember.on(f"m{i + 1}", f"127.0.{net}.{i + 1}") for i in range(size)]
        self.client_urls = [m.client_url for m in self.members]
        self.token = f"shoal-{os.getpid()}-{net}"
        try:
            for i in range(size):
                self.start(i)
            self.wait_ready()
        except BaseException:
            self.close()
            raise

    def start(self, i: int) -> None:
        m = self.members[i]
        if self.procs.running(m.name):
            return
        start_etcd(
            self.procs,
            m,
            command=self.command,
            cluster=self.members,
            token=self.token,
            data_dir=self.procs.dir / m.name,
        )

    def stop(self, i: int, sig: int = signal.SIGTERM) -> None:
        m = self.members[i]
        if not self.procs.running(m.name):
            return
        self.procs.stop(m.name, sig)
        url = m.client_url + "/version"
        wait_until(lambda: http_status(url, 0.5) == 0, 10, f"{m.client_url} to stop")

    def running(self) -> list[int]:
        return [i for i, m in enumerate(self.members) if self.procs.running(m.name)]

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Every running member answers /health with 200 (so a leader is known)."""
        for i in self.running():
            self._wait_healthy(self.members[i], timeout)

    def _wait_healthy(self, m: EtcdMember, timeout: float) -> None:
        url = m.client_url + "/health"
        self.procs.wait_ready(m.name, lambda: http_status(url) == 200, timeout, f"{url} healthy")

    def close(self) -> None:
        self.procs.close()


def shoal_etcd_cluster() -> Target:
    """The same three members, run by `shoal etcd` (shoal's own member) instead of etcd."""
    return EtcdCluster(command=SHOAL_ETCD)


TARGETS: dict[str, Callable[[], Target]] = {"etcd": EtcdCluster, "shoal": shoal_etcd_cluster}


def _factory(name: str) -> Callable[[], Target]:
    """A name from TARGETS, or "package.module:callable" for a cluster defined elsewhere."""
    if ":" in name:
        module, attr = name.split(":", 1)
        factory: Callable[[], Target] = getattr(importlib.import_module(module), attr)
        return factory
    return TARGETS[name]


@contextlib.contextmanager
def target_cluster() -> Iterator[Target]:
    """The cluster SHOAL_TEST_TARGET names (the real etcd by default), closed however the block
    ends."""
    cluster = _factory(os.environ.get("SHOAL_TEST_TARGET", "etcd"))()
    try:
        yield cluster
    finally:
        cluster.close()
