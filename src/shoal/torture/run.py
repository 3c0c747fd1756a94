"""One torture run from start to verdict: boot the cluster, run clients and the nemesis for the
duration, heal, read everything back, check, report, clean up (every process killed, always).
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from shoal.torture.checks import (
    CheckOutcome,
    check_acknowledged,
    check_converged,
    check_linearizable,
    final_reads,
)
from shoal.torture.cluster import Cluster, ClusterError
from shoal.torture.diskfaults import DISK_KINDS
from shoal.torture.nemesis import KINDS, Nemesis
from shoal.torture.procs import Timing
from shoal.torture.workload import Clock, Workload

# The planted-bug switch read by test-only member wrappers (tests/torture/mutants; see README):
# named in the report and the replay line so that a failing run can be replayed as it ran.
BUG_ENV = "SHOAL_TEST_BUG"

# What the "disk faults" and "clock faults" checks say when no promise was broken.
PROMISES = {
    "disk": "every member stopped or refused as it must",
    "clock": "every TTL probe expired as the leader's clock says",
}


@dataclass(slots=True)
class Options:
    nodes: int = 3
    duration: float = 60.0
    seed: int = 0
    faults: list[str] = field(default_factory=lambda: list(KINDS))
    keep: Path | None = None
    clients_per_member: int = 3
    op_timeout: float = 3.0
    timing: Timing = field(default_factory=Timing)
    hold: tuple[float, float] = (2.0, 5.0)
    check_timeout: float = 300.0
    converge_timeout: float = 60.0
    member_command: list[str] = field(default_factory=list)  # empty: `shoal etcd` (MEMBER_COMMAND)
    tls: bool = False  # https on both ports, peers by certificate (a CA made for the run)

    def command(self) -> str:
        """The command line that replays this run's schedule."""
        parts = ["shoal", "torture", "--nodes", str(self.nodes), "--duration", f"{self.duration:g}"]
        parts += ["--seed", str(self.seed), "--faults", ",".join(self.faults) or "none"]
        if self.clients_per_member != 3:
            parts += ["--clients-per-member", str(self.clients_per_member)]
        if self.op_timeout != 3.0:
            parts += ["--op-timeout", f"{self.op_timeout:g}"]
        if self.hold != (2.0, 5.0):
            parts += ["--hold", f"{self.hold[0]:g},{self.hold[1]:g}"]
        t = self.timing
        if t != Timing():
            parts += ["--heartbeat-ms", str(t.heartbeat_ms), "--election-ms", str(t.election_ms)]
            parts += ["--snapshot-count", str(t.snapshot_count)]
        if self.member_command:
            parts += ["--member-command", shlex.join(self.member_command)]
        if self.tls:
            parts.append("--tls")
        bug = os.environ.get(BUG_ENV)
        return (f"{BUG_ENV}={shlex.quote(bug)} " if bug else "") + shlex.join(parts)


@dataclass(slots=True)
class Outcome:
    ok: bool
    verdict: str  # the last line of the report
    report: str
    workdir: Path
    kept: bool
    checks: list[CheckOutcome]
    counts: dict[str, int]


def _printer(out: TextIO) -> Callable[[str], None]:
    def p(line: str = "") -> None:
        out.write(line + "\n")
        out.flush()

    return p


