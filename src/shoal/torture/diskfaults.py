"""The disk faults of the nemesis: members whose disks lose power, fail, fill up, slow down or
rot. The first four need every member on a fault file system (`shoal.faultfs`, one mount per
member: `Cluster(fault_disks=True)`, which `shoal torture` sets when one of them is asked for);
`bit-flip` edits the files of a stopped member directly.

- power-cut: kill -9 one member, a minority or every member at once, and drop from their disks
  everything they had not fsynced (file data and directory entries), then restart them on what
  is left. Whatever they acknowledged must survive (the checks find out).
- disk-error: a member's fsyncs (half the time its writes too) fail with EIO. It must stop by
  itself, as etcd does (a member that keeps serving after a failed fsync is a problem of the
  run); its disk then loses what it had not synced, and it restarts on that.
- disk-full: a member's disk refuses new space (ENOSPC) for a while. Writes into preallocated
  WAL space still succeed, so it may go on; if it stops, it must say so and restart once space
  is back, losing nothing.
- slow-disk: every member's fsyncs take 50-500 ms (seeded per member) for the hold. The number
  of elections meanwhile is noted (raft terms gone by): a slow disk should not make leadership
  flap.
- bit-flip: kill -9 a follower and flip one bit in the middle of the data of its newest WAL
  segment, or in its newest snapshot file. On restart it must either refuse, naming the file and
  byte offset (then the documented recovery runs: the member is removed and a fresh one added in
  its place), or fall back to an older snapshot and rename the bad file `.broken`, as etcd does.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

from shoal.faultfs.mount import FaultFSError, FaultMount
from shoal.torture.procs import MemberProc, wait_until_exit
from shoal.wal.facts import BROKEN_SUFFIX
from shoal.wal.files import read_written
from shoal.wal.record import last_nonzero

if TYPE_CHECKING:
    from shoal.torture.nemesis import FaultEvent, Nemesis

DISK_KINDS = ("power-cut", "disk-error", "disk-full", "slow-disk")
"""Kinds that need the members on fault file systems."""

# What a member logs when it refuses a damaged log (shoal.wal.errors.CorruptWALError).
CORRUPT_LINE = "the log is damaged before its end"
# How long a member hit by disk-error has to notice and stop (it fsyncs for every write).
STOP_WAIT = 10.0


def _disk(m: MemberProc) -> FaultMount:
    if m.disk is None:
        raise FaultFSError(f"{m.name} is not on a fault file system")
    return m.disk


async def power_cut(nem: Nemesis, ev: FaultEvent) -> None:
    slots = [m for m in nem.cluster.slots if m.running]
    scope = nem.rng.choice(("one", "minority", "all"))
    if scope == "one":
        victims = [nem.rng.choice(slots)]
    elif scope == "minority":
        victims = nem.rng.sample(slots, max(1, (len(nem.cluster.slots) - 1) // 2))
    else:
        victims = list(nem.cluster.slots)
    hold = nem._hold()
    cuts = []
    for m in victims:
        nem._kill(m, ev.kind)
    for m in victims:
        rep = await asyncio.to_thread(_disk(m).cut)
        m.note(f"power cut: {rep}")
        cuts.append(f"{m.name}: {rep}")
    ev.what = f"power cut ({scope}): {'; '.join(cuts)}; down {hold}s"
    await asyncio.sleep(hold)


async def disk_error(nem: Nemesis, ev: FaultEvent) -> None:
    lead = await nem._leader(ev)
    if lead is not None and nem.rng.random() < 0.5:
        victim, role = lead, "leader"
    else:
        victim, role = nem.rng.choice(nem._followers(lead)), "follower"
    how = nem.rng.choice(("fsync", "write"))
    disk = _disk(victim)
    victim.note(f"disk-error: every {how} fails with EIO")
    await asyncio.to_thread(disk.command, f"eio {how}")
    try:
        code = await wait_until_exit(victim, STOP_WAIT)
    finally:
        await asyncio.to_thread(disk.command, "eio off")
    if code is None:
        msg = f"{victim.name} kept running {STOP_WAIT:.0f}s after its {how}s started failing"
        ev.notes.append(msg)
        nem.violations.append(("disk", msg))
        nem._kill(victim, "still running on a failing disk")
    else:
        ev.notes.append(f"{victim.name} stopped by itself (exit {code}): {_last_critical(victim)}")
    rep = await asyncio.to_thread(disk.cut)
    victim.note(f"power cut after the failed {how}: {rep}")
    ev.what = f"EIO on every {how} of {role} {victim.name}; then its disk lost what was unsynced"


async def disk_full(nem: Nemesis, ev: FaultEvent) -> None:
    victim = nem.rng.choice([m for m in nem.cluster.slots if m.running])
    disk = _disk(victim)
    hold = nem._hold()
    victim.note("disk-full: ENOSPC for new space")
    await asyncio.to_thread(disk.command, "full on")
    try:
        await asyncio.sleep(hold)
    finally:
        await asyncio.to_thread(disk.command, "full off")
    stats = await asyncio.to_thread(disk.command, "stats")
    state = "kept running" if victim.running else f"stopped (exit {victim.exit_code()})"
    if not victim.running:
        state += f": {_last_critical(victim)}"
    ev.what = f"disk of {victim.name} full for {hold}s; it {state} [{stats}]"


async def slow_disk(nem: Nemesis, ev: FaultEvent) -> None:
    hold = nem._hold()
    before = await _max_term(nem)
    delays = []
    for m in nem.cluster.slots:
        if m.disk is not None:
            lo = nem.rng.randint(50, 250)
            hi = nem.rng.randint(lo, 500)
            await asyncio.to_thread(m.disk.command, f"delay {lo} {hi}")
            delays.append(f"{m.name} {lo}-{hi}ms")
    try:
        await asyncio.sleep(hold)
    finally:
        for m in nem.cluster.slots:
            if m.disk is not None:
                with contextlib.suppress(FaultFSError, OSError):
                    await asyncio.to_thread(m.disk.command, "delay 0 0")
    after = await _max_term(nem)
    elections = max(0, after - before) if before and after else -1
    ev.what = f"fsync delays {', '.join(delays)} for {hold}s"
    ev.notes.append(
        f"elections meanwhile: {elections}" if elections >= 0 else "raft term not readable"
    )


async def bit_flip(nem: Nemesis, ev: FaultEvent) -> None:
    c = nem.cluster
    lead = await nem._leader(ev)
    victim = nem.rng.choice(nem._followers(lead))
    nem._kill(victim, ev.kind)
    target = nem.rng.choice(("wal", "snap"))
    what = flip_bit(victim.data_dir, target, nem.rng)
    victim.note(f"bit-flip: {what}")
    c.restart(victim)
    code = await wait_until_exit(victim, STOP_WAIT)
    snap_dir = victim.data_dir / "member" / "snap"
    broken = sorted(p.name for p in snap_dir.glob("*" + BROKEN_SUFFIX))
    if code is None:
        outcome = "it started" + (f", renaming {', '.join(broken)}" if broken else "")
        ev.what = f"kill -9 follower {victim.name}, {what}; {outcome}"
        return
    refusal = _last_critical(victim)
    ev.notes.append(f"{victim.name} refused to start (exit {code}): {refusal}")
    if CORRUPT_LINE not in refusal and "snap" not in refusal:
        nem.violations.append(("disk", f"{victim.name} refused a flipped bit without naming it"))
    # The documented recovery: remove the member, add a fresh one (new data dir) in its place.
    slot = c.slots.index(victim)
    how = await c.remove_member(victim)
    fresh = await c.add_member()
    c.start_joining(fresh, slot)
    ev.what = (
        f"kill -9 follower {victim.name}, {what}; it refused to start; removed it ({how}) and "
        f"added {fresh.name} in its place"
    )


def flip_bit(data_dir: Path, target: str, rng: random.Random) -> str:
    """Flip one bit in the middle of the newest WAL segment's data or the newest snapshot."""
    member = data_dir / "member"
    snaps = sorted((member / "snap").glob("*.snap"))
    if target == "snap" and snaps:
        path = snaps[-1]
        data = path.read_bytes()
        end = len(data)
    else:
        segments = sorted((member / "wal").glob("*.wal"))
        if not segments:
            return "no WAL segment to damage"
        path = segments[-1]
        data, _ = read_written(str(path))
        end = last_nonzero(data) + 1
    if end < 4:
        return f"{path.name} holds too little to damage"
    pos = rng.randint(end // 4, (3 * end) // 4)
    bit = rng.randrange(8)
    with open(path, "r+b") as f:
        f.seek(pos)
        old = f.read(1)[0]
        f.seek(pos)
        f.write(bytes([old ^ (1 << bit)]))
    return f"flipped bit {bit} of byte {pos} of {path.name} ({end} bytes of data)"


def _last_critical(m: MemberProc) -> str:
    """The member's last critical log line since its last start (why it stopped)."""
    try:
        text = m.log_path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    text = text[max(0, text.rfind("==== torture: start #")) :]
    lines = [ln for ln in text.splitlines() if " C | " in ln or "Error" in ln]
    return lines[-1].strip()[:300] if lines else "(no critical line in its log)"


async def _max_term(nem: Nemesis) -> int:
    best = 0
    for m in nem.cluster.slots:
        if not m.running or m.paused:
            continue
        try:
            async with nem.cluster.http.get(
                m.client_url + "/v2/keys/", timeout=aiohttp.ClientTimeout(total=2)
            ) as r:
                await r.read()
                best = max(best, int(r.headers.get("X-Raft-Term", "0")))
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
            continue
    return best
