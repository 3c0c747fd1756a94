"""fleetctl typed on one machine about units on another, in a `shoal up` cluster (issue 19, rows
2, 3 and 9): the journal and `systemctl status` come from the machine that runs the unit, as
fleet fetched them over ssh; a unit its machine refuses (no ExecStart=) ends `fleetctl start`
with the refusal instead of a wait forever; a unit no machine can take points at `fleetctl why`.
One cluster serves every test here (starting one costs tens of seconds).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster.test_seed_experiment import Cluster
from shoal.cluster.layout import STATE_FILE
from support import free_subnet, wait_until

pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("fleet-across") / "c")
    try:
        r = c.shoal("up", "--subnet", free_subnet())
        assert r.returncode == 0, r.stdout + r.stderr
        yield c
    finally:
        if (c.dir / STATE_FILE).exists():
            c.shoal("down", timeout=200)
        for pid in c.processes():
            with contextlib.suppress(OSError):
                os.kill(pid, 9)


def machine_ids(c: Cluster) -> dict[str, str]:
    """IP -> full machine ID, as fleet lists them."""
    r = c.on("coreos-01", "fleetctl list-machines --no-legend --full --fields ip,machine")
    assert r.returncode == 0, r.stderr
    return dict(line.split() for line in r.stdout.splitlines())


def unit_file(c: Cluster, name: str, text: str) -> Path:
    path = c.dir / "units" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def on_third(c: Cluster) -> str:
    """The X-Fleet line that puts a unit on coreos-03 (not the machine fleetctl is typed on)."""
    ids = machine_ids(c)
    third = next(mid for ip, mid in ids.items() if ip.endswith(".30"))
    return f"[X-Fleet]\nMachineID={third}\n"


def test_journal_of_a_unit_on_another_machine(up: Cluster) -> None:
    marker = uuid.uuid4().hex
    path = unit_file(
        up,
        "hello.service",
        f"[Service]\nExecStart=/bin/sh -c 'echo hello {marker}; exec sleep 600'\n" + on_third(up),
    )
    r = up.on("coreos-01", f"fleetctl start {path}")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_until(
        lambda: f"hello {marker}" in up.on("coreos-01", "fleetctl journal hello.service").stdout,
        30,
        "the journal of hello.service read from coreos-03",
    )
    r = up.on("coreos-01", "fleetctl journal --lines 1 hello.service")
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert "point --endpoint" not in r.stdout + r.stderr


def test_status_of_a_template_instance_is_its_machines_systemctl_status(up: Cluster) -> None:
    path = unit_file(
        up,
        "web@.service",
        "[Unit]\nDescription=Web server %i\n"
        "[Service]\nExecStart=/bin/sh -c 'echo serving %i; exec sleep 600'\n" + on_third(up),
    )
    r = up.on("coreos-01", f"fleetctl submit {path} && fleetctl start web@2.service")
    assert r.returncode == 0, r.stdout + r.stderr

    def status() -> str:
        return up.on("coreos-01", "fleetctl status web@2.service").stdout

    wait_until(lambda: "serving 2" in status(), 30, "the journal lines in fleetctl status")
    out = status()
    assert out.startswith("● web@2.service - Web server 2\n"), out
    assert "   Active: active (running)" in out
    assert " Main PID: " in out


def test_start_of_a_unit_its_machine_refuses_ends_with_the_reason(up: Cluster) -> None:
    path = unit_file(up, "noexec.service", "[Service]\nType=simple\n" + on_third(up))
    r = up.on("coreos-01", f"fleetctl start {path}")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "could not be loaded on" in r.stderr and "Loaded: error (Reason: " in r.stderr
    assert "ExecStart" in r.stderr, r.stderr


def test_start_of_a_unit_no_machine_can_take_points_at_why(up: Cluster) -> None:
    path = unit_file(
        up,
        "nowhere.service",
        "[Service]\nExecStart=/bin/sleep 600\n[X-Fleet]\nMachineMetadata=role=nothing\n",
    )
    r = up.on("coreos-01", f"fleetctl start --block-attempts=3 {path}")
    assert r.returncode == 1
    assert "`fleetctl why nowhere.service` says why" in r.stderr, r.stderr
