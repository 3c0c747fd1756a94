"""The real fleetctl v1.0.0 as the oracle of `shoal fleetctl` and of shoal's fleetd (issue 18).

One cluster for the module: three `shoal fleetd` machines on loopback over one etcd. Every step
runs in four lanes at once, each on its own units: the real fleetctl through the API over the
unix socket ("ux"), through the API over TCP ("tc"), through `--driver=etcd` on the registry
("et"), and `shoal fleetctl` ("sh"). A unit's name starts with its lane, so the lanes' outputs
are compared after replacing the lane, the machine IDs and the unit hashes; each unit's
ExecStart appends a line to a file, which says that (and how often) it really ran.

The binary is the shared folder's (../shared beside the repository, or $SHOAL_SHARED); without
it the module is skipped. Differences that remain on purpose are in src/shoal/fleet/README.md.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from fleet.fleet_procs import ONE_BACKEND, Etcd, FleetCluster, etcd_member
from support import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SHOAL_SHARED") or REPO.parent / "shared")
FLEETCTL = SHARED / "tools" / "fleet-v1.0.0" / "fleetctl"
if not os.access(FLEETCTL, os.X_OK):
    pytest.skip(
        f"the real fleetctl is not at {FLEETCTL} (set SHOAL_SHARED to the shared folder)",
        allow_module_level=True,
    )

MACHINES = {
    "1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a": "role=web",
    "2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b": "role=db",
    "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c": "role=web",
}
DB = "2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b"
LANES = ("ux", "tc", "et", "sh")
STEP = 60  # seconds any one command may take before it counts as hung

Result = tuple[int, str, str]


class Oracle:
    """The cluster and the four ways of talking to it."""

    def __init__(self, etcd: Etcd, cluster: FleetCluster, tcp: str) -> None:
        self.etcd = etcd
        self.c = cluster
        self.dir = cluster.workdir
        self.tcp = tcp
        self.first = next(iter(cluster.fleetds.values()))

    # ---- running one command ------------------------------------------------------------------

    def real(self, lane: str, *args: str) -> Result:
        base = {
            "ux": [f"--endpoint={self.first.endpoint}"],
            "tc": [f"--endpoint=http://{self.tcp}"],
            "et": [
                "--driver=etcd",
                f"--endpoint={self.etcd.url}",
                f"--etcd-key-prefix={self.c.prefix}",
            ],
        }[lane]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.dir)}
        p = subprocess.run(
            [str(FLEETCTL), *base, *args],
            capture_output=True,
            text=True,
            timeout=STEP,
            env=env,
            cwd=self.dir,
        )
        return p.returncode, p.stdout, p.stderr

    def shoal(self, *args: str) -> Result:
        from shoal.fleetctl import main

        out, err = io.StringIO(), io.StringIO()
        cwd = os.getcwd()
        os.chdir(self.dir)
        try:
            with redirect_stdout(out), redirect_stderr(err):
                rc = main([f"--endpoint={self.first.endpoint}", *args], env={})
        finally:
            os.chdir(cwd)
        return rc, out.getvalue(), err.getvalue()

    def run(self, lane: str, *args: str) -> Result:
        return self.shoal(*args) if lane == "sh" else self.real(lane, *args)

    def lanes(
        self, make: Callable[[str], list[str]], which: tuple[str, ...] = LANES
    ) -> dict[str, Result]:
        """The same step in every lane at once (the real clients are processes; shoal's runs
        in this thread meanwhile); `make(lane)` gives the lane's arguments."""
        with ThreadPoolExecutor(len(LANES) - 1) as pool:
            futures = {ln: pool.submit(self.real, ln, *make(ln)) for ln in which if ln != "sh"}
            results = {"sh": self.shoal(*make("sh"))}
            results.update({ln: f.result() for ln, f in futures.items()})
        return results

    # ---- units --------------------------------------------------------------------------------

    def unit(self, name: str, xfleet: str = "", service: str = "", exec_start: str = "") -> str:
        """Write unit file `name` into the cluster's directory; its ExecStart records each run."""
        ran = self.dir / f"{name}.ran"
        start = exec_start or f"/bin/sh -c 'echo ran >> {ran}; exec /bin/sleep {self.c.marker}'"
        body = f"[Unit]\nDescription={name}\n[Service]\n{service}ExecStart={start}\n"
        if xfleet:
            body += "[X-Fleet]\n" + xfleet + "\n"
        (self.dir / name).write_text(body)
        return name

    def runs(self, name: str) -> int:
        """How many times unit `name` ran (its ExecStart began)."""
        ran = self.dir / f"{name}.ran"
        return len(ran.read_text().split()) if ran.exists() else 0

    def wait_runs(self, name: str, count: int) -> int:
        wait_until(lambda: self.runs(name) >= count, 20, f"{name} to run {count} time(s)")
        return self.runs(name)

    def placement(self) -> dict[str, tuple[str, str]]:
        """unit -> (machine ID or "-", active state), from `fleetctl list-units`."""
        args = ("list-units", "--no-legend", "--full", "--fields=unit,machine,active")
        rc, out, err = self.shoal(*args)
        assert rc == 0, err
        rows = [line.split() for line in out.splitlines() if line.strip()]
        return {r[0]: (r[1].split("/")[0], r[2]) for r in rows}

    def machine_of(self, name: str) -> str:
        return self.placement().get(name, ("-", ""))[0]


