"""End to end: a real etcd 3.4 on loopback, several `shoal fleetd` processes, `shoal fleetctl`.

Timings are shortened (agent_ttl 2s, reconcile 0.5s) so losses are noticed quickly; every wait is
bounded and every process is killed at the end, even on failure.
"""

from __future__ import annotations

import signal
import subprocess
import time

from fleet_procs import PYTHON, Etcd, fleet_cluster, fleetctl

from support import wait_until

M1, M2, M3, M4 = ("1" * 8 + "a" * 24, "2" * 8 + "b" * 24, "3" * 8 + "c" * 24, "4" * 8 + "d" * 24)
SHORT = {m: m[:8] + "..." for m in (M1, M2, M3, M4)}


def test_list_machines_shows_each_machine_and_its_metadata(etcd: Etcd) -> None:
    machines = {M1: "role=services,cabinet=one", M2: "role=services,cabinet=one", M3: ""}
    with fleet_cluster(etcd.url, machines, public_ip="127.0.0.10") as c:
        rc, out, _ = c.ctl("list-machines")
        assert rc == 0
        assert out.splitlines()[0] == "MACHINE\t\tIP\t\tMETADATA"
        assert f"{SHORT[M1]}\t127.0.0.10\tcabinet=one,role=services" in out.splitlines()
        assert f"{SHORT[M3]}\t127.0.0.10\t-" in out.splitlines()
        rc, out, _ = c.ctl("list-machines", "--full", "--no-legend", "--fields=machine,metadata")
        assert out.splitlines()[0] == f"{M1}\tcabinet=one,role=services"
        rc, _, err = c.ctl("list-machines", "--fields=machine,nope")
        assert rc == 1 and err == 'Invalid key in output format: "nope"\n'


def test_units_are_placed_per_their_constraints(etcd: Etcd) -> None:
    machines = {M1: "role=db", M2: "role=web,disk=ssd", M3: "role=web,mem=64"}
    with fleet_cluster(etcd.url, machines) as c:
        files = [
            c.unit_file("db.service", "MachineMetadata=role=db"),
            c.unit_file("web.0.service", "MachineMetadata=role=web;Conflicts=web.*"),
            c.unit_file("web.1.service", "MachineMetadata=role=web;Conflicts=web.*"),
            c.unit_file("side.service", "MachineOf=db.service"),
            c.unit_file("big.service", "MachineMetadata=mem>=32"),
            c.unit_file("pinned.service", f"MachineID={M2[:8]}"),
        ]
        rc, out, err = c.ctl("start", "--block-attempts=10", *files)
        assert rc == 0, err
        assert f"Unit db.service launched on {SHORT[M1]}" in out
        # Two web machines, three mutually conflicting web units: the third never runs.
        web2 = c.unit_file("web.2.service", "MachineMetadata=role=web;Conflicts=web.*")
        rc, out, _ = c.ctl("start", "--no-block", web2)
        assert (rc, out) == (0, "Triggered unit web.2.service start\n")
        wait_until(lambda: len(c.placement()) == 6, 15, "six units to run")
        p = c.placement()
        assert p["db.service"] == (M1, "active")
        assert p["side.service"] == (M1, "active")
        assert p["big.service"] == (M3, "active")
        assert p["pinned.service"] == (M2, "active")
        assert {p["web.0.service"][0], p["web.1.service"][0]} == {M2, M3}
        assert "web.2.service" not in p
        rc, out, _ = c.ctl("why", "web.2.service")
        assert "found conflict with locally-scheduled Unit(web." in out
        assert "metadata role=db is not role=web" in out
        rc, out, _ = c.ctl("list-unit-files", "--no-legend", "--fields=unit,dstate,state")
        assert "web.2.service\tlaunched\tinactive" in out.splitlines()


def test_killed_machine_units_move_within_ttl_and_nothing_else_moves(etcd: Etcd) -> None:
    # fleet's TestDynamicClusterNewMemberUnitMigration: 4 machines, 3 conflicting units.
    machines = {M1: "", M2: "", M3: "", M4: ""}
    with fleet_cluster(etcd.url, machines) as c:
        files = [c.unit_file(f"conflict.{i}.service", "Conflicts=conflict.*") for i in range(3)]
        rc, _, err = c.ctl("start", "--block-attempts=10", *files)
        assert rc == 0, err
        wait_until(lambda: len(c.placement()) == 3, 15, "three units running")
        before = c.placement()
        used = {m for m, _ in before.values()}
        free = (set(machines) - used).pop()
        victim_unit, (victim, _) = sorted(before.items())[0]
        c.fleetds[victim].stop(signal.SIGKILL)
        t0 = time.monotonic()
        wait_until(
            lambda: c.placement().get(victim_unit) == (free, "active"),
            2 + 10,  # agent_ttl + a few seconds
            f"{victim_unit} to run on the free machine",
        )
        moved_in = time.monotonic() - t0
        after = c.placement()
        for name, where in before.items():
            if name != victim_unit:
                assert after[name] == where, f"{name} moved though its machine is alive"
        assert moved_in < 10


