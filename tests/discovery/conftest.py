"""Fixtures for the discovery tests: registries (a real etcd 3.4 or a one-member shoal etcd)
and a process table killed at teardown. Loopback only."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from discovery_harness import ETCD, STARTUP, Procs, healthy, wait_until


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path)
    try:
        yield p
    finally:
        p.kill_all()


def _registry(tmp: Path, real: bool) -> Iterator[str]:
    p = Procs(tmp)
    try:
        if real:
            url = p.real_etcd("registry", "127.0.0.1", "--initial-cluster-state", "new")
        else:
            url = p.shoal_etcd("registry", "127.0.0.1")
        wait_until(lambda: healthy(url), STARTUP, "the registry etcd")
        yield url
    finally:
        p.kill_all()


@pytest.fixture(scope="session")
def real_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real etcd 3.4 (v2 enabled) on loopback: its client URL."""
    if not os.path.exists(ETCD) or shutil.which(ETCD) is None:
        pytest.skip(f"needs the real etcd at {ETCD}")
    yield from _registry(tmp_path_factory.mktemp("real-etcd"), real=True)


@pytest.fixture(scope="session")
def shoal_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A one-member `shoal etcd` used as a discovery registry: its client URL."""
    yield from _registry(tmp_path_factory.mktemp("shoal-registry"), real=False)