# shoal fleetctl's own line, the one it prints beyond fleetctl's (see the fleet README): a
# unit still on no machine after one attempt points at `fleetctl why`.
SHOAL_ONLY = re.compile(
    r"^Unit \S+ is not on any machine yet; `fleetctl why \S+` says why\.\n", re.M
)
# fleetctl's log lines start with the local time.
LOG_TIME = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ", re.M)
# fleetctl's goroutines waiting for several units share one machine cache, filled by the first
# of them: the others may find it empty and print "Unit X launched" without " on MACHINE".
ON_MACHINE = re.compile(r" on M{8}\.\.\./127\.0\.0\.1$", re.M)


def normal(lane: str, text: str) -> str:
    """One lane's output in the terms of any other: lane, machine IDs, hashes and times
    replaced."""
    text = re.sub(rf"\b{lane}-", "L-", text)
    for mid in MACHINES:
        text = text.replace(mid, "M" * len(mid)).replace(mid[:8], "M" * 8)
    if lane == "sh":
        text = SHOAL_ONLY.sub("", text)
    text = LOG_TIME.sub("TIME ", text)
    return re.sub(r"\b[0-9a-f]{40}\b|\b[0-9a-f]{7}\b", "HASH", text)


def same(results: dict[str, Result], sort: bool = False, lanes: tuple[str, ...] = LANES) -> Result:
    """Every lane's (exit code, stdout, stderr) equal after `normal`; returns the real one's.
    `sort` orders the lines first, for steps whose units report in parallel."""

    def key(lane: str) -> Result:
        rc, out, err = results[lane]
        out, err = normal(lane, out), normal(lane, err)
        if sort:
            out = ON_MACHINE.sub("", out)
            out = "".join(sorted(out.splitlines(keepends=True)))
            err = "".join(sorted(err.splitlines(keepends=True)))
        return rc, out, err

    want = key("ux")
    for lane in lanes[1:]:
        assert key(lane) == want, f"lane {lane} differs from the real fleetctl over the socket"
    return want


@pytest.fixture(scope="module")
def oracle() -> Iterator[Oracle]:
    tcp = f"127.0.0.1:{free_port('127.0.0.1')}"
    with etcd_member(ONE_BACKEND) as e:
        c = FleetCluster(e.url, {}, public_ip="127.0.0.1")
        for i, (mid, meta) in enumerate(MACHINES.items()):
            c.add(mid, meta, **({"api_tcp": tcp} if i == 0 else {}))
        try:
            c.start()
            wait_until(lambda: _answers(c, tcp), 20, "the fleet API on TCP")
            yield Oracle(e, c, tcp)
        finally:
            c.close()


