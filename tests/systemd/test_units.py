"""The unit manager runs tiny shell services the way systemd would (states, ordering, restarts)."""

from __future__ import annotations

import os
import time

from shoal.systemd.manager import Manager
from support import wait_until_async

from .conftest import NOTIFY, PY, Machine, state


def test_simple_service_runs_until_stopped_and_its_output_is_journaled(machine: Machine) -> None:
    machine.unit(
        "hello.service",
        "[Unit]\nDescription=Hello\n[Service]\nExecStart=/bin/sh -c 'echo hello; exec sleep 60'\n",
    )

    async def body(m: Manager) -> None:
        assert await m.start("hello") == "done"
        u = m.get("hello.service")
        assert state(u) == ("active", "running") and u.main_pid > 0
        await wait_until_async(lambda: "hello" in machine.log("hello.service"), what="journal line")
        pid = u.main_pid
        assert await m.stop("hello.service") == "done"
        assert state(u) == ("inactive", "dead")
        assert not os.path.exists(f"/proc/{pid}") or _zombie(pid)

    machine.run(body)
    log = machine.log("hello.service")
    assert "Started Hello." in log and "Stopped Hello." in log


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_failing_main_process_leaves_unit_failed_with_exit_code(machine: Machine) -> None:
    machine.unit("bad.service", "[Service]\nExecStart=/bin/sh -c 'exit 3'\n")

    async def body(m: Manager) -> None:
        await m.start("bad.service")
        u = m.get("bad.service")
        await wait_until_async(lambda: u.active_state == "failed", what="failed")
        assert u.sub_state == "failed" and u.result == "exit-code"
        assert (
            u.main_exit is not None
            and u.main_exit.describe() == "code=exited, status=3/NOTIMPLEMENTED"
        )

    machine.run(body)


def test_oneshot_with_remain_after_exit_is_active_exited(machine: Machine, tmp_path) -> None:
    marker = tmp_path / "ran"
    machine.unit(
        "once.service",
        f"[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/bin/touch {marker}\n"
        f"ExecStop=/bin/rm -f {marker}\n",
    )
    machine.unit("plain.service", "[Service]\nType=oneshot\nExecStart=/bin/true\n")

    async def body(m: Manager) -> None:
        assert await m.start("once.service") == "done"
        assert state(m.get("once.service")) == ("active", "exited") and marker.exists()
        assert await m.start("plain.service") == "done"
        assert state(m.get("plain.service")) == ("inactive", "dead")
        await m.stop("once.service")
        assert not marker.exists()

    machine.run(body)


def test_oneshot_failure_fails_the_start_job_but_dash_prefix_is_ignored(machine: Machine) -> None:
    machine.unit("f.service", "[Service]\nType=oneshot\nExecStart=/bin/false\n")
    machine.unit(
        "g.service",
        "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStartPre=-/bin/false\n"
        "ExecStart=/bin/true\n",
    )

    async def body(m: Manager) -> None:
        assert await m.start("f.service") == "failed"
        assert state(m.get("f.service")) == ("failed", "failed")
        assert await m.start("g.service") == "done"
        assert state(m.get("g.service")) == ("active", "exited")

    machine.run(body)


def test_missing_executable_is_203_exec_and_does_not_block_others(machine: Machine) -> None:
    machine.unit("docker.service", "[Service]\nExecStart=/nonexistent/dockerd\n")
    machine.unit("ok.service", "[Service]\nExecStart=/bin/sleep 60\n")

    async def body(m: Manager) -> None:
        a, b = m.enqueue_start("docker.service"), m.enqueue_start("ok.service")
        assert await a == "failed" and await b == "done"
        assert m.get("docker.service").main_exit is not None
        assert m.get("docker.service").main_exit.describe() == "code=exited, status=203/EXEC"

    machine.run(body)
    assert any("Failed to execute /nonexistent/dockerd" in x for x in machine.log("docker.service"))


