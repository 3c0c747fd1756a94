from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The cluster harness is shared with the etcdctl tests (one place that starts and kills etcd).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "etcdctl"))

from etcdctl_cluster import HAVE_ETCD, SKIP_REASON, Target, target_cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[Target]:
    if not HAVE_ETCD:
        pytest.skip(SKIP_REASON)
    with target_cluster() as c:
        yield c
