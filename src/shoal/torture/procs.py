"""The cluster under test: real `shoal etcd` processes on loopback, started, killed, paused and
replaced from outside, as an operator (or a power cut) would.

Each member has its own 127.0.x.y address and free ports, a data dir and a log file (appended
across restarts, with a line from the harness at each start so a reader can follow the story).
Members are started from the harness's main thread with PR_SET_PDEATHSIG (Linux), so they die
with the harness even if it is killed with SIGKILL: a torture run never leaves members behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from shoal.faultfs.mount import FaultMount
from shoal.proc.spawn import die_with_parent
from shoal.tls import TLSInfo

MEMBER_COMMAND = (sys.executable, "-m", "shoal.cli", "etcd")
"""How a member is run unless `shoal torture --member-command` says otherwise."""


@dataclass(frozen=True, slots=True)
class Timing:
    """Raft timing and snapshotting given to every member (etcd's flags)."""

    heartbeat_ms: int = 50
    election_ms: int = 500
    snapshot_count: int = 200


def free_port(host: str) -> int:
    """A port free on `host` right now (the member binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def address_for(slot: int) -> str:
    """Loopback address of the `slot`-th member ever started in a run: 127.0.0.11, .21, ...
    then 127.0.1.11... (members added by replacement get fresh ones)."""
    return f"127.0.{slot // 24}.{11 + 10 * (slot % 24)}"


@dataclass
class MemberProc:
    """One member: its identity, where it lives, and its process when running."""

    name: str
    host: str
    client_port: int
    peer_port: int
    data_dir: Path
    log_path: Path
    member_id: int = 0  # learnt from /v2/members once the cluster answers
    proc: subprocess.Popen[bytes] | None = None
    paused: bool = False
    starts: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=lambda: list(MEMBER_COMMAND))
    """What runs a member (its etcd flags follow): `shoal etcd`, or a test's wrapper of it."""
    disk: FaultMount | None = None
    """The fault file system its data dir is on (the disk faults need one), or None."""
    clock_file: Path | None = None
    """libfaketime's offset file of its wall clock (clock-jump needs one), or None."""
    tls: TLSInfo | None = None
    """`shoal torture --tls`: its certificate (both ports) and the run's CA (for peers)."""

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"

    @property
    def client_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.peer_port}"

    def peer_ssl(self) -> ssl.SSLContext | None:
        """What reaches its peer port (the fault endpoint): its own certificate and the CA."""
        return self.tls.client_context() if self.tls is not None else None

    def tls_flags(self) -> list[str]:
        t = self.tls
        if t is None:
            return []
        return [
            "--cert-file", t.cert_file, "--key-file", t.key_file,
            "--peer-cert-file", t.cert_file, "--peer-key-file", t.key_file,
            "--peer-trusted-ca-file", t.trusted_ca_file, "--peer-client-cert-auth",
        ]  # fmt: skip

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def wal_dir(self) -> Path:
        return self.data_dir / "member" / "wal"

    def start(self, initial_cluster: str, state: str, token: str, timing: Timing) -> None:
        if self.running:
            return
        self.starts += 1
        args = [
            *self.command,
            "--name", self.name,
            "--data-dir", str(self.data_dir),
            "--listen-peer-urls", self.peer_url,
            "--initial-advertise-peer-urls", self.peer_url,
            "--listen-client-urls", self.client_url,
            "--advertise-client-urls", self.client_url,
            "--initial-cluster", initial_cluster,
            "--initial-cluster-state", state,
            "--initial-cluster-token", token,
            "--heartbeat-interval", str(timing.heartbeat_ms),
            "--election-timeout", str(timing.election_ms),
            "--snapshot-count", str(timing.snapshot_count),
            "--enable-v2",
            *self.tls_flags(),
        ]  # fmt: skip
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as logf:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
            logf.write(
                f"==== torture: start #{self.starts} at {stamp}Z: {' '.join(args)}\n".encode()
            )
            logf.flush()
            env = {**os.environ, **self.extra_env}
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=die_with_parent,
            )
        self.paused = False

    def note(self, text: str) -> None:
        """A line from the harness in the member's log (what was done to it, and when)."""
        with contextlib.suppress(OSError), open(self.log_path, "ab") as logf:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
            logf.write(f"==== torture: {stamp}Z {text}\n".encode())

    def kill(self) -> None:
        """kill -9 (also a paused process), and reap it."""
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)
        self.proc = None
        self.paused = False

    def pause(self) -> None:
        if self.running and not self.paused:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        if self.proc is not None and self.paused:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def exit_code(self) -> int | None:
        return None if self.proc is None else self.proc.poll()


async def get_json(
    session: aiohttp.ClientSession, url: str, timeout: float = 2.0
) -> tuple[int, Any]:
    """(status, parsed JSON or None); raises aiohttp.ClientError / TimeoutError."""
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as r:
        body = await r.read()
        try:
            return r.status, json.loads(body)
        except ValueError:
            return r.status, None


async def member_state(session: aiohttp.ClientSession, m: MemberProc) -> dict[str, Any] | None:
    """The member's /v2/stats/self, or None when it does not answer."""
    if not m.running or m.paused:
        return None
    try:
        status, body = await get_json(session, m.client_url + "/v2/stats/self", 1.0)
    except (aiohttp.ClientError, TimeoutError, OSError):
        return None
    return body if status == 200 and isinstance(body, dict) else None


async def store_hash(session: aiohttp.ClientSession, m: MemberProc) -> tuple[int, str] | None:
    """(store index, key-space hash) from the member's GET /_shoal/hash, or None."""
    if not m.running or m.paused:
        return None
    try:
        status, body = await get_json(session, m.client_url + "/_shoal/hash", 2.0)
    except (aiohttp.ClientError, TimeoutError, OSError):
        return None
    if status != 200 or not isinstance(body, dict):
        return None
    return int(body["index"]), str(body["hash"])


async def wait_until_exit(m: MemberProc, timeout: float) -> int | None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        code = m.exit_code()
        if code is not None or m.proc is None:
            return code
        await asyncio.sleep(0.1)
    return None
