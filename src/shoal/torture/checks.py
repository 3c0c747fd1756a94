"""What a torture run checks once the faults are over and the cluster is healed.

1. Linearizable: the whole history, key by key, with `shoal.lincheck` (a compare-and-set
   register per key; a queue is a register whose appends concatenate, read sorted). Final quorum
   reads of every key, made after the clients stopped, are part of that history, so a write that
   was acknowledged and then lost makes the history illegal.
2. Acknowledged writes present: every POST that was acknowledged is in its queue afterwards,
   under the key etcd answered with and with its value, and no queue holds a value nobody
   posted; every register's final value was written by someone (a write or CAS that was
   acknowledged or whose outcome is unknown).
3. Converged: every member reports the same store index and key-space hash (GET /_shoal/hash)
   within a deadline, once the cluster is healed and idle.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from shoal.lincheck import Verdict, check_kv
from shoal.torture.cluster import Cluster
from shoal.torture.workload import Clock, OpRecord


@dataclass(slots=True)
class CheckOutcome:
    name: str
    ok: bool
    summary: str
    details: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FinalState:
    registers: dict[str, str | None]  # key -> value (None: missing)
    queues: dict[str, list[tuple[str, str]]]  # dir -> [(child key, value)] in key order
    unreadable: list[str]  # keys no member would answer for


async def final_reads(
    cluster: Cluster, keys: set[tuple[str, str]], clock: Clock, history: list[OpRecord]
) -> FinalState:
    """Quorum-read every key used, through the running members in turn; each read is added to
    `history` (client -1) so the linearizability check covers the final state."""
    state = FinalState({}, {}, [])
    sem = asyncio.Semaphore(8)

    async def one(kind: str, key: str) -> None:
        query = "?quorum=true" + ("&recursive=true&sorted=true" if kind == "q" else "")
        async with sem:
            for attempt in range(30):
                members = [m for m in cluster.slots if m.running and not m.paused]
                if not members:
                    break
                m = members[attempt % len(members)]
                url = m.client_url + "/v2/keys" + quote(key) + query
                call = clock.now()
                try:
                    async with cluster.http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
                        body: Any = await r.json(content_type=None)
                        status = r.status
                except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
                    await asyncio.sleep(0.3)
                    continue
                ret = clock.now()
                missing = status == 404 and isinstance(body, dict) and body.get("errorCode") == 100
                if status != 200 and not missing:
                    await asyncio.sleep(0.3)
                    continue
                node = None if missing else body.get("node", {})
                rec = OpRecord(-1, "read", key, call, ret, "ok", member=m.name, status=status)
                if kind == "q":
                    children = [] if node is None else list(node.get("nodes") or [])
                    state.queues[key] = [(str(c.get("key")), str(c.get("value"))) for c in children]
                    rec.how = "final-read-dir"
                    rec.result = (
                        None if node is None else "".join(f"{v};" for _, v in state.queues[key])
                    )
                else:
                    value = None if node is None else node.get("value")
                    state.registers[key] = value
                    rec.how, rec.result = "final-read", value
                history.append(rec)
                return
        state.unreadable.append(key)

    await asyncio.gather(*(one(kind, key) for kind, key in sorted(keys)))
    return state


def check_linearizable(history: list[OpRecord], timeout: float) -> tuple[CheckOutcome, Verdict]:
    records = [r for r in (op.checker_record() for op in history) if r is not None]
    verdict = check_kv(records, timeout=timeout)
    if verdict.ok:
        return CheckOutcome("linearizable", True, verdict.summary), verdict
    if verdict.result.value == "unknown":
        return CheckOutcome("linearizable", False, "undecided: " + verdict.summary), verdict
    return CheckOutcome("linearizable", False, verdict.summary, verdict.text.splitlines()), verdict


def check_acknowledged(history: list[OpRecord], final: FinalState) -> CheckOutcome:
    problems: list[str] = []
    acked = 0
    posted: dict[str, set[str]] = {}
    for op in history:
        if op.client < 0:
            continue
        if op.op == "append" and op.value is not None:
            posted.setdefault(op.key, set()).add(op.value[:-1])
            if op.outcome == "ok":
                acked += 1
                children = dict(final.queues.get(op.key, []))
                got = children.get(op.detail)
                if op.key in final.unreadable:
                    continue
                if got is None:
                    problems.append(
                        f"acknowledged POST {op.value[:-1]!r} to {op.key} (created {op.detail}, "
                        f"client {op.client} via {op.member}) is missing afterwards"
                    )
                elif got != op.value[:-1]:
                    problems.append(
                        f"{op.detail} holds {got!r}, but the acknowledged POST stored "
                        f"{op.value[:-1]!r}"
                    )
    for key, listing in final.queues.items():
        for child, value in listing:
            if value not in posted.get(key, set()):
                problems.append(f"{child} holds {value!r}, which nobody posted")
    written: dict[str, set[str]] = {}
    for op in history:
        if op.client >= 0 and op.op in ("write", "cas") and op.outcome in ("ok", "unknown"):
            assert op.value is not None
            written.setdefault(op.key, set()).add(op.value)
    for key, final_value in final.registers.items():
        if final_value is not None and final_value not in written.get(key, set()):
            problems.append(f"{key} holds {final_value!r}, which no write or CAS stored")
    for key in final.unreadable:
        problems.append(f"{key}: no member answered a quorum read after healing")
    summary = (
        f"{acked} acknowledged appends in {len(final.queues)} queues, "
        f"{len(final.registers)} registers read back"
    )
    if problems:
        return CheckOutcome(
            "acknowledged writes", False, f"{len(problems)} problem(s); " + summary, problems
        )
    return CheckOutcome("acknowledged writes", True, summary + ": all present")


async def check_converged(cluster: Cluster, timeout: float) -> CheckOutcome:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: dict[str, tuple[int, str] | None] = {}
    while True:
        last = await cluster.hashes()
        values = set(last.values())
        if None not in values and len(values) == 1:
            index, digest = next(iter(values))  # type: ignore[misc]
            return CheckOutcome(
                "converged", True, f"{len(last)} members at index {index}, hash {digest}"
            )
        if loop.time() > deadline:
            break
        await asyncio.sleep(0.5)
    shown = ", ".join(
        f"{name}: " + ("no answer" if h is None else f"index {h[0]} hash {h[1]}")
        for name, h in last.items()
    )
    return CheckOutcome("converged", False, f"members differ after {timeout:.0f}s: {shown}")
