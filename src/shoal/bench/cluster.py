"""A 3-member cluster on loopback for the benchmark: shoal members (`shoal etcd`) or real etcd 3.4
members (`--enable-v2`), started with the same flags, each in its own data dir under one root."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from shoal.proc.spawn import popen

ETCD_BINARY = "/usr/bin/etcd"
HOST = "127.0.0.1"


class ClusterError(Exception):
    pass


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((HOST, 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    """user + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class MemberProc:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    args: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def client_url(self) -> str:
        return f"http://{HOST}:{self.client_port}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        # Dies with the bench, so an interrupted run leaves no member behind.
        self.proc = popen(self.args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        p = self.proc
        if p is None or p.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


@dataclass
class Cluster:
    """kind is "shoal" or "etcd". Use as a context manager: every process is killed on exit."""

    kind: str
    root: Path
    heartbeat_ms: int = 100
    election_ms: int = 1000
    members: list[MemberProc] = field(default_factory=list)

    def __post_init__(self) -> None:
        ports = free_ports(6)
        names = [f"{self.kind}{i}" for i in range(3)]
        initial = ",".join(f"{n}=http://{HOST}:{ports[3 + i]}" for i, n in enumerate(names))
        base = self.root / self.kind
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        for i, n in enumerate(names):
            cport, pport = ports[i], ports[3 + i]
            ddir = base / f"{n}.data"
            flags = [
                f"--name={n}",
                f"--data-dir={ddir}",
                f"--listen-client-urls=http://{HOST}:{cport}",
                f"--advertise-client-urls=http://{HOST}:{cport}",
                f"--listen-peer-urls=http://{HOST}:{pport}",
                f"--initial-advertise-peer-urls=http://{HOST}:{pport}",
                f"--initial-cluster={initial}",
                "--initial-cluster-state=new",
                f"--initial-cluster-token=bench-{self.kind}",
                f"--heartbeat-interval={self.heartbeat_ms}",
                f"--election-timeout={self.election_ms}",
            ]
            if self.kind == "etcd":
                cmd = [ETCD_BINARY, "--enable-v2", *flags]
            else:
                cmd = [sys.executable, "-m", "shoal.cli", "etcd", *flags]
            self.members.append(MemberProc(n, cport, pport, ddir, cmd, base / f"{n}.log"))

    def __enter__(self) -> Cluster:
        try:
            for m in self.members:
                m.start()
            self.wait_ready()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for m in self.members:
            m.stop(signal.SIGKILL)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until there is a leader and a write through it is answered."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for m in self.members:
                if m.proc is not None and m.proc.poll() is not None:
                    raise ClusterError(
                        f"{m.name} exited with {m.proc.returncode}; see {m.log_path}"
                    )
            try:
                leader = self.leader()
                req = urllib.request.Request(
                    leader.client_url + "/v2/keys/bench-ready", data=b"value=1", method="PUT"
                )
                with urllib.request.urlopen(req, timeout=3) as r:
                    if r.status in (200, 201):
                        return
            except (OSError, ClusterError, ValueError) as e:
                last = repr(e)
            time.sleep(0.1)
        raise ClusterError(f"{self.kind} cluster not ready after {timeout:.0f}s: {last}")

    def leader(self) -> MemberProc:
        for m in self.members:
            with contextlib.suppress(OSError, ValueError):
                code, body = http_get(m.client_url + "/v2/stats/self", 1.0)
                if code == 200 and json.loads(body).get("state") == "StateLeader":
                    return m
        raise ClusterError("no leader")

    def follower(self) -> MemberProc:
        lead = self.leader()
        return next(m for m in self.members if m is not lead)

    def disk_usage(self) -> int:
        total = 0
        for m in self.members:
            for dirpath, _, files in os.walk(m.data_dir):
                for f in files:
                    with contextlib.suppress(OSError):
                        total += os.path.getsize(os.path.join(dirpath, f))
        return total
