"""The seed's situations, side by side: cluster-health and member commands with all members up,
one member stopped, two stopped (quorum lost), and after they come back."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable

import pytest
from side_by_side import (
    Run,
    both,
    compare,
    run_real,
    run_shoal_inprocess,
    same,
)

from shoal.client import Client
from support import wait_until
from support.cluster import Target


@pytest.fixture
def ctl(cluster: Target) -> Callable[..., Run]:
    eps = ",".join(cluster.client_urls)

    def run(*args: str, setup: Callable[[], None] | None = None) -> Run:
        return compare(["--endpoints", eps, "--timeout", "1s", *args], setup=setup)

    return run


def _lines(cluster: Target) -> list[str]:
    return run_real(["--endpoints", ",".join(cluster.client_urls), "cluster-health"]).out.split(
        "\n"
    )


def test_seed_scenario_all_up_one_down_two_down_and_back(ctl, cluster) -> None:  # type: ignore[no-untyped-def]
    try:
        # All up: every member healthy, exit 0.
        ctl("cluster-health")
        ctl("member", "list")
        ctl("set", "/seed", "up")
        assert _lines(cluster)[-2] == "cluster is healthy"

        # One member shut down (SIGTERM): it is unreachable, the cluster degraded (exit 5),
        # and reads and writes still work through the others.
        cluster.stop(2, signal.SIGTERM)
        ctl("cluster-health")
        ctl("member", "list")
        ctl("get", "/seed")
        ctl("set", "/seed", "one-down")
        ctl("--no-sync", "get", "/seed")
        assert _lines(cluster)[-2] == "cluster is degraded"

        # Two members gone (SIGKILL): the survivor is unhealthy, the cluster unavailable; a local
        # read still answers, writes and quorum reads fail, and the leader cannot be named.
        cluster.stop(1, signal.SIGKILL)
        ctl("cluster-health")
        ctl("member", "list")
        ctl("get", "/seed")
        ctl("set", "/seed", "two-down")
        ctl("get", "--quorum", "/seed")
        ctl("--timeout", "5s", "--total-timeout", "1s", "set", "/seed", "x")  # deadline first
        assert _lines(cluster)[-2] == "cluster is unavailable"

        # Both come back: healthy again, and the write made with one member down survived
        # (unless a later, timed-out write was committed after all).
        cluster.start(1)
        cluster.start(2)
        cluster.wait_ready()
        wait_until(lambda: _lines(cluster)[-2] == "cluster is healthy", 20, "cluster healthy")
        ctl("cluster-health")
        ctl("member", "list")
        # A write that timed out without quorum has an unknown outcome: etcd may still commit
        # it once the members return. Nothing acknowledged was lost either way.
        assert ctl("get", "--quorum", "/seed").out in ("one-down\n", "two-down\n", "x\n")
    finally:
        for i in range(len(cluster.client_urls)):
            cluster.start(i)
        cluster.wait_ready()


def test_cluster_health_lists_members_from_any_live_endpoint(cluster) -> None:  # type: ignore[no-untyped-def]
    eps = ["http://127.0.0.1:1", *cluster.client_urls]
    compare(["--endpoints", ",".join(eps), "cluster-health"])
    compare(["--endpoints", ",".join(eps), "--no-sync", "get", "/nope"])


def test_cluster_health_forever_repeats_until_ctrl_c(cluster) -> None:  # type: ignore[no-untyped-def]
    # One round (3 members + verdict), then the "next check" notice; Ctrl+C exits 0.
    both(["--endpoints", ",".join(cluster.client_urls), "cluster-health", "--forever"], lines=7)


def test_output_format_does_not_change_cluster_health(ctl) -> None:  # type: ignore[no-untyped-def]
    ctl("-o", "json", "cluster-health")
    ctl("-o", "extended", "member", "list")


def test_member_add_update_remove(ctl, cluster) -> None:  # type: ignore[no-untyped-def]
    eps = ",".join(cluster.client_urls)
    host = cluster.client_urls[0].split("//")[1].split(":")[0]
    peer = f"http://{host}:1"  # never started: the member stays unstarted
    known = _known_ids(cluster)

    def unstarted() -> list[str]:
        with Client(cluster.client_urls, total_timeout=10) as c:
            return [m.id for m in c.members() if not m.name]

    def cleanup() -> None:
        with Client(cluster.client_urls, total_timeout=10) as c:
            for member_id in unstarted():
                c.remove_member(member_id)

    def hide_new(run: Run) -> Run:
        def sub(text: str) -> str:
            text = re.sub(r"\b[0-9a-f]{12,16}\b", lambda m: m[0] if m[0] in known else "NEW", text)
            # Members come in ID order, and the new member's ID differs between the runs.
            return re.sub(
                r'ETCD_INITIAL_CLUSTER="([^"]*)"',
                lambda m: 'ETCD_INITIAL_CLUSTER="' + ",".join(sorted(m[1].split(","))) + '"',
                text,
            )

        return Run(sub(run.out), sub(run.err), run.code)

    def add_until_accepted(runner: Callable[[list[str]], Run]) -> Run:
        # etcd refuses a new member for a few seconds after a membership change or a restart
        # (strict reconfig check: "has no leader" from every member), so retry until accepted.
        results: list[Run] = []

        def attempt() -> bool:
            results.append(runner(["--endpoints", eps, "member", "add", "m4", peer]))
            return results[-1].code == 0

        wait_until(attempt, 40, "etcd to accept a new member", every=1.0)
        return hide_new(results[-1])

    cleanup()
    real_added = add_until_accepted(run_real)
    assert real_added.out.startswith("Added member named m4 with ID NEW to cluster\n")
    new_id = unstarted()[0]
    # With an unstarted member present: list, a duplicate peer URL, bad URLs, update, remove.
    for args in (
        ["member", "list"],
        ["member", "add", "m5", peer],
        ["member", "add", "m5", "nope"],
        ["member", "add", "m5", "http://h"],
        ["member", "remove", "m1"],
        ["member", "remove", "1234"],
        ["member", "update", "1234", "http://127.0.0.1:2"],
        ["member", "update", new_id, f"http://{host}:3,http://{host}:4"],
    ):
        same(
            hide_new(run_real(["--endpoints", eps, *args])),
            hide_new(run_shoal_inprocess(["--endpoints", eps, *args])),
        )
    real_removed = hide_new(run_real(["--endpoints", eps, "member", "remove", new_id]))
    assert real_removed.out == "Removed member NEW from cluster\n"
    cleanup()
    same(real_added, add_until_accepted(run_shoal_inprocess))
    second_id = unstarted()[0]
    same(
        real_removed,
        hide_new(run_shoal_inprocess(["--endpoints", eps, "member", "remove", second_id])),
    )
    cleanup()


def _known_ids(cluster: Target) -> set[str]:
    with Client(cluster.client_urls) as c:
        return {m.id for m in c.members() if m.name}
