"""fleet's agent driving `shoal node`'s unit manager through its control socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet_procs import PYTHON, Etcd, fleet_cluster

from shoal.fleet.runner import UnitStatus
from shoal.fleet.runner_node import NodeRunner, control_socket
from support import Procs, wait_until, wait_until_async


@pytest.fixture
def node_root() -> Iterator[Path]:
    """A `shoal node` with an empty cloud-config (no etcd, no fleet of its own)."""
    # A short temp dir of its own: the control socket's path must fit a sockaddr_un.
    with Procs(prefix="sfn-") as procs:
        (procs.dir / "cc.yml").write_text("#cloud-config\nhostname: fleet-node-test\n")
        root = procs.dir / "root"
        argv = [PYTHON, "-m", "shoal.cli", "node", "--cloud-config", str(procs.dir / "cc.yml")]
        procs.start("node", [*argv, "--root", str(root)])
        # The socket file appears at bind(), a moment before listen(): wait until it answers.
        sock = control_socket(str(root))
        procs.wait_ready("node", lambda: _answers(sock), 20, "the node's control socket")
        try:
            yield root
        finally:
            procs.stop("node", signal.SIGTERM)


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def node_units(root: Path) -> dict[str, str]:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(control_socket(str(root))))
        s.sendall(b'{"op": "list-units", "all": true}\n')
        buf = b""
        while not buf.endswith(b"\n"):
            buf += s.recv(1 << 20)
    return {u["name"]: u["active_state"] for u in json.loads(buf)["units"]}


def test_node_runner_lifecycle(node_root: Path) -> None:
    async def main() -> None:
        r = NodeRunner(control_socket(str(node_root)))
        try:
            await r.load("hi.service", "[Service]\nExecStart=/bin/sleep 66661\n")
            assert r.status("hi.service") == UnitStatus("loaded", "inactive", "dead")
            await r.start("hi.service")
            running = UnitStatus("loaded", "active", "running")
            await wait_until_async(lambda: r.status("hi.service") == running, 20, "hi running")
            assert r.status("hi.service") == UnitStatus("loaded", "active", "running")
            await r.unload("hi.service")
            assert r.loaded() == []
        finally:
            await r.close()

    asyncio.run(main())
    assert "hi.service" not in node_units(node_root)


def test_fleetd_runs_units_on_the_node_it_belongs_to(one_etcd: Etcd, node_root: Path) -> None:
    mid = (node_root / "etc" / "machine-id").read_text().strip()
    with fleet_cluster(one_etcd.url, {}) as c:
        f = c.add(mid, root_dir=str(node_root))  # unit_runner "auto" finds the control socket
        f.start()
        wait_until(lambda: c.machine_ids() == [mid], 20, "the machine to register")
        rc, _, err = c.ctl("start", "--block-attempts=10", c.unit_file("web.service"))
        assert rc == 0, err
        assert node_units(node_root).get("web.service") == "active"
        assert "running units through shoal node" in f.log()
        rc, out, err = c.ctl("journal", "web.service")  # from the node's journal
        assert rc == 0, err
        assert "fleet-node-test systemd[1]: Started web.service." in out
        rc, _, err = c.ctl("destroy", "web.service")
        wait_until(
            lambda: "web.service" not in node_units(node_root), 10, "the unit to be unloaded"
        )


NOEXEC = "[Service]\nType=simple\n"
REFUSAL = "noexec.service: line 2: service has no ExecStart= and no ExecStop=; refusing"


def test_a_unit_the_node_refuses_stays_in_error_with_the_reason(node_root: Path) -> None:
    async def main() -> None:
        r = NodeRunner(control_socket(str(node_root)))
        try:
            await r.load("noexec.service", NOEXEC)
            refused = UnitStatus("error", "inactive", "dead", REFUSAL)
            assert r.status("noexec.service") == refused
            with contextlib.suppress(Exception):
                await r.start("noexec.service")  # the node knows no such unit: not-found there
            assert r.status("noexec.service") == refused
            await r.unload("noexec.service")
            assert r.loaded() == []
        finally:
            await r.close()

    asyncio.run(main())


def test_fleetctl_start_of_a_refused_unit_ends_with_the_reason(
    one_etcd: Etcd, node_root: Path
) -> None:
    # Issue 19, row 3: `fleetctl start noexec.service` printed "launched on ..." and waited
    # forever; the reason was only in the target machine's log.
    mid = (node_root / "etc" / "machine-id").read_text().strip()
    with fleet_cluster(one_etcd.url, {}) as c:
        f = c.add(mid, root_dir=str(node_root))
        f.start()
        wait_until(lambda: c.machine_ids() == [mid], 20, "the machine to register")
        path = c.workdir / "noexec.service"
        path.write_text(NOEXEC)
        rc, out, err = c.ctl("start", str(path))  # default --block-attempts: no limit
        assert rc == 1, out + err
        assert out.splitlines()[-1].startswith("Unit noexec.service launched on ")
        assert err == (
            f"Unit noexec.service could not be loaded on {mid[:8]}...: "
            f"Loaded: error (Reason: {REFUSAL})\n"
        )