def test_notify_service_is_activating_until_ready(machine: Machine, tmp_path) -> None:
    gate = tmp_path / "gate"
    machine.unit(
        "n.service",
        "[Service]\nType=notify\n"
        f"ExecStart=/bin/sh -c 'while [ ! -e {gate} ]; do sleep 0.05; done; {NOTIFY}; "
        "exec sleep 60'\n",
    )

    async def body(m: Manager) -> None:
        job = m.enqueue_start("n.service")
        u = m.get("n.service")
        await wait_until_async(lambda: u.sub_state == "start", what="start")
        assert u.active_state == "activating" and not job.done()
        gate.touch()
        assert await job == "done"
        assert state(u) == ("active", "running") and u.status_text == "serving"

    machine.run(body)


def test_notify_service_that_exits_before_ready_fails(machine: Machine) -> None:
    machine.unit("n.service", "[Service]\nType=notify\nExecStart=/bin/sh -c 'exit 1'\n")

    async def body(m: Manager) -> None:
        assert await m.start("n.service") == "failed"
        assert m.get("n.service").active_state == "failed"

    machine.run(body)


def test_start_timeout_kills_and_fails(machine: Machine) -> None:
    machine.unit(
        "slow.service", "[Service]\nType=notify\nTimeoutStartSec=0.5\nExecStart=/bin/sleep 60\n"
    )

    async def body(m: Manager) -> None:
        assert await m.start("slow.service") == "timeout"
        u = m.get("slow.service")
        assert u.active_state == "failed" and u.result == "timeout" and not u.pgids

    machine.run(body)


def test_stop_timeout_escalates_to_sigkill(machine: Machine) -> None:
    machine.unit(
        "stubborn.service",
        "[Service]\nTimeoutStopSec=0.5\nExecStart=/bin/sh -c \"trap '' TERM; echo trapped; "
        'while true; do sleep 0.1; done"\n',
    )

    async def body(m: Manager) -> None:
        await m.start("stubborn.service")
        # Stop only once the shell ignores SIGTERM: before its trap it would die at once.
        await wait_until_async(
            lambda: any("trapped" in x for x in machine.log("stubborn.service")),
            what="the shell's SIGTERM trap",
        )
        t0 = time.monotonic()
        assert await m.stop("stubborn.service") == "done"
        took = time.monotonic() - t0
        u = m.get("stubborn.service")
        assert 0.4 < took < 5, took
        assert u.active_state == "failed" and u.result == "timeout" and not u.pgids

    machine.run(body)
    assert any("timed out. Killing" in x for x in machine.log("stubborn.service"))


def test_stop_kills_the_whole_process_group(machine: Machine, tmp_path) -> None:
    pidfile = tmp_path / "child"
    machine.unit(
        "tree.service",
        f"[Service]\nExecStart=/bin/sh -c 'sleep 60 & echo $! > {pidfile}; wait'\n",
    )

    async def body(m: Manager) -> None:
        await m.start("tree.service")
        await wait_until_async(
            lambda: pidfile.exists() and pidfile.read_text().strip() != "", what="the pid file"
        )
        child = int(pidfile.read_text())
        await m.stop("tree.service")
        await wait_until_async(lambda: _zombie(child), what="child gone")

    machine.run(body)


def test_restart_on_failure_then_start_limit(machine: Machine) -> None:
    machine.unit(
        "crash.service",
        "[Unit]\nStartLimitIntervalSec=10\nStartLimitBurst=3\n"
        "[Service]\nRestart=on-failure\nRestartSec=0.1\nExecStart=/bin/sh -c 'exit 1'\n",
    )

    async def body(m: Manager) -> None:
        await m.start("crash.service")
        u = m.get("crash.service")
        await wait_until_async(
            lambda: u.result == "start-limit-hit", timeout=15, what="start limit"
        )
        assert state(u) == ("failed", "failed")
        assert u.restarts == 3

    machine.run(body)
    assert any("Start request repeated too quickly" in x for x in machine.log("crash.service"))


def test_restart_always_restarts_a_clean_exit_and_stop_cancels_it(machine: Machine) -> None:
    machine.unit(
        "loop.service",
        "[Service]\nRestart=always\nRestartSec=0.1\nStartLimitBurst=0\n"
        "ExecStart=/bin/sh -c 'sleep 0.1'\n",
    )

    async def body(m: Manager) -> None:
        await m.start("loop.service")
        u = m.get("loop.service")
        await wait_until_async(lambda: u.restarts >= 2, what="two restarts")
        await m.stop("loop.service")
        n = u.restarts
        assert u.active_state in ("inactive", "failed")
        await _sleep(0.4)
        assert u.restarts == n and u.active_state in ("inactive", "failed")

    machine.run(body)


