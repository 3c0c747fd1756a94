"""Fixtures for the hostile-input tests: one running `shoal etcd` member for the whole folder
(started once; every example checks it is still alive), and the hypothesis budget.

SHOAL_FUZZ_EXAMPLES sets how many inputs each property tries (default 25, what `make test`
runs in seconds); examples are derandomized, so a run is reproducible and CI is stable. A long
hunt: SHOAL_FUZZ_EXAMPLES=5000 pytest tests/fuzz.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.etcd import SHOAL_ETCD, EtcdMember, real_etcd

pytest.importorskip("hypothesis")


@pytest.fixture(scope="package")
def member() -> Iterator[EtcdMember]:
    with real_etcd(command=SHOAL_ETCD, name="fuzz") as m:
        yield m
