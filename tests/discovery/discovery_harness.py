"""Helpers for the discovery tests: registries (a real etcd 3.4 or a one-member shoal etcd),
`shoal discovery`, and members. Loopback only; every process is killed at teardown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ETCD = "/usr/bin/etcd"
SHOAL = [sys.executable, "-m", "shoal.cli"]
STARTUP = 60.0  # generous: this 2-core machine is shared with other test suites


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def http(
    method: str, url: str, data: dict[str, str] | None = None, timeout: float = 5.0
) -> tuple[int, dict[str, str], str]:
    body = "&".join(f"{k}={v}" for k, v in data.items()).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def wait_until(probe: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            got = probe()
            if got:
                return got
        except (OSError, ValueError) as e:
            last = e
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last})")


def healthy(client_url: str) -> bool:
    status, _, body = http("GET", client_url + "/health", timeout=2.0)
    return status == 200 and json.loads(body).get("health") == "true"


def members(client_url: str) -> list[dict[str, Any]]:
    _, _, body = http("GET", client_url + "/v2/members", timeout=2.0)
    got: list[dict[str, Any]] = json.loads(body)["members"]
    return got


class Procs:
    """Started processes, their logs, and their end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        out = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.tmp, env=env)
        out.close()
        self.procs[name] = p
        return p

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def wait_exit(self, name: str, timeout: float = STARTUP) -> int:
        return self.procs[name].wait(timeout=timeout)

    def kill_all(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
        for p in self.procs.values():
            p.wait(timeout=10)

    def shoal_etcd(self, name: str, host: str, *flags: str) -> str:
        """Start `shoal etcd` on host (127.0.0.x); returns its client URL."""
        client = f"http://{host}:{free_port(host)}"
        peer = f"http://{host}:{free_port(host)}"
        self.start(
            name,
            [
                *SHOAL, "etcd", "--name", name, "--data-dir", str(self.tmp / f"{name}.etcd"),
                "--heartbeat-interval", "50", "--election-timeout", "500",
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                *flags,
            ],
        )  # fmt: skip
        return client

    def real_etcd(self, name: str, host: str, *flags: str) -> str:
        client = f"http://{host}:{free_port(host)}"
        peer = f"http://{host}:{free_port(host)}"
        self.start(
            name,
            [
                ETCD, "--name", name, "--data-dir", str(self.tmp / f"{name}.etcd"),
                "--enable-v2", "--heartbeat-interval", "50", "--election-timeout", "500",
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                *flags,
            ],
        )  # fmt: skip
        return client

    def discovery(self, name: str, backend: str) -> str:
        listen = f"http://127.0.0.1:{free_port()}"
        self.start(name, [*SHOAL, "discovery", "--listen", listen, "--etcd-endpoints", backend])
        wait_until(lambda: http("GET", listen + "/")[0] == 200, STARTUP, f"{name} listening")
        return listen


def new_token(registry: str, size: str) -> str:
    """A token kept directly in an etcd, as etcd's docs describe self-hosted discovery."""
    token = os.urandom(16).hex()
    url = f"{registry}/v2/keys/_etcd/registry/{token}"
    status, _, _ = http("PUT", url + "/_config/size", {"value": size})
    assert status == 201
    return url
