from __future__ import annotations

from collections.abc import Iterator

import pytest

from support import require_etcd
from support.cluster import Target, target_cluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[Target]:
    """One 3-member cluster for the etcdctl tests (real etcd unless SHOAL_TEST_TARGET says
    otherwise). A test that stops members starts them again, also when it fails."""
    require_etcd(etcdctl=True)
    with target_cluster() as c:
        yield c


@pytest.fixture(autouse=True)
def _need_etcdctl() -> None:
    require_etcd(etcdctl=True)