async def _sleep(s: float) -> None:
    import asyncio

    await asyncio.sleep(s)


def test_environment_files_working_directory_and_dropins(machine: Machine, tmp_path) -> None:
    (machine.root / "etc" / "environment").write_text("COREOS_PUBLIC_IPV4=127.0.0.10\nB=file\n")
    work = tmp_path / "work"
    work.mkdir()
    machine.unit(
        "env.service",
        "[Service]\nType=oneshot\nRemainAfterExit=yes\nEnvironment=A=1 B=unit\n"
        "EnvironmentFile=/etc/environment\nEnvironmentFile=-/etc/missing\n"
        f"WorkingDirectory={work}\n"
        "ExecStart=/bin/sh -c 'echo \"$A $B $C $COREOS_PUBLIC_IPV4 $(pwd)\"'\n",
    )
    machine.dropin("env.service", "10-c.conf", '[Service]\nEnvironment="C=dropin"\n')

    async def body(m: Manager) -> None:
        assert await m.start("env.service") == "done"

    machine.run(body)
    assert f"1 file dropin 127.0.0.10 {work}" in machine.log("env.service")


def test_requires_and_after_order_starts_and_dependency_failure(machine: Machine, tmp_path) -> None:
    order = tmp_path / "order"
    machine.unit(
        "db.service",
        f"[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'sleep 0.3; "
        f"echo db >> {order}'\n",
    )
    machine.unit(
        "app.service",
        "[Unit]\nRequires=db.service\nAfter=db.service\n"
        "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
        f"ExecStart=/bin/sh -c 'echo app >> {order}'\n",
    )
    machine.unit("broken.service", "[Service]\nType=oneshot\nExecStart=/bin/false\n")
    machine.unit(
        "needy.service",
        "[Unit]\nRequires=broken.service\nAfter=broken.service\n"
        "[Service]\nExecStart=/bin/sleep 60\n",
    )

    async def body(m: Manager) -> None:
        assert await m.start("app.service") == "done"
        assert order.read_text().split() == ["db", "app"]
        assert await m.start("needy.service") == "dependency"
        assert m.get("needy.service").active_state == "inactive"
        # Stopping a required unit stops what requires it first.
        await m.stop("db.service")
        assert m.get("app.service").active_state == "inactive"

    machine.run(body)


def test_template_instance_and_wants_directory(machine: Machine, tmp_path) -> None:
    machine.unit(
        "web@.service",
        f"[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/bin/touch {tmp_path}/%i\n",
    )
    machine.unit("multi-user.target", "[Unit]\nDescription=Multi-User System\n")
    wants = machine.unit_dir / "multi-user.target.wants"
    wants.mkdir()
    (wants / "web@8080.service").symlink_to("../web@.service")

    async def body(m: Manager) -> None:
        assert await m.start("multi-user.target") == "done"
        u = m.get("web@8080.service")
        await wait_until_async(lambda: u.active_state == "active", what="instance active")
        assert (tmp_path / "8080").exists()

    machine.run(body)


def test_unknown_bad_and_network_units_are_reported(machine: Machine) -> None:
    machine.unit("typo.service", "[Service]\nExecStart=/bin/true\nRestart=sometimes\n")
    machine.unit("10-static.network", "[Match]\nName=enp0s3\n")

    async def body(m: Manager) -> None:
        assert await m.start("nope.service") == "invalid"
        assert m.get("nope.service").load_state == "not-found"
        assert await m.start("typo.service") == "invalid"
        u = m.get("typo.service")
        assert u.load_state == "error" and "line 3" in u.load_error
        assert await m.start("10-static.network") == "invalid"

    machine.run(body)
    assert any("systemd-networkd" in x for x in machine.log("10-static.network"))


def test_condition_path_exists_skips_without_failing(machine: Machine) -> None:
    machine.unit(
        "docker.service",
        "[Unit]\nConditionPathExists=/nonexistent/docker.sock\n[Service]\nExecStart=/bin/true\n",
    )

    async def body(m: Manager) -> None:
        assert await m.start("docker.service") == "skipped"
        u = m.get("docker.service")
        assert state(u) == ("inactive", "dead") and "docker.sock" in u.condition_failed

    machine.run(body)


