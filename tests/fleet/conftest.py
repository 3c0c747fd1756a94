from __future__ import annotations

from collections.abc import Iterator

import pytest
from fleet_procs import HAVE_ETCD, SKIP_REASON, Etcd, etcd_member


@pytest.fixture(scope="module")
def etcd() -> Iterator[Etcd]:
    if not HAVE_ETCD:
        pytest.skip(SKIP_REASON)
    with etcd_member() as e:
        yield e
