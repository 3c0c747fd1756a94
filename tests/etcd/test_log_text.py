"""A member's log reads as etcd's does: Go's text for lists and network errors, never a Python
repr (issue 19, row 13: `ClientURLs:['http://...']`, `('127.0.0.10', 2379)`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from support.ports import free_port
from support.procs import Procs
from support.wait import wait_until

pytestmark = pytest.mark.timeout(120)


def member(procs: Procs, tmp_path: Path, name: str, initial: str, peer: int) -> None:
    client = free_port()
    procs.start(name, [
        sys.executable, "-m", "shoal.cli", "etcd", "--name", name,
        "--data-dir", str(tmp_path / name), "--log-level", "debug",
        "--listen-peer-urls", f"http://127.0.0.1:{peer}",
        "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
        "--listen-client-urls", f"http://127.0.0.1:{client}",
        "--advertise-client-urls", f"http://127.0.0.1:{client}",
        "--initial-cluster", initial, "--heartbeat-interval", "50", "--election-timeout", "500",
    ])  # fmt: skip


def no_python_reprs(text: str) -> None:
    for repr_mark in ("['", "('", "[Errno", "Error:", "b'"):
        assert repr_mark not in text, f"{repr_mark!r} in the log:\n{text}"


def test_a_lone_member_publishes_its_urls_as_go_prints_a_list(procs: Procs, tmp_path: Path) -> None:
    peer = free_port()
    member(procs, tmp_path, "solo", f"solo=http://127.0.0.1:{peer}", peer)
    line = wait_until(
        lambda: next((x for x in procs.log("solo").splitlines() if "published" in x), None),
        60, "the member to publish itself",
    )  # fmt: skip
    assert "published {Name:solo ClientURLs:[http://127.0.0.1:" in line, line
    no_python_reprs(procs.log("solo"))


def test_a_peer_that_is_down_is_reported_with_gos_dial_error(procs: Procs, tmp_path: Path) -> None:
    peer, gone = free_port(), free_port()
    initial = f"a=http://127.0.0.1:{peer},b=http://127.0.0.1:{gone}"
    member(procs, tmp_path, "a", initial, peer)
    line = wait_until(
        lambda: next((x for x in procs.log("a").splitlines() if "became inactive" in x), None),
        60, "the member to report its missing peer",
    )  # fmt: skip
    assert line.endswith(f"dial http://127.0.0.1:{gone}: connect: connection refused"), line
    no_python_reprs(procs.log("a"))
