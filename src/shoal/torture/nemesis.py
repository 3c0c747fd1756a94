"""The nemesis: faults injected into the running cluster, one at a time, from a seeded RNG.

A run goes: quiet, fault, heal, wait until healthy, quiet, next fault. The order is the list of
kinds asked for, shuffled by the seed, so every kind runs at least once (the run lasts until the
first round is done even if that is past --duration); after the first round the seed picks kinds
at random until the duration is up. Which member is hit depends on who leads at that moment, so
the same seed replays the same schedule of kinds, hold times and choices, not the same timing.

Kinds (etcd's functional tester and Jepsen names in brackets):
- kill-leader, kill-follower, kill-majority: kill -9, hold, restart [SIGTERM_LEADER, ...,
  SIGTERM_QUORUM; Jepsen's crash];
- pause: SIGSTOP a member (the leader half the time), hold, SIGCONT [Jepsen's pause];
- partition-halves, partition-leader, partition-bridge: peer links cut through each member's
  fault endpoint [BLACKHOLE_PEER_PORT_TX_RX_*; Jepsen's partitions]. A bridge: two halves cut from
  each other and one member that still sees both;
- lossy-net: every peer message dropped with probability 0.3 and delayed 30 ms
  [DELAY_PEER_PORT_TX_RX, the 50% drop of etcd's robustness tests];
- truncate-wal: kill -9 a follower, cut 1-256 bytes off the end of the data in its newest WAL
  segment (a torn write), restart: it must repair the tail and catch up;
- member-replace: DELETE /v2/members/<id> of a member while clients write, then POST a fresh
  member and start it with --initial-cluster-state existing [SIGQUIT_AND_REMOVE_*];
- snapshot-catchup: kill -9 a follower and hold it down until more than twice --snapshot-count
  entries are written (the nemesis writes filler keys too), so the leader has compacted past it
  and it must catch up from a snapshot [*_UNTIL_TRIGGER_SNAPSHOT]. Whether it did is read from
  its log ("applying snapshot").
- power-cut, disk-error, disk-full, slow-disk, bit-flip: the disk faults, in `diskfaults`
  [Jepsen's lazyfs power loss; etcd's robustness tests' disk failpoints];
- clock-jump: one member's wall clock stepped by up to an hour, in `clockfaults` [Jepsen's
  clock nemesis].
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from shoal.faultfs.mount import FaultFSError
from shoal.torture import clockfaults, diskfaults
from shoal.torture.cluster import Cluster, ClusterError
from shoal.torture.procs import MemberProc, wait_until_exit
from shoal.torture.workload import Clock
from shoal.transport.control import FaultControlError, clear_faults, set_faults
from shoal.transport.faults import Faults
from shoal.wal.files import read_written
from shoal.wal.record import last_nonzero

KINDS = (
    "kill-leader",
    "kill-follower",
    "kill-majority",
    "pause",
    "partition-halves",
    "partition-leader",
    "partition-bridge",
    "lossy-net",
    "truncate-wal",
    "member-replace",
    "snapshot-catchup",
    "power-cut",
    "disk-error",
    "disk-full",
    "slow-disk",
    "bit-flip",
    "clock-jump",
)

# The member's own log line when it installs a snapshot sent by the leader.
SNAPSHOT_APPLIED_LINE = "applying snapshot at index"
# Largest torn tail cut off a WAL segment (bytes): a few records at most, as a torn write.
MAX_WAL_CUT = 256


@dataclass(slots=True)
class FaultEvent:
    kind: str
    start: float
    end: float = 0.0
    what: str = ""
    recovered_in: float | None = None  # seconds from heal to healthy; None: never
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "what": self.what,
            "recovered_in": self.recovered_in,
            "notes": self.notes,
        }


class Nemesis:
    def __init__(
        self,
        cluster: Cluster,
        clock: Clock,
        seed: int,
        kinds: list[str],
        hold: tuple[float, float] = (2.0, 5.0),
        quiet: tuple[float, float] = (1.0, 3.0),
        recover_timeout: float = 30.0,
    ) -> None:
        self.cluster = cluster
        self.clock = clock
        self.rng = random.Random(seed)
        self.kinds = list(kinds)
        self.hold = hold
        self.quiet = quiet
        self.recover_timeout = recover_timeout
        self.events: list[FaultEvent] = []
        self.problems: list[str] = []  # things that went wrong with the cluster itself
        # Promises broken under a disk or clock fault, as (family, what): a member kept serving
        # on a failing disk, started on damage it did not name, a TTL key expired early or
        # lived on. Each fails the run.
        self.violations: list[tuple[str, str]] = []

    # ---------------------------------------------------------------- schedule
    async def run(self, until: float) -> None:
        """Inject faults until the wall-clock time `until` (and at least one of each kind)."""
        if not self.kinds:
            await asyncio.sleep(max(0.0, until - self.clock.now()))
            return
        order = list(self.kinds)
        self.rng.shuffle(order)
        await asyncio.sleep(self.rng.uniform(*self.quiet))
        i = 0
        while True:
            if i < len(order):
                kind = order[i]
            elif self.clock.now() >= until:
                return
            else:
                kind = self.rng.choice(self.kinds)
            i += 1
            ev = FaultEvent(kind, self.clock.now())
            self.events.append(ev)
            try:
                await getattr(self, "_" + kind.replace("-", "_"))(ev)
            except (ClusterError, FaultControlError, FaultFSError, OSError) as e:
                ev.notes.append(f"fault could not complete: {e}")
            ev.end = self.clock.now()
            await self.recover(ev)
            if self.clock.now() >= until and i >= len(order):
                return
            await asyncio.sleep(self.rng.uniform(*self.quiet))

    def _hold(self) -> float:
        return round(self.rng.uniform(*self.hold), 2)

    async def recover(self, ev: FaultEvent | None) -> bool:
        """Heal every link, resume and restart every member, wait until the cluster is healthy."""
        c = self.cluster
        t0 = self.clock.now()
        for m in c.slots:
            m.resume()
        await self.heal_links()
        for m in c.slots:
            if not m.running:
                c.restart(m)
        ok = await c.wait_healthy(self.recover_timeout)
        if ok:
            with contextlib.suppress(ClusterError):
                await c.learn_ids(5.0)
        took = self.clock.now() - t0
        if ev is not None:
            ev.recovered_in = round(took, 2) if ok else None
            if not ok:
                msg = f"cluster not healthy {self.recover_timeout:.0f}s after healing {ev.kind}"
                ev.notes.append(msg)
                self.problems.append(msg)
                # Carry on, but give it longer: the next fault on a sick cluster tells little.
                await c.wait_healthy(self.recover_timeout)
        return ok

    async def heal_links(self) -> None:
        for m in self.cluster.slots:
            if m.running and not m.paused:
                with contextlib.suppress(FaultControlError):
                    await asyncio.to_thread(clear_faults, m.peer_url, 3.0, m.peer_ssl())

    async def _block(self, a: list[MemberProc], b: list[MemberProc]) -> None:
        """Cut every link between groups `a` and `b` (set on both sides)."""
        for side, other in ((a, b), (b, a)):
            ids = frozenset(m.member_id for m in other if m.member_id)
            for m in side:
                if m.running and not m.paused:
                    await asyncio.to_thread(
                        set_faults, m.peer_url, Faults(blocked=ids), 3.0, m.peer_ssl()
                    )

    async def _leader(self, ev: FaultEvent) -> MemberProc | None:
        lead = await self.cluster.wait_leader(10.0)
        if lead is None:
            ev.notes.append("no leader found within 10s")
        return lead

    def _followers(self, lead: MemberProc | None) -> list[MemberProc]:
        return [m for m in self.cluster.slots if m is not lead and m.running]

    def _kill(self, m: MemberProc, why: str) -> None:
        m.note(f"kill -9 ({why})")
        m.kill()

    # ---------------------------------------------------------------- the faults
    async def _kill_leader(self, ev: FaultEvent) -> None:
        lead = await self._leader(ev)
        if lead is None:
            return
        hold = self._hold()
        ev.what = f"kill -9 leader {lead.name}, down {hold}s"
        self._kill(lead, ev.kind)
        await asyncio.sleep(hold)

    async def _kill_follower(self, ev: FaultEvent) -> None:
        lead = await self._leader(ev)
        victim = self.rng.choice(self._followers(lead))
        hold = self._hold()
        ev.what = f"kill -9 follower {victim.name}, down {hold}s"
        self._kill(victim, ev.kind)
        await asyncio.sleep(hold)

    async def _kill_majority(self, ev: FaultEvent) -> None:
        slots = self.cluster.slots
        victims = self.rng.sample(slots, len(slots) // 2 + 1)
        hold = self._hold()
        ev.what = f"kill -9 {', '.join(m.name for m in victims)}, down {hold}s"
        for m in victims:
            self._kill(m, ev.kind)
        await asyncio.sleep(hold)

    async def _pause(self, ev: FaultEvent) -> None:
        lead = await self._leader(ev)
        if lead is not None and self.rng.random() < 0.5:
            victim, role = lead, "leader"
        else:
            victim, role = self.rng.choice(self._followers(lead)), "follower"
        hold = self._hold()
        ev.what = f"SIGSTOP {role} {victim.name} for {hold}s"
        victim.note(f"SIGSTOP ({ev.kind})")
        victim.pause()
        await asyncio.sleep(hold)
        victim.note("SIGCONT")
        victim.resume()

    async def _partition_halves(self, ev: FaultEvent) -> None:
        slots = list(self.cluster.slots)
        self.rng.shuffle(slots)
        k = self.rng.randint(1, len(slots) // 2)
        a, b = slots[:k], slots[k:]
        hold = self._hold()
        ev.what = f"partition {_names(a)} | {_names(b)} for {hold}s"
        await self._block(a, b)
        await asyncio.sleep(hold)

    async def _partition_leader(self, ev: FaultEvent) -> None:
        lead = await self._leader(ev)
        if lead is None:
            return
        rest = [m for m in self.cluster.slots if m is not lead]
        hold = self._hold()
        ev.what = f"isolate leader {lead.name} for {hold}s"
        await self._block([lead], rest)
        await asyncio.sleep(hold)

    async def _partition_bridge(self, ev: FaultEvent) -> None:
        slots = list(self.cluster.slots)
        self.rng.shuffle(slots)
        half = len(slots) // 2
        a, bridge, b = slots[:half], slots[half], slots[half + 1 :]
        hold = self._hold()
        ev.what = f"bridge: {_names(a)} | {_names(b)}, {bridge.name} sees both, for {hold}s"
        await self._block(a, b)
        await asyncio.sleep(hold)

    async def _lossy_net(self, ev: FaultEvent) -> None:
        hold = self._hold()
        faults = Faults(drop=0.3, delay_ms=30.0)
        ev.what = f"every peer message: 30% dropped, +30 ms, for {hold}s"
        for m in self.cluster.slots:
            if m.running and not m.paused:
                await asyncio.to_thread(set_faults, m.peer_url, faults, 3.0, m.peer_ssl())
        await asyncio.sleep(hold)

    async def _truncate_wal(self, ev: FaultEvent) -> None:
        lead = await self._leader(ev)
        victim = self.rng.choice(self._followers(lead))
        self._kill(victim, ev.kind)
        what = cut_wal_tail(victim.wal_dir, self.rng)
        victim.note(f"torn tail: {what}")
        ev.what = f"kill -9 follower {victim.name}, {what}"
        # The rest of the cluster must have a leader before it comes back (see README: it may
        # have lost entries it had acknowledged, which the others still hold).
        await self.cluster.wait_leader(10.0)
        await asyncio.sleep(self._hold() / 2)

    async def _member_replace(self, ev: FaultEvent) -> None:
        c = self.cluster
        slot = self.rng.randrange(len(c.slots))
        victim = c.slots[slot]
        if not victim.member_id:
            await c.learn_ids(10.0)
        victim.note(f"removing from the cluster ({ev.kind})")
        how = await c.remove_member(victim)
        code = await wait_until_exit(victim, 10.0)
        if code is None:
            ev.notes.append(f"removed member {victim.name} still running 10s after removal")
            self._kill(victim, "removed, still running")
        fresh = await c.add_member()
        c.start_joining(fresh, slot)
        exited = "exited by itself" if code is not None else "killed"
        ev.what = f"remove {victim.name} ({how}, {exited}), add {fresh.name} and start it"

    async def _snapshot_catchup(self, ev: FaultEvent) -> None:
        c = self.cluster
        lead = await self._leader(ev)
        victim = self.rng.choice(self._followers(lead))
        self._kill(victim, ev.kind)
        base = await c.raft_index()
        target = base + 2 * c.timing.snapshot_count + 50
        reached = await self._fill(target, timeout=60.0)
        top = await c.raft_index()
        ev.what = (
            f"kill -9 follower {victim.name} at index ~{base}, held down until index {top}"
            + ("" if reached else f" (wanted {target})")
        )
        c.restart(victim)
        ok = await c.wait_healthy(self.recover_timeout)
        used = snapshot_used_since_start(victim.log_path)
        ev.notes.append(
            "caught up from a snapshot"
            if used
            else "did not catch up from a snapshot" + ("" if ok else " (and did not recover)")
        )

    async def _power_cut(self, ev: FaultEvent) -> None:
        await diskfaults.power_cut(self, ev)

    async def _disk_error(self, ev: FaultEvent) -> None:
        await diskfaults.disk_error(self, ev)

    async def _disk_full(self, ev: FaultEvent) -> None:
        await diskfaults.disk_full(self, ev)

    async def _slow_disk(self, ev: FaultEvent) -> None:
        await diskfaults.slow_disk(self, ev)

    async def _bit_flip(self, ev: FaultEvent) -> None:
        await diskfaults.bit_flip(self, ev)

    async def _clock_jump(self, ev: FaultEvent) -> None:
        await clockfaults.clock_jump(self, ev)

    async def _fill(self, target: int, timeout: float) -> bool:
        """Write filler keys (outside the checked key space) until the index reaches
        `target`."""
        c = self.cluster
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        done = asyncio.Event()

        async def writer(n: int) -> None:
            i = 0
            while not done.is_set() and loop.time() < deadline:
                live = [m for m in c.slots if m.running and not m.paused]
                if not live:
                    await asyncio.sleep(0.2)
                    continue
                m = live[(n + i) % len(live)]
                i += 1
                url = f"{m.client_url}/v2/keys/torture-fill/{n}"
                try:
                    async with c.http.put(
                        url, data={"value": str(i)}, timeout=aiohttp.ClientTimeout(total=3)
                    ) as r:
                        await r.read()
                except (aiohttp.ClientError, TimeoutError, OSError):
                    await asyncio.sleep(0.1)

        writers = [asyncio.create_task(writer(n)) for n in range(6)]
        try:
            while loop.time() < deadline:
                if await c.raft_index() >= target:
                    return True
                await asyncio.sleep(0.3)
            return False
        finally:
            done.set()
            await asyncio.gather(*writers, return_exceptions=True)


def _names(ms: list[MemberProc]) -> str:
    return ",".join(m.name for m in ms)


def cut_wal_tail(wal_dir: Path, rng: random.Random) -> str:
    """Cut 1..MAX_WAL_CUT bytes off the end of the data in the newest WAL segment (segments are
    preallocated, so the end of the data is the last nonzero byte, not the file size)."""
    segments = sorted(p for p in wal_dir.glob("*.wal"))
    if not segments:
        return "no WAL segment to cut"
    newest = segments[-1]
    data, _size = read_written(str(newest))
    end = last_nonzero(data) + 1
    if end <= 0:
        return f"{newest.name} holds no data"
    cut = rng.randint(1, min(MAX_WAL_CUT, end))
    os.truncate(newest, end - cut)
    return f"cut {cut} bytes off {newest.name} (data ended at byte {end})"


def snapshot_used_since_start(log_path: Path) -> bool:
    """Whether the member installed a snapshot from the leader since its last start."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return False
    last_start = text.rfind("==== torture: start #")
    return SNAPSHOT_APPLIED_LINE in text[max(0, last_start) :]
