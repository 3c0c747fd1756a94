"""`shoal node` as a user runs it: boot from a cloud-config, systemctl/journal against it, the
control socket fleet's agent uses, and a shutdown that leaves nothing running."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal.systemd.control import ControlError, call, socket_path, subscribe
from support import Procs, wait_until

CONFIG = """#cloud-config
hostname: testbox
coreos:
  units:
  - name: hello.service
    command: start
    content: |
      [Unit]
      Description=Hello service
      [Service]
      ExecStart=/bin/sh -c 'echo hello from $$(hostname -s 2>/dev/null || echo x); exec sleep 60'
  - name: docker.service
    command: start
  - name: broken.service
    command: start
    content: |
      [Service]
      ExecStart=/nonexistent/bin/thing
  - name: 10-static.network
    content: |
      [Match]
      Name=enp0s3
"""


def shoal(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SHOAL_ROOT"}
    return subprocess.run(
        [sys.executable, "-m", "shoal.cli", *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


def _owned(root: Path) -> list[int]:
    want = f"SHOAL_ROOT={root}".encode()
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{e}/environ", "rb") as f:
                if want in f.read().split(b"\0"):
                    out.append(int(e))
    return out


@pytest.fixture
def node(tmp_path: Path, procs: Procs) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    cfg = tmp_path / "user-data"
    cfg.write_text(CONFIG)
    root = tmp_path / "m"
    argv = [sys.executable, "-m", "shoal.cli", "node", "--cloud-config", str(cfg)]
    proc = procs.start("node", [*argv, "--root", str(root)])
    try:
        procs.wait_ready("node", lambda: _booted(root), 20, "boot")
        yield root, proc
    finally:
        procs.stop("node", signal.SIGTERM, grace=30)
        for pid in _owned(root):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _booted(root: Path) -> bool:
    try:
        u = call(socket_path(root), {"op": "status", "unit": "hello.service"}, timeout=2)["unit"]
    except ControlError:
        return False
    return bool(u["active_state"] == "active")


def test_node_boots_units_and_systemctl_shows_them(
    node: tuple[Path, subprocess.Popen[bytes]],
) -> None:
    root, _ = node
    r = shoal("systemctl", "--root", str(root), "status", "hello")
    assert r.returncode == 0, r.stderr
    assert "● hello.service - Hello service" in r.stdout
    assert "Active: active (running)" in r.stdout
    wait_until(
        lambda: "hello from" in shoal("journal", "--root", str(root), "-u", "hello").stdout,
        20,
        "hello's output in its journal",
    )

    r = shoal("systemctl", "--root", str(root), "list-units")
    assert "hello.service" in r.stdout and "multi-user.target" in r.stdout
    assert "● broken.service" in r.stdout  # failed units are marked, as systemctl does

    r = shoal("systemctl", "--root", str(root), "status", "docker.service")
    assert r.returncode == 3
    assert "ConditionPathExists=/var/run/docker.sock was not met" in r.stdout

    r = shoal("systemctl", "--root", str(root), "status", "broken.service")
    assert r.returncode == 3 and "status=203/EXEC" in r.stdout
    assert "Failed to execute /nonexistent/bin/thing" in r.stdout

    r = shoal("systemctl", "--root", str(root), "status", "nosuch.service")
    assert r.returncode == 4 and "could not be found" in r.stderr

    r = shoal("systemctl", "--root", str(root), "start", "nosuch.service")
    assert r.returncode == 5 and "not found" in r.stderr

    r = shoal("systemctl", "--root", str(root), "start", "10-static.network")
    assert r.returncode == 1 and "systemd-networkd" in r.stderr

    r = shoal("systemctl", "--root", str(root), "stop", "hello")
    assert r.returncode == 0
    r = shoal("systemctl", "--root", str(root), "is-active", "hello")
    assert r.returncode == 3 and r.stdout.strip() == "inactive"
    assert shoal("systemctl", "--root", str(root), "restart", "hello").returncode == 0
    r = shoal("journal", "--root", str(root), "-u", "hello", "-n", "3")
    assert r.stdout.count("\n") == 3 and "systemd[1]: Started Hello service." in r.stdout


def test_systemctl_takes_options_after_the_verb(node: tuple[Path, subprocess.Popen[bytes]]) -> None:
    # `systemctl status -l UNIT`, as fleetctl status runs it on the unit's machine.
    root, _ = node
    r = shoal("systemctl", "--root", str(root), "status", "-l", "hello", "--no-pager")
    assert r.returncode == 0, r.stderr
    assert "● hello.service - Hello service" in r.stdout


def test_control_socket_loads_and_runs_units_for_fleet(
    node: tuple[Path, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    root, _ = node
    sock = socket_path(root)
    text = (
        "[Unit]\nDescription=from fleet\n[Service]\nExecStart=/bin/sleep 60\n"
        "[X-Fleet]\nGlobal=true\n"
    )
    u = call(sock, {"op": "load", "unit": "web.service", "text": text})["unit"]
    assert u["load_state"] == "loaded" and u["active_state"] == "inactive"
    a = call(sock, {"op": "start", "unit": "web.service"})
    assert a["result"] == "done" and a["unit"]["sub_state"] == "running"
    events = subscribe(sock)
    call(sock, {"op": "stop", "unit": "web.service", "no_block": True})
    seen = []
    for ev in events:
        seen.append((ev["unit"]["name"], ev["unit"]["active_state"]))
        if seen[-1] == ("web.service", "inactive"):
            break
    assert ("web.service", "deactivating") in seen
    j = call(sock, {"op": "journal", "unit": "web.service", "lines": 2})["entries"]
    assert [e["message"] for e in j] == ["Stopping from fleet...", "Stopped from fleet."]
    assert j[-1]["line"].endswith("testbox systemd[1]: Stopped from fleet.")
    call(sock, {"op": "unload", "unit": "web.service"})
    assert call(sock, {"op": "status", "unit": "web.service"})["unit"]["load_state"] == "not-found"
    with pytest.raises(ControlError, match="line 2"):
        call(sock, {"op": "load", "unit": "bad.service", "text": "[Service]\nType=weird\n"})
    assert not (root / "run" / "shoal" / "units" / "bad.service").exists()


def test_sigterm_shuts_down_and_leaves_nothing(node: tuple[Path, subprocess.Popen[bytes]]) -> None:
    root, proc = node
    assert _owned(root)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    wait_until(lambda: not _owned(root), 20, "all processes gone")
    log = shoal("journal", "--root", str(root), "-u", "hello").stdout
    assert "Stopped Hello service." in log
    assert not socket_path(root).exists()


def test_invalid_cloud_config_is_refused_with_its_line_and_changes_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "user-data"
    cfg.write_text(
        "#cloud-config\nhostname: a\nwrite_files:\n- path: /etc/x\n      permissions: 0644\n"
    )
    root = tmp_path / "m"
    r = shoal("node", "--cloud-config", str(cfg), "--root", str(root))
    assert r.returncode == 1
    assert "line 5" in r.stderr, r.stderr
    assert not root.exists() or not any(root.iterdir())
