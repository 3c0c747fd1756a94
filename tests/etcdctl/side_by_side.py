"""The side-by-side runner for the etcdctl tests: the same command line given to the real
etcdctl and to `shoal etcdctl`, what legitimately differs blanked out, and an assertion that a
user sees the same stdout, stderr and exit status. The cluster they talk to comes from
support.cluster (tests/support/cluster.py).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from support import ETCDCTL, SHOAL, Procs, wait_until


@dataclass(frozen=True)
class Run:
    out: str
    err: str
    code: int


def etcdctl_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "2"
    return env


def run_real(args: Sequence[str], timeout: float = 30, stdin: str | None = None) -> Run:
    return _run([ETCDCTL, *args], timeout, stdin)


def run_shoal(args: Sequence[str], timeout: float = 30, stdin: str | None = None) -> Run:
    return _run([*SHOAL, "etcdctl", *args], timeout, stdin)


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
    with Procs(prefix="shoal-etcdctl-run-") as procs:
        proc = procs.start("cmd", argv, env=etcdctl_env(), replace_env=True, stdout="pipe")
        assert proc.stdout is not None
        stdout = proc.stdout
        os.set_blocking(stdout.fileno(), False)
        out = b""

        def printed_or_exited() -> bool:
            nonlocal out
            out += stdout.read() or b""
            return out.count(b"\n") >= lines or proc.poll() is not None

        wait_until(printed_or_exited, timeout, f"{argv} to print {lines} lines", every=0.02)
        assert out.count(b"\n") >= lines, f"{argv} printed only {out!r}"
        time.sleep(0.1)  # let anything else it would print arrive
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=10)
        return Run((out + (rest or b"")).decode(), procs.log("cmd"), proc.returncode)


def both(args: Sequence[str], lines: int, *, ordered: bool = True) -> None:
    """Side by side for commands that run until Ctrl+C (watch -f, exec-watch, --forever).
    `ordered=False` compares stdout as a set of lines (exec-watch runs its children
    concurrently, so their output may interleave in any order)."""
    real = until_lines([ETCDCTL, *args], lines)
    mine = until_lines([*SHOAL, "etcdctl", *args], lines)
    if not ordered:
        real = Run("".join(sorted(real.out.splitlines(True))), real.err, real.code)
        mine = Run("".join(sorted(mine.out.splitlines(True))), mine.err, mine.code)
    same(real, mine)
