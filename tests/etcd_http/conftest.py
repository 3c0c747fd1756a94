"""Fixtures giving base URLs to compare: a real etcd 3.4 (skipped when /usr/bin/etcd is
missing) and shoal's HTTP layer. The shoal side is the HTTP layer over the single-process fake
member, or any running shoal member when SHOAL_HTTP_URL=http://host:port is set."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
# One place starts and kills a real etcd for the tests: the store tests' harness.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))

from fake_server import FakeMember
from store_harness import ETCD, real_etcd


@pytest.fixture(scope="module")
def etcd_url() -> Iterator[str]:
    if not os.path.exists(ETCD):
        pytest.skip(f"needs a real etcd 3.4 at {ETCD}")
    with real_etcd() as addr:
        yield f"http://{addr}"


@pytest.fixture(scope="module")
def shoal_url() -> Iterator[str]:
    url = os.environ.get("SHOAL_HTTP_URL")
    if url:
        yield url.rstrip("/")
        return
    with FakeMember().serve() as base:
        yield base


@pytest.fixture
def fake() -> Iterator[tuple[FakeMember, str]]:
    """A fresh fake member and the base URL of the HTTP layer over it."""
    m = FakeMember()
    with m.serve() as base:
        yield m, base
