from __future__ import annotations

from collections.abc import Iterator

import pytest

from support import require_etcd
from support.cluster import Target, target_cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[Target]:
    require_etcd(etcdctl=True)
    with target_cluster() as c:
        yield c