def test_clean_shutdown_hands_units_over_at_once(etcd: Etcd) -> None:
    with fleet_cluster(etcd.url, {M1: "", M2: ""}, agent_ttl="30s") as c:
        rc, _, err = c.ctl("start", "--block-attempts=10", c.unit_file("a.service"))
        assert rc == 0, err
        wait_until(lambda: "a.service" in c.placement(), 10, "a.service running")
        src = c.placement()["a.service"][0]
        dst = M2 if src == M1 else M1
        t0 = time.monotonic()
        c.fleetds[src].stop(signal.SIGTERM)
        wait_until(lambda: c.placement().get("a.service") == (dst, "active"), 10, "handover")
        assert time.monotonic() - t0 < 10, "did not wait for the 30 s TTL"


def test_duplicate_machine_id_is_refused_with_503(etcd: Etcd) -> None:
    with fleet_cluster(etcd.url, {M1: ""}) as c:
        dup = c.add(M1 + "-dup", machine_id=M1)
        dup.start()
        wait_until(lambda: "already registered" in dup.log(), 15, "the duplicate to be noticed")
        rc, _, err = fleetctl(dup.endpoint, "list-machines")
        assert rc == 1
        assert err == (
            "Error retrieving list of active machines: googleapi: Error 503: "
            "fleet server unable to communicate with etcd\n"
        )
        assert c.machine_ids() == [M1]


def test_submit_load_start_replace_destroy(etcd: Etcd) -> None:
    with fleet_cluster(etcd.url, {M1: "", M2: ""}) as c:
        path = c.unit_file("hello.service")
        rc, out, _ = c.ctl("submit", path)
        assert (rc, out) == (0, "Unit hello.service inactive\n")
        rc, out, _ = c.ctl("load", "--block-attempts=10", path)
        assert rc == 0 and out.startswith("Unit hello.service loaded on ")
        rc, out, _ = c.ctl("start", "--block-attempts=10", "hello")
        assert rc == 0 and out.startswith("Unit hello.service launched on ")
        old_hash = c.ctl("list-unit-files", "--no-legend", "--fields=hash")[1].strip()
        # A changed local file is only a warning without --replace...
        with open(path, "a") as f:
            f.write("Environment=X=1\n")
        rc, _, err = c.ctl("start", "--block-attempts=10", path)
        assert "differs from local unit file" in err and "Add --replace to override." in err
        assert c.ctl("list-unit-files", "--no-legend", "--fields=hash")[1].strip() == old_hash
        # ...and replaces the unit with it.
        rc, _, err = c.ctl("start", "--replace", "--block-attempts=10", path)
        assert rc == 0, err
        new_hash = c.ctl("list-unit-files", "--no-legend", "--fields=hash")[1].strip()
        assert new_hash != old_hash
        wait_until(
            lambda: (
                c.ctl("list-units", "--no-legend", "--fields=hash,active")[1].split()
                == [new_hash, "active"]
            ),
            10,
            "the new version to run",
        )
        rc, out, _ = c.ctl("cat", "hello.service")
        assert out.endswith("Environment=X=1\n")
        rc, _, err = c.ctl("stop", "--block-attempts=10", "hello.service")
        assert rc == 0 and "Successfully stopped units [hello.service]." in err
        rc, out, _ = c.ctl("destroy", "hello.service")
        assert (rc, out) == (0, "Destroyed hello.service\n")
        wait_until(lambda: c.placement() == {}, 10, "the unit to be gone")
        rc, _, err = c.ctl("cat", "hello.service")
        assert (rc, err) == (1, "Unit hello.service not found\n")


def test_templates_instances_and_metadata_specifiers(etcd: Etcd) -> None:
    with fleet_cluster(etcd.url, {M1: "slot=1", M2: "slot=2"}) as c:
        tmpl = c.unit_file("pin@.service", "MachineMetadata=slot=%i")
        rc, _, err = c.ctl("submit", tmpl)
        assert rc == 0, err
        rc, _, err = c.ctl("start", "--block-attempts=5", "pin@.service")
        assert rc == 1 and 'cannot activate template "pin@.service"' in err
        rc, _, err = c.ctl("start", "--block-attempts=10", "pin@1.service", "pin@2.service")
        assert rc == 0, err
        p = c.placement()
        assert p["pin@1.service"][0] == M1 and p["pin@2.service"][0] == M2


