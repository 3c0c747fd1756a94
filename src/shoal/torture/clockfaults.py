"""The clock fault of the nemesis: `clock-jump` steps one member's wall clock (the leader's half
the time) forward or back by 5 s to an hour for the hold, then back to true time. Members run
with libfaketime (`clocks`), which `shoal torture` sets up when clock-jump is asked for.

What etcd promises, and what is checked. Raft and linearizability do not read the wall clock
(elections and timeouts run on the monotonic clock): the run's linearizability and convergence
checks must pass whatever the clocks say. TTLs do read it, in two places (etcd 3.4's v2 API, and
shoal's): the member that receives `PUT ?ttl=T` fixes the expire time as its wall clock + T, and
keys expire when the leader, every 500 ms, proposes its wall clock (SYNC) and that passes the
expire time. So with clocks in step a key lives T to T + about a second; a leader whose clock
runs J seconds ahead expires keys up to J early (etcd's documented dependence on the leader's
clock, not a bug); one J behind keeps them up to J longer. The fault writes a probe key with a
3 s TTL through a member whose clock is right and watches when it goes:

- it must not go before 3 s unless the leader's clock was jumped forward;
- it must go within a few seconds of the leader's clock being right again (no key lives on
  forever after a clock fault).

A breach fails the run ("clock faults"). When leadership moved during the fault the probe says
nothing (the clock that expires keys changed hands) and that is noted instead.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import aiohttp

from shoal.torture.clocks import set_offset

if TYPE_CHECKING:
    from shoal.torture.nemesis import FaultEvent, Nemesis

JUMPS = (5, 60, 600, 3600)  # seconds, either way
PROBE_TTL = 3
# A SYNC every 500 ms, its commit, the offset file read once a second, and a busy machine.
EXPIRY_SLACK = 5.0
POLL = 0.25


async def clock_jump(nem: Nemesis, ev: FaultEvent) -> None:
    c = nem.cluster
    lead = await nem._leader(ev)
    if lead is not None and nem.rng.random() < 0.5:
        victim, role = lead, "leader"
    else:
        victim, role = nem.rng.choice(nem._followers(lead)), "follower"
    jump = nem.rng.choice(JUMPS) * nem.rng.choice((1, -1))
    hold = nem._hold()
    others = [m for m in c.slots if m is not victim and m.running]
    writer = nem.rng.choice(others)
    if victim.clock_file is None:
        ev.notes.append(f"{victim.name} has no fake clock")
        return
    key = f"{writer.client_url}/v2/keys/torture-ttl/{len(nem.events)}"
    loop = asyncio.get_running_loop()
    wrote = await _put_ttl(c.http, key)
    t0 = loop.time()
    victim.note(f"clock-jump: wall clock {jump:+d}s")
    set_offset(victim.clock_file, jump)
    ev.what = f"{role} {victim.name}'s wall clock {jump:+d}s for {hold}s"
    gone_at: float | None = None
    end_hold = t0 + hold
    try:
        while loop.time() < end_hold:
            if gone_at is None and wrote and not await _exists(c.http, key):
                gone_at = loop.time() - t0
            await asyncio.sleep(POLL)
    finally:
        set_offset(victim.clock_file, 0)
        victim.note("clock-jump: wall clock back to true time")
    deadline = loop.time() + PROBE_TTL + EXPIRY_SLACK
    while wrote and gone_at is None and loop.time() < deadline:
        if not await _exists(c.http, key):
            gone_at = loop.time() - t0
            break
        await asyncio.sleep(POLL)
    if not wrote:
        ev.notes.append("TTL probe: could not write it")
        return
    lead_after = await c.leader()
    seen = "never went" if gone_at is None else f"went after {gone_at:.1f}s"
    ev.notes.append(f"TTL probe ({PROBE_TTL}s, written through {writer.name}): {seen}")
    if lead is None or lead_after is not lead:
        ev.notes.append("leadership moved during the fault: the probe proves nothing")
        return
    leader_ahead = role == "leader" and jump > 0
    if gone_at is not None and gone_at < PROBE_TTL - 0.25 and not leader_ahead:
        nem.violations.append(
            ("clock", f"{ev.what}: a {PROBE_TTL}s TTL key expired after {gone_at:.1f}s")
        )
    if gone_at is None:
        nem.violations.append(
            (
                "clock",
                f"{ev.what}: a {PROBE_TTL}s TTL key still there "
                f"{PROBE_TTL + EXPIRY_SLACK:.0f}s after the clocks were right again",
            )
        )


async def _put_ttl(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.put(
            url, data={"value": "probe", "ttl": str(PROBE_TTL)}, timeout=aiohttp.ClientTimeout(3)
        ) as r:
            await r.read()
            return r.status in (200, 201)
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False


async def _exists(http: aiohttp.ClientSession, url: str) -> bool:
    """Whether the key is there (a quorum read; True when the member does not answer, so a
    missed answer never counts as expiry)."""
    try:
        async with http.get(url + "?quorum=true", timeout=aiohttp.ClientTimeout(3)) as r:
            await r.read()
            return r.status != 404
    except (aiohttp.ClientError, TimeoutError, OSError):
        return True
