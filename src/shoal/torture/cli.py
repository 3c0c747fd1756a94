"""`shoal torture`: a Jepsen-style run against a real multi-process shoal etcd cluster.

Exit status: 0 when the verdict is ok, 1 when it is FAIL, 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from pathlib import Path

from shoal.faultfs.mount import available as faultfs_unavailable
from shoal.torture.clocks import available as clocks_unavailable
from shoal.torture.diskfaults import DISK_KINDS
from shoal.torture.nemesis import KINDS
from shoal.torture.procs import Timing
from shoal.torture.run import Options, torture


def parse(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(
        prog="shoal torture",
        description=(
            "Start a shoal etcd cluster on loopback, run concurrent clients against every "
            "member while a seeded nemesis injects faults, then check the history "
            "(linearizable per key), that acknowledged writes survived and that members "
            "converged. Ends with 'verdict: ok' (exit 0) or 'verdict: FAIL ...' (exit 1)."
        ),
        epilog="fault kinds: " + ", ".join(KINDS) + " (default: all; 'none' for no faults)",
    )
    p.add_argument("--nodes", type=int, choices=(3, 5), default=3)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of faults (default 60)")
    p.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    p.add_argument("--faults", default="all", help="comma-separated kinds, 'all' or 'none'")
    p.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="work dir, kept (default: a temp dir, kept on failure)",
    )
    p.add_argument("--clients-per-member", type=int, default=3)
    p.add_argument("--op-timeout", type=float, default=3.0, help="seconds before an op is unknown")
    p.add_argument("--heartbeat-ms", type=int, default=Timing().heartbeat_ms)
    p.add_argument("--election-ms", type=int, default=Timing().election_ms)
    p.add_argument("--snapshot-count", type=int, default=Timing().snapshot_count)
    p.add_argument("--hold", default="2,5", help="min,max seconds a fault is held (default 2,5)")
    p.add_argument("--check-timeout", type=float, default=300.0)
    p.add_argument(
        "--member-command",
        default="",
        help="run each member with this command (shell words) instead of `shoal etcd`; "
        "the etcd flags follow it (e.g. a test's wrapper that plants a bug)",
    )
    p.add_argument(
        "--tls",
        action="store_true",
        help="members serve https on both ports (a CA and a certificate each, made for the "
        "run); peers authenticate each other by certificate, clients verify the members",
    )
    a = p.parse_args(argv)
    if a.faults == "all":
        faults = list(KINDS)
    elif a.faults == "none":
        faults = []
    else:
        faults = [f.strip() for f in a.faults.split(",") if f.strip()]
        bad = [f for f in faults if f not in KINDS]
        if bad:
            p.error(f"unknown fault kind(s) {', '.join(bad)}; known: {', '.join(KINDS)}")
    if "clock-jump" in faults and clocks_unavailable() is not None:
        p.error(f"clock-jump needs libfaketime: {clocks_unavailable()}")
    disk_kinds = [f for f in faults if f in DISK_KINDS]
    why = faultfs_unavailable() if disk_kinds else None
    if why is not None:
        p.error(f"{', '.join(disk_kinds)} need a fault file system (FUSE): {why}")
    try:
        lo, hi = (float(x) for x in a.hold.split(","))
    except ValueError:
        p.error("--hold wants two numbers: min,max")
    if a.seed is None:
        import random

        a.seed = random.SystemRandom().randrange(1, 1_000_000)
    return Options(
        nodes=a.nodes,
        duration=a.duration,
        seed=a.seed,
        faults=faults,
        keep=a.keep,
        clients_per_member=a.clients_per_member,
        op_timeout=a.op_timeout,
        timing=Timing(a.heartbeat_ms, a.election_ms, a.snapshot_count),
        hold=(lo, hi),
        check_timeout=a.check_timeout,
        member_command=shlex.split(a.member_command),
        tls=a.tls,
    )


def main(argv: list[str]) -> int:
    opts = parse(argv)
    outcome = asyncio.run(torture(opts))
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