def test_global_units_run_on_every_matching_machine(etcd: Etcd) -> None:
    with fleet_cluster(etcd.url, {M1: "role=web", M2: "role=web", M3: "role=db"}) as c:
        path = c.unit_file("g.service", "Global=true;MachineMetadata=role=web")
        rc, out, _ = c.ctl("start", path)
        assert rc == 0 and "Triggered global unit g.service start" in out
        rc, out, _ = c.ctl("list-unit-files", "--no-legend", "--fields=unit,target")
        assert out == "g.service\tglobal\n"

        def running_on() -> set[str]:
            _rc, out, _ = c.ctl("list-units", "--no-legend", "--full", "--fields=machine,active")
            return {line.split("\t")[0] for line in out.splitlines() if "active" in line}

        wait_until(lambda: running_on() == {M1, M2}, 10, "global unit on both web machines")


def test_replaces_takes_the_host(etcd: Etcd) -> None:
    with fleet_cluster(etcd.url, {M1: "", M2: ""}) as c:
        rc, _, err = c.ctl("start", "--block-attempts=10", c.unit_file("old.service"))
        assert rc == 0, err
        host = c.placement()["old.service"][0]
        new = c.unit_file("new.service", "Replaces=old.service")
        rc, _, err = c.ctl("start", "--block-attempts=10", new)
        assert rc == 0, err
        other = M2 if host == M1 else M1
        wait_until(
            lambda: (
                c.placement() == {"new.service": (host, "active"), "old.service": (other, "active")}
            ),
            10,
            "new to take old's host and old to move",
        )


def test_fleetctl_as_a_process_with_fleetctl_endpoint(one_etcd: Etcd) -> None:
    with fleet_cluster(one_etcd.url, {M1: "role=services,cabinet=one"}) as c:
        env = {"FLEETCTL_ENDPOINT": c.any().endpoint, "PATH": "/usr/bin:/bin"}
        r = subprocess.run(
            [PYTHON, "-m", "shoal.cli", "fleetctl", "list-machines", "--full"],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        assert r.returncode == 0
        assert r.stdout == (f"MACHINE\t\t\t\t\tIP\tMETADATA\n{M1}\t-\tcabinet=one,role=services\n")
        r = subprocess.run(
            [PYTHON, "-m", "shoal.cli", "fleetctl", "version"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert r.stdout == "fleetctl version 1.0.0\n"


def test_restart_stop_and_their_messages(one_etcd: Etcd) -> None:
    with fleet_cluster(one_etcd.url, {M1: ""}) as c:
        path = c.unit_file("r.service")
        rc, _, err = c.ctl("stop", "r.service")
        assert (rc, err) == (0, "Units not found in registry\n")
        c.ctl("submit", path)
        rc, _, err = c.ctl("stop", "r.service")
        assert (rc, err) == (1, "Unable to stop unit r.service in state inactive\n")
        rc, _, err = c.ctl("start", "--block-attempts=10", path)
        assert rc == 0, err
        before = pids(c.marker)
        rc, out, err = c.ctl("restart", "--block-attempts=10", "r.service")
        assert rc == 0, err
        assert out.splitlines()[-1].startswith("Unit r.service launched on ")
        wait_until(
            lambda: len(pids(c.marker)) == 1 and pids(c.marker) != before, 10, "a new process"
        )
        rc, _, err = c.ctl("unload", "--block-attempts=10", "r.service")
        assert (rc, err) == (0, "Successfully unloaded units [r.service].\n")
        wait_until(lambda: not pids(c.marker), 10, "the process to stop")


def pids(marker: str) -> set[int]:
    from pathlib import Path

    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if cmd.startswith("/bin/sleep " + marker) or f" /bin/sleep {marker}" in cmd:
                out.add(int(d.name))
    return out


def test_journal_is_read_from_the_units_machine(one_etcd: Etcd) -> None:
    with fleet_cluster(one_etcd.url, {M1: "", M2: ""}) as c:
        path = c.workdir / "talk.service"
        path.write_text(
            f"[Service]\nExecStart=/bin/sh -c 'echo hello from %n; exec sleep {c.marker}'\n"
        )
        rc, _, err = c.ctl("start", "--block-attempts=10", str(path))
        assert rc == 0, err
        host = c.placement()["talk.service"][0]
        other = M2 if host == M1 else M1
        wait_until(
            lambda: (
                "hello from talk.service"
                in fleetctl(c.fleetds[host].endpoint, "journal", "-n", "5", "talk")[1]
            ),
            10,
            "the unit's output in its journal",
        )
        rc, _, err = fleetctl(c.fleetds[other].endpoint, "journal", "talk.service")
        assert rc == 1 and f"Unit talk.service runs on {host}" in err
        assert "point --endpoint at that machine's fleet API" in err
