"""The `cli` row: how long one command-line client call takes, start to exit, against a running
cluster: `shoal etcdctl` and the Go `etcdctl` (ETCDCTL_API=2) doing get, set and ls of a key,
in turns, so the machine's load hits both alike. Scripts that call a client in a loop feel this
figure more than any request rate."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

GO_ETCDCTL = "/usr/bin/etcdctl"

COMMANDS = (["set", "/bench/cli", "v"], ["get", "/bench/cli"], ["ls", "/bench"])


def shoal_command() -> list[str]:
    """The `shoal` entry point beside this Python (the venv's), else `python -m shoal.cli`."""
    script = Path(sys.executable).parent / "shoal"
    return [str(script)] if script.exists() else [sys.executable, "-m", "shoal.cli"]


def client_argv(kind: str, endpoint: str) -> list[str]:
    base = [*shoal_command(), "etcdctl"] if kind == "shoal" else [GO_ETCDCTL]
    return [*base, "--endpoints", endpoint]


def time_calls(argv: list[str], runs: int) -> list[float]:
    """Wall seconds of each call of each command (`runs` rounds); a failing call raises."""
    env = dict(os.environ, ETCDCTL_API="2")
    out: list[float] = []
    for _ in range(runs):
        for cmd in COMMANDS:
            t0 = time.perf_counter()
            done = subprocess.run([*argv, *cmd], env=env, capture_output=True, check=False)
            out.append(time.perf_counter() - t0)
            if done.returncode != 0:
                err = done.stderr.decode(errors="replace").strip()
                raise RuntimeError(f"{' '.join([*argv, *cmd])}: exit {done.returncode}: {err}")
    return out


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000
