"""Processes for fleet's tests: an etcd member on loopback and fleetd instances, started by the
shared launcher (tests/support) and always cleaned up."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

from support import (
    HAVE_ETCD,
    SKIP_REASON,
    EtcdMember,
    Procs,
    etcd_command,
    etcd_ready,
    start_etcd,
    wait_until,
)

__all__ = ["HAVE_ETCD", "SKIP_REASON"]

# fleet talks to etcd only through the v2 API, so every test that needs etcd runs against the
# real etcd 3.4 and against shoal's own member.
BACKENDS = ["etcd", "shoal"]
# For tests about fleet's own behaviour rather than its use of etcd, one backend is enough.
ONE_BACKEND = "etcd" if HAVE_ETCD else "shoal"


class Etcd:
    """One etcd member with the v2 API, on random loopback ports in a temp dir: the real etcd 3.4
    (kind "etcd") or shoal's own (kind "shoal"), started with the same flags. It may be stopped
    and started again on the same data dir and ports (an outage)."""

    NAME = "fleet-test"

    def __init__(self, kind: str = "etcd") -> None:
        self.kind = kind
        self.procs = Procs(prefix="shoal-fleet-etcd-")
        self.member = EtcdMember.on(self.NAME)
        self.url = self.member.client_url

    def start(self) -> None:
        start_etcd(
            self.procs,
            self.member,
            command=etcd_command(self.kind),
            cluster=[self.member],
            data_dir=self.procs.dir / "etcd-data",
        )
        self.procs.wait_ready(self.NAME, lambda: etcd_ready(self.url), 30, "etcd to answer")

    def stop(self) -> None:
        self.procs.stop(self.NAME, signal.SIGKILL)

    def close(self) -> None:
        self.procs.close()


@contextlib.contextmanager
def etcd_member(kind: str = "etcd") -> Iterator[Etcd]:
    e = Etcd(kind)
    try:
        e.start()
        yield e
    finally:
        e.close()


PYTHON = sys.executable


class Fleetd:
    """One `shoal fleetd` process with its own machine ID, unit dir and API socket."""

    def __init__(self, procs: Procs, etcd_url: str, prefix: str, name: str, **opts: str) -> None:
        self.procs = procs
        self.name = name
        self.machine_id = opts.get("machine_id", name)
        self.dir = procs.dir / name
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
        self.running = False

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET")}
        argv = [PYTHON, "-m", "shoal.cli", "fleetd", *(f"--{k}={v}" for k, v in self.args.items())]
        self.procs.start(self.name, argv, env=env, replace_env=True, cwd=self.dir)
        self.running = True

    def log(self) -> str:
        return self.procs.log(self.name)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.running:
            self.procs.stop(self.name, sig)
            self.running = False


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
        self.procs = Procs(prefix="shoal-fleet-")
        self.workdir = self.procs.dir
        self.prefix = f"/fleet-test-{uuid.uuid4().hex[:8]}/"
        self.etcd_url = etcd_url
        self.opts = opts
        self.marker = str(70000 + int(uuid.uuid4().int % 20000))  # unique sleep length
        self.fleetds: dict[str, Fleetd] = {}
        for mid, metadata in machines.items():
            self.add(mid, metadata)

    def add(self, mid: str, metadata: str = "", **opts: str) -> Fleetd:
        f = Fleetd(
            self.procs,
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
        wait_until(lambda: set(self.machine_ids()) == set(self.fleetds), 20, "machines to register")

    def any(self) -> Fleetd:
        return next(f for f in self.fleetds.values() if f.running)

    def ctl(self, *args: str) -> tuple[int, str, str]:
        return fleetctl(self.any().endpoint, *args)

    def machine_ids(self) -> list[str]:
        for f in self.fleetds.values():
            if not f.running or not os.path.exists(f.socket):
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
        self.procs.close()


@contextlib.contextmanager
def fleet_cluster(etcd_url: str, machines: dict[str, str], **opts: str) -> Iterator[FleetCluster]:
    c = FleetCluster(etcd_url, machines, **opts)
    try:
        c.start()
        yield c
    finally:
        c.close()
