"""The processes of a local cluster's machines: start a `shoal node` in the background, stop it
cleanly (SIGTERM: a shutdown), or power it off (SIGKILL of everything the machine runs).

Every process a machine runs inherits SHOAL_ROOT=<its root> from its node, so "everything of
that machine" is found in /proc even when the node itself is gone (a forking unit's daemon, a
unit fleet started), which is how `shoal kill` and `shoal down` leave nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from shoal.cluster.layout import ClusterError, Machine
from shoal.node.machine_units import ETCD_COMMAND_ENV
from shoal.proc.status import pid_alive, wait_gone

STOP_TIMEOUT = 90.0  # a node's clean shutdown (etcd and fleet each get up to 30 s)


def node_pid(m: Machine) -> int | None:
    """The machine's node process, when it runs."""
    try:
        pid = int(m.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) and _is_node(pid) else None


def _is_node(pid: int) -> bool:
    """The pid is still a `shoal node` (a stale pid file may name a reused pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"\0node\0" in f.read()
    except OSError:
        return True  # no /proc to ask: trust the pid file


def machine_processes(m: Machine) -> list[int]:
    """Every live process whose environment says it belongs to machine `m`."""
    want = f"SHOAL_ROOT={m.root}".encode()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if want in env and pid_alive(int(entry)):
            out.append(int(entry))
    return out


def check_addresses_free(m: Machine) -> None:
    """Refuse to start a machine whose etcd ports another process holds (another cluster, a
    leftover etcd), with what to do about it."""
    for url in (m.client_url, m.peer_url):
        if not url:
            continue
        hostport = url.split("//", 1)[-1].rstrip("/")
        host, _, port = hostport.rpartition(":")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, int(port)))
        except OSError as e:
            raise ClusterError(
                f"{m.name}: cannot use {host}:{port}: {e.strerror}. Another process holds it "
                "(another shoal cluster? see `shoal status --dir ...`, or stop it with "
                "`shoal down --dir ...`); or start this cluster on other addresses with "
                "`--subnet 127.0.1.0`"
            ) from e
        finally:
            s.close()


def spawn(m: Machine, etcd_command: str) -> int:
    """Start machine `m`'s node in the background; returns its pid."""
    if node_pid(m) is not None:
        raise ClusterError(f"{m.name} is already running (pid {node_pid(m)})")
    leftovers = machine_processes(m)
    if leftovers:
        kill_all(m)
    check_addresses_free(m)
    env = dict(os.environ)
    env.pop("SHOAL_ROOT", None)  # `shoal start` typed inside `shoal ssh` of another machine
    if etcd_command:
        env[ETCD_COMMAND_ENV] = etcd_command
    argv = [sys.executable, "-m", "shoal.cli", "node", "--cloud-config", str(m.cloud_config),
            "--root", str(m.root)]  # fmt: skip
    with open(m.log_file, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # a daemon: not killed with the terminal that ran `shoal up`
            close_fds=True,
        )
    m.pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def stop(m: Machine, timeout: float = STOP_TIMEOUT) -> bool:
    """A clean shutdown: SIGTERM to the node, which stops its units in reverse order. Returns
    False when it had to be killed after `timeout`."""
    pid = node_pid(m)
    clean = True
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        clean = wait_gone([pid], timeout, poll=0.1)
    kill_all(m)
    with contextlib.suppress(OSError):
        m.pid_file.unlink()
    return clean


def kill_all(m: Machine) -> int:
    """Power off: SIGKILL the node and every process of the machine. Returns how many."""
    pids = set(machine_processes(m))
    pid = node_pid(m)
    if pid is not None:
        pids.add(pid)
    for p in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, signal.SIGKILL)
    # Reaping collects our own children (a node started by this process, e.g. in tests).
    wait_gone(pids, 10)
    with contextlib.suppress(OSError):
        m.pid_file.unlink()
    # The node could not remove its control socket and pid file; the next boot replaces them.
    return len(pids)


def tail(path: Path, lines: int = 20) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return []
