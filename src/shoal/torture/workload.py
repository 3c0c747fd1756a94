"""The clients: concurrent register and queue operations over the v2 HTTP API, recorded.

Each client talks to one slot's member (several clients per member) and loops: quorum read,
write, compare-and-swap (by prevValue, by prevIndex, or create with prevExist=false), in-order
append (POST), quorum read of a queue (sorted, recursive). Every request is recorded with its
wall-clock call and return times as an `OpRecord`.

Keys are used for one "epoch" (a few seconds) and then replaced by fresh ones, as Jepsen's
independent keys: each key's history stays short, so checking it stays fast however long the
run, and an operation whose outcome is unknown burdens only its key.

Values are unique (`<client>.<n>`), so a value stands for the one write that stored it, and the
index a client read with it names the same state: a CAS by prevIndex is then checked as a CAS
on that value (see `OpRecord`).

Outcomes: "ok" (2xx; a quorum read of a missing key, etcd error 100, is an ok read of nothing);
"fail" (a CAS that etcd evaluated and refused, errors 100/101/105: an observation); "error"
(the request surely did nothing: refused connection, refused request; left out of the check);
"unknown" (timeout, connection lost after sending, 5xx: it may take effect at any later time).
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from shoal.torture.cluster import Cluster

KEY_ROOT = "/torture"

# etcd v2 error codes a CAS or read can answer with (etcd's error.go).
KEY_NOT_FOUND = 100
TEST_FAILED = 101
NODE_EXIST = 105


class Clock:
    """Wall-clock seconds that never go backwards within a run (wall time at the start plus
    monotonic time since), so call/return order is right even if the system clock is set."""

    def __init__(self) -> None:
        self.wall0 = time.time()
        self.mono0 = time.monotonic()

    def now(self) -> float:
        return self.wall0 + (time.monotonic() - self.mono0)


@dataclass(slots=True)
class OpRecord:
    """One request. `op`, `key`, `value`, `expected`, `result` are in the checker's terms
    (`shoal.lincheck.KvRecord`): an append stores "<value>;" and a queue read returns the
    children's values each followed by ";", in key order. `how` says how the request was made
    (read, put, cas-prevValue, cas-prevIndex, create, post, read-dir), `member` where it went,
    `detail` what came back (created key, index, error), `status` the HTTP status (0: none).
    """

    client: int
    op: str
    key: str
    call: float
    ret: float | None = None
    outcome: str = "unknown"
    value: str | None = None
    expected: str | None = None
    result: str | None = None
    how: str = ""
    member: str = ""
    status: int = 0
    detail: str = ""

    def checker_record(self) -> dict[str, Any] | None:
        """The record for `shoal.lincheck.check_kv`, or None when it tells nothing."""
        if self.outcome == "error":
            return None
        d = asdict(self)
        for extra in ("how", "member", "status", "detail"):
            d.pop(extra)
        if self.outcome == "unknown":
            d["ret"] = None
        return d

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Mix:
    """Relative weights of the operations."""

    read: int = 30
    write: int = 20
    cas: int = 25
    append: int = 12
    read_queue: int = 13


class Workload:
    def __init__(
        self,
        cluster: Cluster,
        clock: Clock,
        seed: int,
        clients_per_member: int = 3,
        op_timeout: float = 3.0,
        epoch_seconds: float = 8.0,
        registers: int = 3,
        queues: int = 2,
        mix: Mix = Mix(),
    ) -> None:
        self.cluster = cluster
        self.clock = clock
        self.seed = seed
        self.clients = clients_per_member * len(cluster.slots)
        self.op_timeout = op_timeout
        self.epoch_seconds = epoch_seconds
        self.registers = registers
        self.queues = queues
        self.mix = mix
        self.history: list[OpRecord] = []
        self.keys_used: set[tuple[str, str]] = set()  # (kind "r"/"q", key)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._start = 0.0

    def start(self) -> None:
        self._start = self.clock.now()
        self._tasks = [
            asyncio.create_task(self._client(i), name=f"client-{i}") for i in range(self.clients)
        ]

    async def stop(self) -> None:
        """Stop issuing; wait for requests in flight (each ends by its timeout)."""
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def key(self, kind: str, n: int) -> str:
        epoch = int((self.clock.now() - self._start) // self.epoch_seconds)
        key = f"{KEY_ROOT}/{kind}{n}.{epoch}"
        self.keys_used.add((kind, key))
        return key

    # ---------------------------------------------------------------- one client
    async def _client(self, cid: int) -> None:
        rng = random.Random(self.seed * 1000 + cid)
        async with client_session(self.cluster.client_ssl) as session:
            await self._loop(session, cid, rng)

    async def _loop(self, session: aiohttp.ClientSession, cid: int, rng: random.Random) -> None:
        known: dict[str, tuple[str, int]] = {}  # key -> (value, modifiedIndex) last seen
        seq = 0
        kinds = ["read", "write", "cas", "append", "read_queue"]
        weights = [getattr(self.mix, k) for k in kinds]
        while not self._stop.is_set():
            slots = self.cluster.slots
            member = slots[cid % len(slots)]
            kind = rng.choices(kinds, weights)[0]
            seq += 1
            value = f"{cid}.{seq}"
            if kind in ("read", "write", "cas"):
                key = self.key("r", rng.randrange(self.registers))
            else:
                key = self.key("q", rng.randrange(self.queues))
            rec = await self._one(session, member, cid, kind, key, value, known, rng)
            self.history.append(rec)
            if rec.outcome == "error" and rec.status == 0:
                # The member is down: do not spin on refused connections.
                await asyncio.sleep(0.1 + 0.1 * rng.random())

    async def _one(
        self,
        session: aiohttp.ClientSession,
        member: Any,
        cid: int,
        kind: str,
        key: str,
        value: str,
        known: dict[str, tuple[str, int]],
        rng: random.Random,
    ) -> OpRecord:
        url = member.client_url + "/v2/keys" + quote(key)
        method = "GET"
        form: dict[str, str] | None = None
        rec = OpRecord(client=cid, op="read", key=key, call=0.0, member=member.name)
        if kind == "read":
            rec.how, url = "read", url + "?quorum=true"
        elif kind == "read_queue":
            rec.how, url = "read-dir", url + "?quorum=true&recursive=true&sorted=true"
        elif kind == "write":
            rec.op, rec.how, rec.value, method = "write", "put", value, "PUT"
            form = {"value": value}
        elif kind == "append":
            rec.op, rec.how, rec.value, method = "append", "post", value + ";", "POST"
            form = {"value": value}
        else:
            rec.op, rec.value, method = "cas", value, "PUT"
            seen = known.get(key)
            if seen is None:
                rec.how, rec.expected = "create", None
                form = {"value": value, "prevExist": "false"}
            elif rng.random() < 0.5:
                rec.how, rec.expected = "cas-prevValue", seen[0]
                form = {"value": value, "prevValue": seen[0]}
            else:
                rec.how, rec.expected = "cas-prevIndex", seen[0]
                form = {"value": value, "prevIndex": str(seen[1])}
        sent: dict[str, bool] = {}
        rec.call = self.clock.now()
        try:
            async with session.request(
                method,
                url,
                data=form,
                timeout=aiohttp.ClientTimeout(total=self.op_timeout),
                trace_request_ctx=sent,
            ) as r:
                body = await r.json(content_type=None)
                rec.status = r.status
        except aiohttp.ClientConnectorError as e:
            if sent:  # a first copy went out before the connection broke
                rec.outcome, rec.detail = "unknown", f"sent, then connect: {e}"[:200]
            else:
                rec.ret, rec.outcome, rec.detail = self.clock.now(), "error", f"connect: {e}"
            return rec
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as e:
            # Sent (maybe), no answer: it may still take effect.
            rec.outcome, rec.detail = "unknown", f"{type(e).__name__}: {e}"[:200]
            return rec
        rec.ret = self.clock.now()
        _classify(rec, body, known)
        return rec


def client_session(ssl_context: ssl.SSLContext | None = None) -> aiohttp.ClientSession:
    """The session a client records through.

    aiohttp sends an idempotent request (PUT, GET) a second time on a new connection when the
    first one breaks after sending, so a "connection refused" may hide a first copy that was
    delivered (and applied). A trace marks each request whose headers went out: only a refused
    connection for a request never sent is a request that did nothing."""
    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(_mark_sent)
    connector = aiohttp.TCPConnector(ssl=ssl_context or True)  # --tls: the run's CA
    return aiohttp.ClientSession(trace_configs=[trace], connector=connector)


async def _mark_sent(
    session: aiohttp.ClientSession,
    ctx: Any,
    params: aiohttp.TraceRequestHeadersSentParams,
) -> None:
    if isinstance(ctx.trace_request_ctx, dict):
        ctx.trace_request_ctx["sent"] = True


def _classify(rec: OpRecord, body: Any, known: dict[str, tuple[str, int]]) -> None:
    status = rec.status
    node = body.get("node") if isinstance(body, dict) else None
    code = body.get("errorCode") if isinstance(body, dict) else None
    if 200 <= status < 300 and isinstance(node, dict):
        rec.outcome = "ok"
        index = int(node.get("modifiedIndex", 0))
        if rec.how == "read":
            rec.result = node.get("value")
            if isinstance(rec.result, str):
                known[rec.key] = (rec.result, index)
        elif rec.how == "read-dir":
            children = node.get("nodes") or []
            rec.result = "".join(f"{c.get('value')};" for c in children)
        elif rec.op == "append":
            rec.detail = str(node.get("key"))
        else:
            assert rec.value is not None
            known[rec.key] = (rec.value, index)
            rec.detail = f"index {index}"
        return
    rec.detail = f"{code}: {body.get('message') if isinstance(body, dict) else body}"[:200]
    if code == KEY_NOT_FOUND and rec.op == "read":
        rec.outcome, rec.result = "ok", None
        known.pop(rec.key, None)
    elif rec.op == "cas" and code in (KEY_NOT_FOUND, TEST_FAILED, NODE_EXIST):
        rec.outcome = "fail"  # the store evaluated the compare: an observation
        known.pop(rec.key, None)
    elif 400 <= status < 500:
        rec.outcome = "error"  # refused before it ran
    else:
        rec.outcome, rec.ret = "unknown", None  # 5xx (e.g. 300 request timed out)
