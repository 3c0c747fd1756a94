"""watch and exec-watch side by side. Events are written first and watched from history with
--after-index, so both tools see the same events whatever the timing; long-running watches are
ended with Ctrl+C (SIGINT), which etcdctl answers with exit 0."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
from side_by_side import both, compare

from shoal.client import Client, EtcdError
from support.cluster import Target

FORMATS = ["simple", "extended", "json"]


@pytest.fixture(scope="module")
def etcd(cluster: Target) -> Iterator[Client]:
    with Client(cluster.client_urls, total_timeout=10) as c:
        yield c


def history(c: Client, *steps: Callable[[Client], object]) -> int:
    """Run the steps on a fresh /w and return the index just before the first of them."""
    with contextlib.suppress(EtcdError):
        c.delete("/w", recursive=True)
    before = c.set("/w-marker", "x").index
    for step in steps:
        step(c)
    return before


@pytest.mark.parametrize("fmt", FORMATS)
def test_watch_one_event(cluster, etcd, fmt) -> None:  # type: ignore[no-untyped-def]
    eps = ["--endpoints", ",".join(cluster.client_urls), "-o", fmt]
    idx = history(etcd, lambda c: c.set("/w/a", "1"), lambda c: c.set("/w/a", "2"))
    compare([*eps, "watch", "--after-index", str(idx), "/w/a"])
    compare([*eps, "watch", "--after-index", str(idx + 1), "/w/a"])
    compare([*eps, "watch", "-r", "--after-index", str(idx), "/w"])
    idx = history(etcd, lambda c: c.set("/w/d", dir=True), lambda c: c.set("/w/d/x", "v"))
    compare([*eps, "watch", "-r", "--after-index", str(idx), "/w"])  # dir event skipped
    idx = history(etcd, lambda c: c.set("/w/a", "1"), lambda c: c.delete("/w/a"))
    compare([*eps, "watch", "--after-index", str(idx + 1), "/w/a"])
    compare([*eps, "watch"])  # key required


def test_watch_forever_until_ctrl_c(cluster, etcd) -> None:  # type: ignore[no-untyped-def]
    eps = ["--endpoints", ",".join(cluster.client_urls)]
    idx = history(
        etcd,
        lambda c: c.set("/w/a", "1"),
        lambda c: c.set("/w/b", "2"),
        lambda c: c.delete("/w/a"),
    )
    both([*eps, "watch", "--forever", "-r", "--after-index", str(idx), "/w"], lines=6)
    both([*eps, "-o", "extended", "watch", "-f", "--after-index", str(idx), "/w/a"], lines=13)


def test_exec_watch_runs_the_command_per_event(cluster, etcd) -> None:  # type: ignore[no-untyped-def]
    eps = ["--endpoints", ",".join(cluster.client_urls)]
    idx = history(etcd, lambda c: c.set("/w/a", "1"), lambda c: c.set("/w/a", "two words"))
    script = 'echo "$ETCD_WATCH_ACTION|$ETCD_WATCH_KEY|$ETCD_WATCH_VALUE"; sleep 0.2'
    both(
        [*eps, "exec-watch", "--after-index", str(idx), "sh", "-c", script, "/w/a"],
        lines=2,
        ordered=False,
    )
    idx = history(etcd, lambda c: c.set("/w/d", dir=True), lambda c: c.set("/w/d/x", "v"))
    script = 'echo "$ETCD_WATCH_KEY=$ETCD_WATCH_VALUE"'
    both([*eps, "exec-watch", "-r", "--after-index", str(idx), "sh", "-c", script, "/w"], lines=1)


def test_exec_watch_needs_key_and_command(cluster) -> None:  # type: ignore[no-untyped-def]
    compare(["--endpoints", ",".join(cluster.client_urls), "exec-watch", "/w/a"])
    compare(["--endpoints", ",".join(cluster.client_urls), "exec-watch"])
