"""Fixtures giving base URLs to compare: a real etcd 3.4 (skipped when /usr/bin/etcd is
missing) and shoal's HTTP layer. The shoal side is the HTTP layer over the single-process fake
member, or any running shoal member when SHOAL_HTTP_URL=http://host:port is set."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_server import FakeMember

from support import ETCD, real_etcd


@pytest.fixture(scope="module")
def etcd_url(shoal_url: str) -> Iterator[str]:
    # Depends on shoal_url so that each shoal variant is compared with a fresh etcd.
    if not os.path.exists(ETCD):
        pytest.skip(f"needs a real etcd 3.4 at {ETCD}")
    with real_etcd() as etcd:
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
    client, peer = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    shoal = Path(sys.executable).with_name("shoal")
    args = [
        str(shoal), "etcd", "--name", "compat", "--data-dir", str(data / "data"),
        "--listen-client-urls", client, "--advertise-client-urls", client,
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
        "--initial-cluster", f"compat={peer}",
        "--heartbeat-interval", "50", "--election-timeout", "500",
    ]  # fmt: skip
    with open(data / "etcd.log", "wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(client + "/health", timeout=2) as r:
                    if b"true" in r.read():
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    "shoal etcd did not become healthy:\n" + (data / "etcd.log").read_text()
                )
            time.sleep(0.05)
        yield client
    finally:
        proc.kill()
        proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fake() -> Iterator[tuple[FakeMember, str]]:
    """A fresh fake member and the base URL of the HTTP layer over it."""
    m = FakeMember()
    with m.serve() as base:
        yield m, base