def _answers(c: FleetCluster, tcp: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://{tcp}/fleet/v1/machines", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


# ---- the tests, in the order a user takes them (they share the module's cluster) ---------------


def test_list_machines_with_its_flags(oracle: Oracle) -> None:
    for flags in ([], ["--full"], ["--no-legend"], ["--full", "--fields=machine,ip,metadata"]):
        rc, out, err = same(oracle.lanes(lambda ln, f=flags: ["list-machines", *f]))  # type: ignore[misc]
        assert rc == 0 and err == ""
        assert "role=db" in out and out.count("127.0.0.1") == 3
    rc, _, err = same(oracle.lanes(lambda ln: ["list-machines", "--fields=bogus"]))
    assert rc == 1 and '"bogus"' in err


def test_submit_load_start_a_plain_unit_and_it_runs(oracle: Oracle) -> None:
    for ln in LANES:
        oracle.unit(f"{ln}-plain.service")
    rc, out, err = same(oracle.lanes(lambda ln: ["submit", f"{ln}-plain.service"]))
    assert (rc, out, err) == (0, "Unit L-plain.service inactive\n", "")
    rc, out, err = same(oracle.lanes(lambda ln: ["load", f"{ln}-plain.service"]))
    assert rc == 0 and re.fullmatch(r"Unit L-plain.service loaded on M{8}\.\.\./127.0.0.1\n", out)
    rc, out, err = same(oracle.lanes(lambda ln: ["start", f"{ln}-plain"]))
    assert rc == 0 and re.fullmatch(r"Unit L-plain.service launched on M{8}\.\.\./127.0.0.1\n", out)
    for ln in LANES:
        assert oracle.wait_runs(f"{ln}-plain.service", 1) == 1


def test_template_instances_global_and_metadata(oracle: Oracle) -> None:
    for ln in LANES:
        oracle.unit(f"{ln}-tmpl@.service")
        oracle.unit(f"{ln}-glob.service", "Global=true")
        oracle.unit(f"{ln}-db.service", "MachineMetadata=role=db")
    rc, out, err = same(
        oracle.lanes(lambda ln: ["start", f"{ln}-tmpl@1.service", f"{ln}-tmpl@2.service"]),
        sort=True,
    )
    assert rc == 0 and out.count(" launched") == 2, (out, err)
    rc, out, err = same(oracle.lanes(lambda ln: ["start", f"{ln}-glob.service"]))
    # A global unit has no current state, so fleetctl prints an empty one.
    assert (rc, out) == (0, "Unit L-glob.service \nTriggered global unit L-glob.service start\n")
    rc, out, err = same(oracle.lanes(lambda ln: ["start", f"{ln}-db.service"]))
    assert rc == 0 and "launched on" in out
    for ln in LANES:
        assert oracle.wait_runs(f"{ln}-tmpl@.service", 2) == 2  # the instances run its file
        assert oracle.wait_runs(f"{ln}-glob.service", 3) == 3  # once on each machine
        assert oracle.wait_runs(f"{ln}-db.service", 1) == 1
        assert oracle.machine_of(f"{ln}-db.service") == DB
    # The API refuses to start a template; the etcd driver writes the registry without asking
    # (fleet's RegistryClient checks nothing), so that lane is left out.
    api = ("ux", "tc", "sh")
    rc, _, err = same(oracle.lanes(lambda ln: ["start", f"{ln}-tmpl@.service"], api), lanes=api)
    assert rc == 1 and 'cannot activate template "L-tmpl@.service"' in err


def test_machineof_and_conflicts(oracle: Oracle) -> None:
    for ln in LANES:
        oracle.unit(f"{ln}-side.service", f"MachineOf={ln}-plain.service")
        oracle.unit(f"{ln}-apart.service", f"Conflicts={ln}-plain.service")
    rc, out, err = same(oracle.lanes(lambda ln: ["start", f"{ln}-side", f"{ln}-apart"]), sort=True)
    assert rc == 0 and out.count(" launched") == 2, (out, err)
    for ln in LANES:
        assert oracle.wait_runs(f"{ln}-side.service", 1) == 1
        assert oracle.wait_runs(f"{ln}-apart.service", 1) == 1
        plain = oracle.machine_of(f"{ln}-plain.service")
        assert plain in MACHINES, oracle.placement()
        assert oracle.machine_of(f"{ln}-side.service") == plain
        assert oracle.machine_of(f"{ln}-apart.service") not in (plain, "-")


def test_a_unit_no_machine_can_take_times_out(oracle: Oracle) -> None:
    for ln in LANES:
        oracle.unit(f"{ln}-nowhere.service", "MachineMetadata=role=none")
    rc, out, err = same(
        oracle.lanes(lambda ln: ["start", "--block-attempts=2", f"{ln}-nowhere.service"])
    )
    assert rc == 1 and out == "Unit L-nowhere.service inactive\n"
    timed_out = "timed out waiting for unit L-nowhere.service to report state launched"
    assert err == (
        f"Error waiting for units: {timed_out}\n"
        f"Error waiting for unit states, exit status: {timed_out}\n"
    )
    assert not any(oracle.machine_of(f"{ln}-nowhere.service") in MACHINES for ln in LANES)


def test_a_failing_and_a_slow_unit_give_up_after_one_attempt(oracle: Oracle) -> None:
    for ln in LANES:
        oracle.unit(f"{ln}-false.service", exec_start="/bin/false")
        oracle.unit(f"{ln}-slow.service", service="Type=oneshot\n", exec_start="/bin/sleep 8")
    for kind in ("false", "slow"):
        t0 = time.monotonic()
        rc, out, err = same(oracle.lanes(lambda ln, k=kind: ["start", f"{ln}-{k}.service"]))  # type: ignore[misc]
        took = time.monotonic() - t0
        assert rc == 1 and "launched on" in out
        gave_up = (
            f"Failed to find an active unit L-{kind}.service within 2s, "
            "err: Failed to fetch states within 2s"
        )
        assert err == (
            f"Error waiting for units: {gave_up}\n"
            f"Error waiting for systemd unit states, err: {gave_up}\n"
        )
        assert took < 20, f"the {kind} unit's start took {took:.0f} s"


def test_start_replace_runs_the_new_version(oracle: Oracle) -> None:
    for ln in LANES:
        name = f"{ln}-plain.service"
        path = oracle.dir / name
        path.write_text(path.read_text().replace("[Service]\n", "[Service]\nEnvironment=V=2\n"))
    rc, out, err = same(oracle.lanes(lambda ln: ["start", f"{ln}-plain.service"]))
    assert rc == 0 and "differs from local unit file L-plain.service. Add --replace" in err
    rc, out, err = same(oracle.lanes(lambda ln: ["start", "--replace", f"{ln}-plain.service"]))
    assert rc == 0 and err == ""
    assert re.fullmatch(
        r"Unit L-plain.service inactive\nUnit L-plain.service launched on M{8}\.\.\./127.0.0.1\n",
        out,
    )
    rc, out, err = same(oracle.lanes(lambda ln: ["cat", f"{ln}-plain.service"]))
    assert rc == 0 and "Environment=V=2\n" in out
    for ln in LANES:
        assert oracle.wait_runs(f"{ln}-plain.service", 2) == 2


def test_lists_with_their_flags(oracle: Oracle) -> None:
    # Wait for every lane's units to settle, so that all four clients see the same cluster.
    wait_until(
        lambda: all(a != "activating" for _, a in oracle.placement().values()),
        20,
        "units to settle",
    )
    for args in (
        ["list-units"],
        ["list-units", "--full", "--no-legend"],
        ["list-units", "--fields=unit,load,active,sub,machine,hash"],
        ["list-unit-files"],
        ["list-unit-files", "--full", "--fields=unit,global,dstate,state,target,desc,hash"],
    ):
        results = oracle.lanes(lambda ln, a=args: a)  # type: ignore[misc]
        want = results["ux"]
        for ln in LANES:
            assert results[ln] == want, f"{args} in lane {ln}"
        assert want[0] == 0 and "sh-plain.service" in want[1]


def test_stop_restart_unload_destroy(oracle: Oracle) -> None:
    rc, out, err = same(oracle.lanes(lambda ln: ["stop", f"{ln}-plain.service"]))
    assert re.fullmatch(r"Unit L-plain.service loaded on M{8}\.\.\./127.0.0.1\n", out)
    assert (rc, err) == (0, "Successfully stopped units [L-plain.service].\n")
    rc, out, err = same(oracle.lanes(lambda ln: ["stop", f"{ln}-plain.service"]))
    assert (rc, out, err) == (0, "", "Successfully stopped units [].\n")
    # restart of a stopped unit starts it.
    rc, out, err = same(oracle.lanes(lambda ln: ["restart", f"{ln}-plain.service"]))
    assert rc == 0 and "launched on" in out, (out, err)
    for ln in LANES:
        assert oracle.wait_runs(f"{ln}-plain.service", 3) == 3
    rc, out, err = same(oracle.lanes(lambda ln: ["unload", f"{ln}-plain.service"]))
    assert (rc, out, err) == (
        0,
        "Unit L-plain.service inactive\n",
        "Successfully unloaded units [L-plain.service].\n",
    )
    rc, out, err = same(oracle.lanes(lambda ln: ["destroy", f"{ln}-plain.service"]))
    assert (rc, out, err) == (0, "Destroyed L-plain.service\n", "")
    assert not any(n.endswith("-plain.service") for n in oracle.placement())


def test_errors_for_units_that_are_not_there(oracle: Oracle) -> None:
    for args in (
        ["cat", "L-nope.service"],
        ["stop", "L-nope.service"],
        ["unload", "L-nope.service"],
        ["destroy", "L-nope.service"],
        ["start", "L-nope.service"],
        ["list-units", "--fields=bogus"],
        ["start"],
    ):
        rc, out, err = same(oracle.lanes(lambda ln, a=args: [x.replace("L-", f"{ln}-") for x in a]))  # type: ignore[misc]
        assert (rc, out, err) != (0, "", ""), args