async def torture(opts: Options, out: TextIO = sys.stdout) -> Outcome:
    say = _printer(out)
    workdir = opts.keep or Path(tempfile.mkdtemp(prefix="shoal-torture-"))
    workdir.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def report(line: str = "") -> None:
        lines.append(line)
        say(line)

    report(
        f"shoal torture: {opts.nodes} members, seed {opts.seed}, {opts.duration:g}s, "
        f"faults {','.join(opts.faults) or 'none'}"
    )
    t = opts.timing
    report(
        f"  heartbeat {t.heartbeat_ms} ms, election {t.election_ms} ms, snapshot-count "
        f"{t.snapshot_count}, {opts.clients_per_member} clients per member, op timeout "
        f"{opts.op_timeout:g}s; work dir {workdir}"
    )
    if opts.member_command:
        report(f"  members run by: {shlex.join(opts.member_command)}")
    if os.environ.get(BUG_ENV):
        report(f"  planted bug: {BUG_ENV}={os.environ[BUG_ENV]}")
    clock = Clock()
    disks = any(k in DISK_KINDS for k in opts.faults)
    if disks:
        report("  members run on fault file systems (FUSE), one per member")
    if opts.tls:
        report("  members serve https on both ports (--tls), peers authenticated by certificate")
    clocks = "clock-jump" in opts.faults
    if clocks:
        report("  members run with libfaketime: clock-jump moves their wall clocks")
    cluster = Cluster(
        workdir,
        opts.nodes,
        opts.timing,
        command=opts.member_command or None,
        fault_disks=disks,
        fake_clocks=clocks,
        tls=opts.tls,
    )
    workload = Workload(cluster, clock, opts.seed, opts.clients_per_member, opts.op_timeout)
    nemesis = Nemesis(cluster, clock, opts.seed, opts.faults, hold=opts.hold)
    checks: list[CheckOutcome] = []
    setup_error = ""
    try:
        await cluster.open()
        cluster.start_all()
        if not await cluster.wait_healthy(60.0):
            raise ClusterError("the cluster did not become healthy within 60s of starting")
        await cluster.learn_ids()
        report(f"  members: {', '.join(f'{m.name}={m.client_url}' for m in cluster.slots)}")
        start = clock.now()
        workload.start()
        nemesis_task = asyncio.create_task(_nemesis_logged(nemesis, start, opts, say))
        await nemesis_task
        # The nemesis's last recovery healed everything; the clients see the healed cluster
        # for a moment before they stop.
        await asyncio.sleep(1.0)
        await workload.stop()
        say("  clients stopped; healing and reading everything back")
        healthy = await nemesis.recover(None)
        if not healthy:
            healthy = await cluster.wait_healthy(opts.converge_timeout)
        final = await final_reads(cluster, workload.keys_used, clock, workload.history)
        checks.append(await check_converged(cluster, opts.converge_timeout))
        checks.append(check_acknowledged(workload.history, final))
        lin, _ = await asyncio.to_thread(check_linearizable, workload.history, opts.check_timeout)
        checks.insert(0, lin)
        if not healthy:
            checks.append(CheckOutcome("healthy after healing", False, "never healthy again"))
        families = {"disk": disks or "bit-flip" in opts.faults, "clock": clocks}
        for fam, asked in families.items():
            v = [what for f, what in nemesis.violations if f == fam]
            if asked:
                summary = f"{len(v)} broken promise(s)" if v else PROMISES[fam]
                checks.append(CheckOutcome(f"{fam} faults", not v, summary, v))
    except ClusterError as e:
        setup_error = str(e)
        await workload.stop()
    finally:
        await cluster.close()

    # ---------------------------------------------------------------- the report
    report("")
    report("faults:")
    for ev in nemesis.events:
        rec = (
            "never healthy" if ev.recovered_in is None else f"healthy {ev.recovered_in:.1f}s after"
        )
        report(f"  +{ev.start - clock.wall0:7.1f}s {ev.kind:<17} {ev.what} [{rec}]")
        for note in ev.notes:
            report(f"  {'':9} {'':17} note: {note}")
    kinds = collections.Counter(ev.kind for ev in nemesis.events)
    report("  ran: " + (", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())) or "none"))
    catchups = [ev for ev in nemesis.events if ev.kind == "snapshot-catchup"]
    if catchups:
        from_snap = sum("caught up from a snapshot" in ev.notes for ev in catchups)
        report(f"  snapshot catch-ups: {from_snap} of {len(catchups)} from a snapshot")
    missing = [k for k in opts.faults if k not in kinds]
    history = [op for op in workload.history if op.client >= 0]
    counts = collections.Counter(op.outcome for op in history)
    by_kind = collections.Counter(op.how for op in history)
    n_ok, n_unknown = counts["ok"], counts["unknown"]
    n_failed = counts["fail"] + counts["error"]
    report("")
    report(
        f"operations: {len(history)} (ok {n_ok}, failed {n_failed}, unknown {n_unknown}); "
        + ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items()))
    )
    report(
        f"  failed: {counts['fail']} CAS refused by the store (compare failed, key missing or "
        f"existing), {counts['error']} not done (member down, request refused)"
    )
    report(f"  clients: {workload.clients} over {len(workload.keys_used)} keys")
    report("checks:")
    for c in checks:
        report(f"  {c.name}: {'ok' if c.ok else 'FAIL'}: {c.summary}")
        for d in c.details[:60]:
            report(f"    {d}")
    for p in nemesis.problems:
        report(f"  note: {p}")
    failed = [c.name for c in checks if not c.ok]
    if setup_error:
        failed.insert(0, f"setup: {setup_error}")
    if missing and not setup_error:
        failed.append(f"faults not run: {','.join(missing)}")
    if not checks and not setup_error:
        failed.append("no checks ran")
    ok = not failed
    keep = opts.keep is not None or not ok
    _save(workdir, workload, nemesis, opts, lines, keep)
    if keep:
        report(f"kept: {workdir} (history.json, lincheck.jsonl, nemesis.json, logs/)")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    if not ok:
        report(f"replay: {opts.command()}")
    verdict = "verdict: ok" if ok else f"verdict: FAIL {'; '.join(failed)}"
    report(verdict)
    if keep:
        (workdir / "report.txt").write_text("\n".join(lines) + "\n")
    return Outcome(ok, verdict, "\n".join(lines), workdir, keep, checks, dict(counts))


async def _nemesis_logged(
    nemesis: Nemesis, start: float, opts: Options, say: Callable[[str], None]
) -> None:
    """Run the nemesis, printing each fault as it starts (a long run shows it is alive)."""
    task = asyncio.create_task(nemesis.run(start + opts.duration))
    shown = 0
    while not task.done():
        await asyncio.wait([task], timeout=1.0)
        while shown < len(nemesis.events):
            ev = nemesis.events[shown]
            if ev.end == 0.0 and not task.done():
                break
            say(f"  [{time.strftime('%H:%M:%S')}] {ev.kind}: {ev.what}")
            shown += 1
    for ev in nemesis.events[shown:]:
        say(f"  [{time.strftime('%H:%M:%S')}] {ev.kind}: {ev.what}")
    task.result()


def _save(
    workdir: Path,
    workload: Workload,
    nemesis: Nemesis,
    opts: Options,
    lines: list[str],
    keep: bool,
) -> None:
    if not keep:
        return
    doc = {
        "seed": opts.seed,
        "nodes": opts.nodes,
        "duration": opts.duration,
        "faults": opts.faults,
        "replay": opts.command(),
        "operations": [op.to_json() for op in workload.history],
        "nemesis": [ev.to_json() for ev in nemesis.events],
    }
    (workdir / "history.json").write_text(json.dumps(doc, indent=1) + "\n")
    with open(workdir / "lincheck.jsonl", "w") as f:
        for op in workload.history:
            rec = op.checker_record()
            if rec is not None:
                f.write(json.dumps(rec) + "\n")
    (workdir / "nemesis.json").write_text(
        json.dumps([ev.to_json() for ev in nemesis.events], indent=1) + "\n"
    )
