"""The real etcdctl 3.4's user, role and auth commands against a real etcd and against a shoal
member: every step prints the same and exits the same (and shoal etcdctl against shoal too),
so a user's auth scripts move to shoal unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from side_by_side import run_real, run_shoal_inprocess, same
from test_etcdctl_auth import SCENARIO, _reset

from support import SHOAL_ETCD, real_etcd


class _One:
    def __init__(self, url: str) -> None:
        self.client_urls = [url]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    with real_etcd(name="etcd") as etcd, real_etcd(command=SHOAL_ETCD, name="shoal") as shoal:
        yield etcd.client_url, shoal.client_url


def _play(url: str, runner=run_real) -> list[object]:  # type: ignore[no-untyped-def]
    asyncio.run(_reset([url]))
    try:
        return [runner(["--no-sync", "--endpoints", url, *step]) for step in SCENARIO]
    finally:
        asyncio.run(_reset([url]))


def test_etcdctl_auth_commands_answer_the_same_from_etcd_and_shoal(
    servers: tuple[str, str],
) -> None:
    etcd_url, shoal_url = servers
    from_etcd = _play(etcd_url)
    from_shoal = _play(shoal_url)
    by_shoal_etcdctl = _play(shoal_url, run_shoal_inprocess)
    for step, e, s, t in zip(SCENARIO, from_etcd, from_shoal, by_shoal_etcdctl, strict=True):
        for label, other in (("etcdctl -> shoal", s), ("shoal etcdctl -> shoal", t)):
            try:
                same(e, other)  # type: ignore[arg-type]
            except AssertionError:
                raise AssertionError(
                    f"etcdctl {' '.join(step)}:\netcdctl -> etcd  {e}\n{label} {other}"
                ) from None
