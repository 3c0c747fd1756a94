"""Fixtures for the discovery tests: registries (a real etcd 3.4 or a one-member shoal etcd) on
loopback, killed at teardown. Processes of one test come from the shared `procs` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from discovery_harness import STARTUP

import support


def _registry(real: bool) -> Iterator[str]:
    command = [support.ETCD] if real else support.SHOAL_ETCD
    ready = support.etcd_healthy
    with support.real_etcd(command, name="registry", ready=ready, timeout=STARTUP) as m:
        yield m.client_url


@pytest.fixture(scope="session")
def real_etcd() -> Iterator[str]:
    """A real etcd 3.4 (v2 enabled) on loopback: its client URL. Skips when it is absent."""
    yield from _registry(real=True)


@pytest.fixture(scope="session")
def shoal_registry() -> Iterator[str]:
    """A one-member `shoal etcd` used as a discovery registry: its client URL."""
    yield from _registry(real=False)
