"""`shoal sim raft`: run many seeds of the raft simulation and report `N passed, M failed`."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time

from shoal.sim.mutants import PLANTED_BUGS
from shoal.sim.raft_sim import SimConfig, run_seed


def replay_command(seed: int, nodes: int, steps: int, bugs: list[str]) -> str:
    cmd = f"shoal sim raft --seed {seed} --seeds 1 --nodes {nodes} --steps {steps}"
    for b in bugs:
        cmd += f" --bug {b}"
    return cmd + " -v"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="shoal sim", description=__doc__)
    sub = p.add_subparsers(dest="what", required=True)
    r = sub.add_parser("raft", help="simulate raft clusters under faults, checking invariants")
    r.add_argument("--seeds", type=int, default=100, help="how many seeds to run (default 100)")
    r.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    r.add_argument("--nodes", type=int, choices=(3, 5), default=3)
    r.add_argument("--steps", type=int, default=1000, help="ticks of faults per seed")
    r.add_argument(
        "--bug", action="append", default=[], choices=PLANTED_BUGS, help="plant a bug (test)"
    )
    r.add_argument("-v", "--verbose", action="store_true", help="print the trace of failures")
    r.add_argument(
        "-j", "--jobs", type=int, default=os.cpu_count() or 1, help="seeds run in parallel"
    )
    a = p.parse_args(argv)
    if a.seeds < 1 or a.steps < 1:
        p.error("--seeds and --steps must be at least 1")
    passed = failed = 0
    t0 = time.monotonic()
    configs = [
        SimConfig(seed, a.nodes, a.steps, frozenset(a.bug))
        for seed in range(a.seed, a.seed + a.seeds)
    ]
    jobs = max(1, min(a.jobs, len(configs)))
    pool = multiprocessing.get_context("fork").Pool(jobs) if jobs > 1 else None
    results = pool.imap(run_seed, configs, chunksize=4) if pool else map(run_seed, configs)
    for res in results:
        seed = res.seed
        if res.ok:
            passed += 1
            continue
        failed += 1
        print(f"FAIL seed {seed}: {res.violation}")
        print(f"  replay: {replay_command(seed, a.nodes, a.steps, a.bug)}")
        if a.verbose:
            for line in res.trace:
                print(f"    {line}")
    if pool is not None:
        pool.close()
        pool.join()
    took = time.monotonic() - t0
    print(
        f"sim raft: {a.nodes} nodes, {a.steps} steps, seeds {a.seed}..{a.seed + a.seeds - 1}, "
        f"{took:.1f}s"
    )
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
