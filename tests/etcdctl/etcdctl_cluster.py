"""A swappable test cluster for the etcdctl and client tests, plus the side-by-side runner.

A *target* is anything with `client_urls` (one per member, index i is member i) and
`stop(i, sig)` / `start(i)` / `wait_ready()` / `close()` (see `Target`). `RealEtcdCluster` runs
three real etcd 3.4 members (--enable-v2) on loopback; a shoal cluster can be dropped in by
adding a factory to `TARGETS`, or without touching this file with
SHOAL_TEST_TARGET=package.module:factory (a zero-argument callable returning a started Target).

Every process started here is killed on close, also when a test fails.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"
HAVE_ETCD = os.path.exists(ETCD) and os.path.exists(ETCDCTL)
SKIP_REASON = "real etcd/etcdctl binaries (/usr/bin/etcd, /usr/bin/etcdctl) are not installed"


class Target(Protocol):
    client_urls: list[str]

    def stop(self, i: int, sig: int = signal.SIGTERM) -> None: ...

    def start(self, i: int) -> None: ...  # no-op when member i is running

    def wait_ready(self, timeout: float = 20.0) -> None: ...

    def close(self) -> None: ...


def wait_for(cond: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def http_status(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


class RealEtcdCluster:
    """Three etcd 3.4 members on 127.0.<r>.1-3 (random r and ports), fast timings (50/500 ms).
    `command` runs another program taking etcd's flags instead (`shoal etcd`)."""

    def __init__(self, size: int = 3, command: Sequence[str] = (ETCD,)) -> None:
        self.command = list(command)
        self.dir = Path(tempfile.mkdtemp(prefix="shoal-etcdctl-"))
        net = random.randint(2, 250)
        self.hosts = [f"127.0.{net}.{i + 1}" for i in range(size)]
        self.client_urls = [f"http://{h}:{free_port(h)}" for h in self.hosts]
        self.peer_urls = [f"http://{h}:{free_port(h)}" for h in self.hosts]
        self.names = [f"m{i + 1}" for i in range(size)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * size
        self.token = f"shoal-{os.getpid()}-{net}"
        try:
            for i in range(size):
                self.start(i)
            self.wait_ready()
        except BaseException:
            self.close()
            raise

    def _argv(self, i: int) -> list[str]:
        cluster = ",".join(f"{n}={u}" for n, u in zip(self.names, self.peer_urls, strict=True))
        return [
            *self.command,
            "--name", self.names[i],
            "--data-dir", str(self.dir / self.names[i]),
            "--enable-v2",
            "--heartbeat-interval", "50",
            "--election-timeout", "500",
            "--listen-client-urls", self.client_urls[i],
            "--advertise-client-urls", self.client_urls[i],
            "--listen-peer-urls", self.peer_urls[i],
            "--initial-advertise-peer-urls", self.peer_urls[i],
            "--initial-cluster", cluster,
            "--initial-cluster-token", self.token,
            "--initial-cluster-state", "new",
        ]  # fmt: skip

    def start(self, i: int) -> None:
        proc = self.procs[i]
        if proc is not None and proc.poll() is None:
            return
        log = open(self.dir / f"{self.names[i]}.log", "ab")  # noqa: SIM115 (owned by the child)
        self.procs[i] = subprocess.Popen(
            self._argv(i), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.close()

    def stop(self, i: int, sig: int = signal.SIGTERM) -> None:
        proc = self.procs[i]
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        url = self.client_urls[i]
        wait_for(lambda: http_status(url + "/version", 0.5) == 0, 10, f"{url} to stop")

    def running(self) -> list[int]:
        return [i for i, p in enumerate(self.procs) if p is not None and p.poll() is None]

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Every running member answers /health with 200 (so a leader is known)."""
        for i in self.running():
            url = self.client_urls[i] + "/health"
            wait_for(lambda u=url: http_status(u) == 200, timeout, f"{url} healthy")

    def close(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def shoal_etcd_cluster() -> Target:
    """The same three members, run by `shoal etcd` (shoal's own member) instead of etcd."""
    return RealEtcdCluster(command=[*shoal_argv(), "etcd"])


TARGETS: dict[str, Callable[[], Target]] = {"etcd": RealEtcdCluster, "shoal": shoal_etcd_cluster}


def _factory(name: str) -> Callable[[], Target]:
    """A name from TARGETS, or "package.module:callable" for a cluster defined elsewhere
    (e.g. SHOAL_TEST_TARGET=shoal.cluster.testing:ThreeNodes once shoal can run one)."""
    if ":" in name:
        module, attr = name.split(":", 1)
        factory: Callable[[], Target] = getattr(importlib.import_module(module), attr)
        return factory
    return TARGETS[name]


@contextlib.contextmanager
def target_cluster() -> Iterator[Target]:
    cluster = _factory(os.environ.get("SHOAL_TEST_TARGET", "etcd"))()
    try:
        yield cluster
    finally:
        cluster.close()


# -- side by side ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    out: str
    err: str
    code: int


def shoal_argv() -> list[str]:
    exe = Path(sys.executable).with_name("shoal")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "shoal.cli"]


def etcdctl_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "2"
    return env


def run_real(args: Sequence[str], timeout: float = 30, stdin: str | None = None) -> Run:
    return _run([ETCDCTL, *args], timeout, stdin)


def run_shoal(args: Sequence[str], timeout: float = 30, stdin: str | None = None) -> Run:
    return _run([*shoal_argv(), "etcdctl", *args], timeout, stdin)


def _run(argv: list[str], timeout: float, stdin: str | None) -> Run:
    proc = subprocess.run(
        argv,
        input=stdin.encode() if stdin is not None else None,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        timeout=timeout,
        env=etcdctl_env(),
    )
    return Run(proc.stdout.decode(), proc.stderr.decode(), proc.returncode)


_INDEXES = [
    (re.compile(r'"(createdIndex|modifiedIndex)":\d+'), r'"\1":N'),
    (re.compile(r"^(Created-Index|Modified-Index|Index): \d+$", re.M), r"\1: N"),
    (re.compile(r'"expiration":"[^"]*"'), '"expiration":T'),
    (re.compile(r'"ttl":\d+'), '"ttl":N'),
    (re.compile(r"^TTL: \d+$", re.M), "TTL: N"),
    (re.compile(r"\[\d+\]$", re.M), "[N]"),  # the index at the end of an etcd error
    (re.compile(r"\[\d+ != \d+\]"), "[N != N]"),  # a compare-failed cause on prevIndex
    (re.compile(r"/\d{20}\b"), "/IN-ORDER-KEY"),
    (re.compile(r"^ETCD_WATCH_MODIFIED_INDEX=\d+$", re.M), "ETCD_WATCH_MODIFIED_INDEX=N"),
]
_CLUSTER_ERR = re.compile(
    r"(client: etcd cluster is unavailable or misconfigured)((?:; error #\d+: [^\n]*\n)+)"
)
_DETAIL = re.compile(r"(?:^error #\d+: [^\n]*\n)+", re.M)


def _sorted_errors(block: str, prefix: str) -> str:
    items = sorted(re.findall(r"error #\d+: ([^\n]*)\n", block))
    return "".join(f"{prefix}error #?: {e}\n" for e in items)


def normalize(text: str) -> str:
    """Blank out what legitimately differs between two runs: indexes, times and TTL seconds,
    and the order in which endpoints were tried (etcd's client shuffles them)."""
    for pattern, repl in _INDEXES:
        text = pattern.sub(repl, text)
    text = _CLUSTER_ERR.sub(lambda m: m.group(1) + _sorted_errors(m.group(2), "; "), text)
    return _DETAIL.sub(lambda m: _sorted_errors(m.group(0), ""), text)


def same(real: Run, shoal: Run) -> None:
    """Assert the two runs look the same to a user (after `normalize`)."""
    assert (normalize(shoal.out), normalize(shoal.err), shoal.code) == (
        normalize(real.out),
        normalize(real.err),
        real.code,
    )


def run_shoal_inprocess(args: Sequence[str], stdin: str = "") -> Run:
    """shoal etcdctl without a new interpreter (the tests' fast path; same code as the CLI)."""
    import io

    from shoal.etcdctl.main import run

    out, err = io.StringIO(), io.StringIO()
    code = run(list(args), out, err, io.StringIO(stdin))
    return Run(out.getvalue(), err.getvalue(), code)


def compare(
    args: Sequence[str], *, setup: Callable[[], None] | None = None, stdin: str | None = None
) -> Run:
    """Run `etcdctl args` and `shoal etcdctl args` (after the same `setup`) and assert that a
    user sees the same stdout, stderr and exit status. Returns the real run."""
    if setup is not None:
        setup()
    real = run_real(args, stdin=stdin)
    if setup is not None:
        setup()
    mine = run_shoal_inprocess(args, stdin or "")
    same(real, mine)
    return real


def until_lines(argv: Sequence[str], lines: int, timeout: float = 20) -> Run:
    """Start argv, wait until it printed `lines` lines on stdout, then Ctrl+C it."""
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=etcdctl_env(),
    )
    try:
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        out = b""
        deadline = time.monotonic() + timeout
        while out.count(b"\n") < lines and time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            chunk = proc.stdout.read()
            if chunk:
                out += chunk
            else:
                time.sleep(0.02)
        assert out.count(b"\n") >= lines, f"{argv} printed only {out!r}"
        time.sleep(0.1)  # let anything else it would print arrive
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=10)
        return Run((out + (rest or b"")).decode(), err.decode(), proc.returncode)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def both(args: Sequence[str], lines: int, *, ordered: bool = True) -> None:
    """Side by side for commands that run until Ctrl+C (watch -f, exec-watch, --forever).
    `ordered=False` compares stdout as a set of lines (exec-watch runs its children
    concurrently, so their output may interleave in any order)."""
    real = until_lines([ETCDCTL, *args], lines)
    mine = until_lines([*shoal_argv(), "etcdctl", *args], lines)
    if not ordered:
        real = Run("".join(sorted(real.out.splitlines(True))), real.err, real.code)
        mine = Run("".join(sorted(mine.out.splitlines(True))), mine.err, mine.code)
    same(real, mine)
