"""Processes for fleet's tests: a real etcd on loopback and fleetd instances, always cleaned up."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

ETCD = "/usr/bin/etcd"
HAVE_ETCD = os.path.exists(ETCD)
SKIP_REASON = "real etcd binary /usr/bin/etcd is not installed"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(cond: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def kill(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)


SHOAL_ETCD = [sys.executable, "-m", "shoal.cli", "etcd"]
# fleet talks to etcd only through the v2 API, so every test that needs etcd runs against the
# real etcd 3.4 and against shoal's own member.
BACKENDS = ["etcd", "shoal"]
# For tests about fleet's own behaviour rather than its use of etcd, one backend is enough.
ONE_BACKEND = "etcd" if os.path.exists("/usr/bin/etcd") else "shoal"


class Etcd:
    """One etcd member with the v2 API, on random loopback ports in a temp dir: the real etcd 3.4
    (kind "etcd") or shoal's own (kind "shoal"), started with the same flags."""

    def __init__(self, workdir: Path, kind: str = "etcd") -> None:
        self.kind = kind
        self.workdir = workdir
        self.client_port = free_port()
        self.peer_port = free_port()
        self.url = f"http://127.0.0.1:{self.client_port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        peer = f"http://127.0.0.1:{self.peer_port}"
        log = open(self.workdir / "etcd.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                *([ETCD] if self.kind == "etcd" else SHOAL_ETCD),
                "--name=fleet-test",
                f"--data-dir={self.workdir / 'etcd-data'}",
                "--enable-v2",
                f"--listen-client-urls={self.url}",
                f"--advertise-client-urls={self.url}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=fleet-test={peer}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for(self.healthy, 30, "etcd to answer")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/v2/keys/?quorum=true", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            kill(self.proc)
            self.proc = None


@contextlib.contextmanager
def etcd_member(kind: str = "etcd") -> Iterator[Etcd]:
    workdir = Path(tempfile.mkdtemp(prefix="shoal-fleet-etcd-"))
    e = Etcd(workdir, kind)
    try:
        e.start()
        yield e
    finally:
        e.stop()
        shutil.rmtree(workdir, ignore_errors=True)


PYTHON = sys.executable


class Fleetd:
    """One `shoal fleetd` process with its own machine ID, unit dir and API socket."""

    def __init__(self, workdir: Path, etcd_url: str, prefix: str, name: str, **opts: str) -> None:
        self.machine_id = opts.get("machine_id", name)
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.socket = str(self.dir / "fleet.sock")
        self.endpoint = f"unix://{self.socket}"
        self.args = {
            "etcd_servers": etcd_url,
            "etcd_key_prefix": prefix,
            "machine_id": self.machine_id,
            "api_socket": self.socket,
            "units_directory": str(self.dir / "units"),
            "agent_ttl": "2s",
            "engine_reconcile_interval": "0.5",
            "etcd_request_timeout": "1.0",
            **opts,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.dir / "fleetd.log", "ab")  # noqa: SIM115 - closed with the process
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET")}
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "shoal.cli", "fleetd", *(f"--{k}={v}" for k, v in self.args.items())],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()

    def log(self) -> str:
        return (self.dir / "fleetd.log").read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None:
            kill(self.proc, sig)
            self.proc = None


def children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def kill_strays(marker: str) -> None:
    """Kill unit processes whose command line carries `marker` (tests give each its own)."""
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd and "pytest" not in cmd:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(d.name), signal.SIGKILL)


def fleetctl(endpoint: str, *args: str) -> tuple[int, str, str]:
    """Run `shoal fleetctl` in-process; returns (exit code, stdout, stderr)."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from shoal.fleetctl import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main([f"--endpoint={endpoint}", *args], env={})
    return rc, out.getvalue(), err.getvalue()


class FleetCluster:
    """Several fleetd processes sharing one etcd under a private key prefix."""

    def __init__(self, etcd_url: str, machines: dict[str, str], **opts: str) -> None:
        import uuid

        self.workdir = Path(tempfile.mkdtemp(prefix="shoal-fleet-"))
        self.prefix = f"/fleet-test-{uuid.uuid4().hex[:8]}/"
        self.etcd_url = etcd_url
        self.opts = opts
        self.marker = str(70000 + int(uuid.uuid4().int % 20000))  # unique sleep length
        self.fleetds: dict[str, Fleetd] = {}
        for mid, metadata in machines.items():
            self.add(mid, metadata)

    def add(self, mid: str, metadata: str = "", **opts: str) -> Fleetd:
        f = Fleetd(
            self.workdir,
            self.etcd_url,
            self.prefix,
            mid,
            metadata=metadata,
            **{**self.opts, **opts},
        )
        self.fleetds[mid] = f
        return f

    def start(self) -> None:
        for f in self.fleetds.values():
            f.start()
        wait_for(lambda: set(self.machine_ids()) == set(self.fleetds), 20, "machines to register")

    def any(self) -> Fleetd:
        return next(f for f in self.fleetds.values() if f.proc is not None)

    def ctl(self, *args: str) -> tuple[int, str, str]:
        return fleetctl(self.any().endpoint, *args)

    def machine_ids(self) -> list[str]:
        for f in self.fleetds.values():
            if f.proc is None or not os.path.exists(f.socket):
                continue
            rc, out, _ = fleetctl(f.endpoint, "list-machines", "--full", "--no-legend")
            if rc == 0:
                return [line.split("\t")[0] for line in out.splitlines() if line]
        return []

    def placement(self) -> dict[str, tuple[str, str]]:
        """unit -> (machine ID, active state), from `fleetctl list-units`."""
        rc, out, _ = self.ctl("list-units", "--no-legend", "--full", "--fields=unit,machine,active")
        if rc != 0:
            return {}
        rows = [line.split("\t") for line in out.splitlines() if line.strip()]
        return {r[0]: (r[1].split("/")[0], r[2].strip()) for r in rows}

    def unit_file(self, name: str, xfleet: str = "", extra: str = "") -> str:
        path = self.workdir / name
        body = f"[Unit]\nDescription={name}\n{extra}[Service]\nExecStart=/bin/sleep {self.marker}\n"
        if xfleet:
            body += "[X-Fleet]\n" + xfleet.replace(";", "\n") + "\n"
        path.write_text(body)
        return str(path)

    def close(self) -> None:
        for f in self.fleetds.values():
            f.stop(signal.SIGKILL)
        kill_strays(f"sleep {self.marker}")
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def fleet_cluster(etcd_url: str, machines: dict[str, str], **opts: str) -> Iterator[FleetCluster]:
    c = FleetCluster(etcd_url, machines, **opts)
    try:
        c.start()
        yield c
    finally:
        c.close()
