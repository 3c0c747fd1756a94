from __future__ import annotations

from collections.abc import Iterator

import pytest
from fleet_procs import BACKENDS, HAVE_ETCD, ONE_BACKEND, SKIP_REASON, Etcd, etcd_member


@pytest.fixture(scope="module", params=BACKENDS)
def etcd(request: pytest.FixtureRequest) -> Iterator[Etcd]:
    if request.param == "etcd" and not HAVE_ETCD:
        pytest.skip(SKIP_REASON)
    with etcd_member(request.param) as e:
        yield e


@pytest.fixture(scope="module")
def one_etcd() -> Iterator[Etcd]:
    with etcd_member(ONE_BACKEND) as e:
        yield e
