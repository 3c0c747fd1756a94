"""Fixtures giving base URLs to compare: a real etcd 3.4 (skipped when /usr/bin/etcd is
missing) and shoal's HTTP layer. The shoal side is the HTTP layer over the single-process fake
member, or any running shoal member when SHOAL_HTTP_URL=http://host:port is set."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_server import FakeMember

from support import SHOAL_ETCD, EtcdMember, Procs, etcd_healthy, real_etcd, start_etcd


@pytest.fixture(scope="module")
def etcd_url(shoal_url: str) -> Iterator[str]:
    # Depends on shoal_url so that each shoal variant is compared with a fresh etcd.
    with real_etcd() as etcd:  # skips when /usr/bin/etcd is absent
        yield etcd.client_url


@pytest.fixture(scope="module", params=["fake-member", "shoal-etcd"])
def shoal_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The HTTP layer over the fake member, and a real `shoal etcd` process (raft, WAL and all)."""
    url = os.environ.get("SHOAL_HTTP_URL")
    if url:
        yield url.rstrip("/")
        return
    if request.param == "fake-member":
        with FakeMember().serve() as base:
            yield base
        return
    with shoal_etcd_process(tmp_path_factory.mktemp("shoal-etcd")) as base:
        yield base


@contextlib.contextmanager
def shoal_etcd_process(data: Path) -> Iterator[str]:
    """A one-member `shoal etcd` (raft, WAL and all) on loopback; its client URL once healthy."""
    with Procs(data) as procs:
        member = EtcdMember.on("compat")
        start_etcd(procs, member, command=SHOAL_ETCD, cluster=[member], data_dir=data / "data")
        procs.wait_ready("compat", lambda: etcd_healthy(member.client_url), 60, "healthy")
        yield member.client_url


@pytest.fixture
def fake() -> Iterator[tuple[FakeMember, str]]:
    """A fresh fake member and the base URL of the HTTP layer over it."""
    m = FakeMember()
    with m.serve() as base:
        yield m, base