def test_load_text_runtime_unit_and_unload(machine: Machine) -> None:
    async def body(m: Manager) -> None:
        u = await m.load_text(
            "hello.service", f"[Service]\nExecStart={PY} -c 'import time; time.sleep(60)'\n"
        )
        assert u.load_state == "loaded"
        assert await m.start("hello.service") == "done"
        await m.unload("hello.service")
        assert "hello.service" not in m.units

    machine.run(body)


def test_shutdown_stops_in_reverse_activation_order(machine: Machine, tmp_path) -> None:
    log = tmp_path / "stops"
    for n in ("a", "b", "c"):
        machine.unit(
            f"{n}.service",
            f"[Service]\nExecStart=/bin/sleep 60\nExecStopPost=/bin/sh -c 'echo {n} >> {log}'\n",
        )

    async def body(m: Manager) -> None:
        for n in ("a", "b", "c"):
            assert await m.start(f"{n}.service") == "done"

    machine.run(body)  # run() ends with manager.shutdown()
    assert log.read_text().split() == ["c", "b", "a"]


def test_stop_during_activation_cancels_the_start(machine: Machine) -> None:
    machine.unit("slow.service", "[Service]\nType=notify\nExecStart=/bin/sleep 60\n")

    async def body(m: Manager) -> None:
        job = m.enqueue_start("slow.service")
        u = m.get("slow.service")
        await wait_until_async(lambda: u.sub_state == "start" and bool(u.pgids), what="activating")
        assert await m.stop("slow.service") == "done"
        assert job.cancelled() or job.done()
        assert u.active_state in ("inactive", "failed") and not u.pgids

    machine.run(body)


def test_ordering_cycle_is_broken_not_deadlocked(machine: Machine) -> None:
    for a, b in (("a", "b"), ("b", "a")):
        machine.unit(
            f"{a}.service",
            f"[Unit]\nRequires={b}.service\nAfter={b}.service\n"
            "[Service]\nExecStart=/bin/sleep 60\n",
        )

    async def body(m: Manager) -> None:
        assert await m.start("a.service") == "done"
        await wait_until_async(lambda: m.get("b.service").active_state == "active", what="b active")

    machine.run(body)
    assert any("ordering cycle" in x for x in machine.log("a.service") + machine.log("b.service"))


def test_forking_service_with_and_without_pidfile(machine: Machine, tmp_path) -> None:
    pidfile = tmp_path / "daemon.pid"
    machine.unit(
        "d1.service",
        f"[Service]\nType=forking\nPIDFile={pidfile}\n"
        f"ExecStart=/bin/sh -c 'sleep 60 & echo $! > {pidfile}'\n",
    )
    machine.unit("d2.service", "[Service]\nType=forking\nExecStart=/bin/sh -c 'sleep 0.5 &'\n")

    async def body(m: Manager) -> None:
        assert await m.start("d1.service") == "done"
        u = m.get("d1.service")
        assert state(u) == ("active", "running") and u.main_pid == int(pidfile.read_text())
        daemon = u.main_pid
        await m.stop("d1.service")
        await wait_until_async(lambda: _zombie(daemon), what="daemon gone")
        assert await m.start("d2.service") == "done"
        u2 = m.get("d2.service")
        await wait_until_async(lambda: u2.active_state == "inactive", what="daemon exit noticed")

    machine.run(body)


def test_main_process_dying_during_start_post_fails_the_start(machine: Machine) -> None:
    machine.unit(
        "etcdlike.service",
        "[Service]\nExecStart=/bin/sh -c 'sleep 0.3; exit 2'\n"
        "ExecStartPost=/bin/sh -c 'while true; do sleep 0.1; done'\n",
    )
    machine.unit("quick.service", "[Service]\nExecStart=/bin/true\n")

    async def body(m: Manager) -> None:
        assert await m.start("etcdlike.service") == "failed"
        u = m.get("etcdlike.service")
        assert u.active_state == "failed" and u.result == "exit-code" and not u.pgids
        await m.start("quick.service")
        q = m.get("quick.service")
        await wait_until_async(lambda: state(q) == ("inactive", "dead"), what="quick exits cleanly")

    machine.run(body)
