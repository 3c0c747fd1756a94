"""The members of one torture run as a whole: boot, who leads, health, membership changes.

`slots` is the list clients and the nemesis index: slot i holds the member currently playing
that part. A member replaced by the nemesis gives its slot to the fresh member, so the clients
that talked to the old one talk to the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import aiohttp

from shoal.faultfs.mount import FaultMount
from shoal.tls import TLSInfo, client_context
from shoal.tls.certs import CertAuthority
from shoal.torture.clocks import faketime_env
from shoal.torture.procs import (
    MEMBER_COMMAND,
    MemberProc,
    Timing,
    address_for,
    free_port,
    get_json,
    member_state,
    store_hash,
)


class ClusterError(Exception):
    """The cluster could not be brought to the state asked for (the message says why)."""


class Cluster:
    def __init__(
        self,
        workdir: Path,
        nodes: int,
        timing: Timing,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
        fault_disks: bool = False,
        fake_clocks: bool = False,
        tls: bool = False,
    ) -> None:
        self.workdir = workdir
        # --tls: a CA for the run; every member gets a certificate for its address, peers
        # authenticate each other with them, clients verify members against the CA.
        self.ca = CertAuthority.create(str(workdir / "tls"), "shoal torture CA") if tls else None
        self.client_ssl = client_context(self.ca.cert_file) if self.ca is not None else None
        self.fault_disks = fault_disks
        self.fake_clocks = fake_clocks
        self.command = list(command or MEMBER_COMMAND)
        self.timing = timing
        self.token = f"torture-{workdir.name}"
        self.env = dict(env or {})
        self._made = 0
        self.retired: list[MemberProc] = []  # removed members (kept for their logs)
        self.slots: list[MemberProc] = []
        try:
            for _ in range(nodes):
                self.slots.append(self._new_member())
        except BaseException:
            self.kill_everything()  # unmounts the disks made so far
            raise
        self.session: aiohttp.ClientSession | None = None

    def _new_member(self) -> MemberProc:
        slot = self._made
        self._made += 1
        host = address_for(slot)
        name = f"n{slot + 1}"
        disk = None
        data_dir = self.workdir / "data" / name
        if self.fault_disks:
            # Each member on a fault file system of its own, so a power cut hits one member.
            disk = FaultMount(self.workdir / "disks" / name, self.workdir / "mnt" / name, slot)
            disk.start()
            data_dir = disk.mountpoint / "data"
        env = dict(self.env)
        clock_file = None
        if self.fake_clocks:
            clock_file = self.workdir / "clocks" / name
            env.update(faketime_env(clock_file))
        tls = None
        if self.ca is not None:
            cert, key = self.ca.issue(str(self.workdir / "tls"), name, name, [host])
            tls = TLSInfo(cert, key, self.ca.cert_file)
        return MemberProc(
            tls=tls,
            name=name,
            host=host,
            client_port=free_port(host),
            peer_port=free_port(host),
            data_dir=data_dir,
            log_path=self.workdir / "logs" / f"{name}.log",
            extra_env=env,
            command=self.command,
            disk=disk,
            clock_file=clock_file,
        )

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self.session is not None, "Cluster.open() first"
        return self.session

    async def open(self) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.client_ssl or True)
        )

    def initial_cluster(self, members: list[MemberProc] | None = None) -> str:
        return ",".join(f"{m.name}={m.peer_url}" for m in (members or self.slots))

    # ---------------------------------------------------------------- processes
    def start_all(self) -> None:
        ic = self.initial_cluster()
        for m in self.slots:
            m.start(ic, "new", self.token, self.timing)

    def restart(self, m: MemberProc) -> None:
        """Start a member again on its data dir (the flags are ignored once it has one)."""
        m.note("restarted by the nemesis")
        m.start(self.initial_cluster(), "new", self.token, self.timing)

    def kill_everything(self) -> None:
        for m in [*self.slots, *self.retired]:
            m.resume()
            m.kill()
        for m in [*self.slots, *self.retired]:
            if m.disk is not None:
                m.disk.stop()

    async def close(self) -> None:
        self.kill_everything()
        if self.session is not None:
            await self.session.close()
            self.session = None

    def running(self) -> list[MemberProc]:
        return [m for m in self.slots if m.running]

    # ---------------------------------------------------------------- observing
    async def states(self) -> dict[str, dict[str, object] | None]:
        got = await asyncio.gather(*(member_state(self.http, m) for m in self.slots))
        return {m.name: s for m, s in zip(self.slots, got, strict=True)}

    async def leader(self) -> MemberProc | None:
        """The member that says it leads (None when none does right now)."""
        states = await self.states()
        for m in self.slots:
            s = states[m.name]
            if s is not None and s.get("state") == "StateLeader":
                return m
        return None

    async def wait_leader(self, timeout: float) -> MemberProc | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            m = await self.leader()
            if m is not None:
                return m
            await asyncio.sleep(0.1)
        return None

    async def learn_ids(self, timeout: float = 30.0) -> None:
        """Fill in each member's id from GET /v2/members (matched by peer URL)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            listing = await self.members_listing()
            if listing is not None:
                by_url = {
                    str(u): int(str(d["id"]), 16)
                    for d in listing
                    for u in _as_list(d.get("peerURLs"))
                }
                for m in self.slots:
                    m.member_id = by_url.get(m.peer_url, m.member_id)
                if all(m.member_id for m in self.slots):
                    return
            if loop.time() > deadline:
                raise ClusterError("the members never listed each other in /v2/members")
            await asyncio.sleep(0.2)

    async def members_listing(self) -> list[dict[str, object]] | None:
        for m in self.running():
            if m.paused:
                continue
            try:
                status, body = await get_json(self.http, m.client_url + "/v2/members", 2.0)
            except (aiohttp.ClientError, TimeoutError, OSError):
                continue
            if status == 200 and isinstance(body, dict):
                members = body.get("members")
                if isinstance(members, list):
                    return members
        return None

    async def write_and_read_ok(self, m: MemberProc) -> bool:
        """A write through `m`, then a quorum read through it that sees the write. The write
        also makes the leader send an append to every member, which is how a member that lost
        the tail of its log gets it back (see tests/torture/test_regressions.py)."""
        if not m.running or m.paused:
            return False
        url = f"{m.client_url}/v2/keys/torture-health/{m.name}"
        timeout = aiohttp.ClientTimeout(total=3.0)
        try:
            async with self.http.put(url, data={"value": str(m.starts)}, timeout=timeout) as r:
                await r.read()
                if r.status not in (200, 201):
                    return False
            status, body = await get_json(self.http, url + "?quorum=true", 3.0)
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False
        node = body.get("node") if isinstance(body, dict) else None
        return status == 200 and isinstance(node, dict) and node.get("value") == str(m.starts)

    async def healthy(self) -> bool:
        """Every slot's member runs, one leader is agreed on, and each takes a write and
        serves a quorum read."""
        if not all(m.running and not m.paused for m in self.slots):
            return False
        states = await self.states()
        if any(s is None for s in states.values()):
            return False
        leaders = {_leader_of(s) for s in states.values() if s is not None}
        if len(leaders) != 1 or "" in leaders:
            return False
        oks = await asyncio.gather(*(self.write_and_read_ok(m) for m in self.slots))
        return all(oks)

    async def wait_healthy(self, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if await self.healthy():
                return True
            await asyncio.sleep(0.2)
        return False

    async def hashes(self) -> dict[str, tuple[int, str] | None]:
        got = await asyncio.gather(*(store_hash(self.http, m) for m in self.slots))
        return {m.name: h for m, h in zip(self.slots, got, strict=True)}

    async def raft_index(self) -> int:
        """The highest store index any running member reports (0 when none answers)."""
        got = await self.hashes()
        return max((h[0] for h in got.values() if h is not None), default=0)

    # ---------------------------------------------------------------- membership
    async def _members_call(
        self, method: str, path: str, body: dict[str, object] | None, avoid: MemberProc | None
    ) -> tuple[int, str]:
        """One /v2/members request to the first running member (other than `avoid`) that
        answers; (status, body text). (0, reason) when none answered."""
        last = "no running member to ask"
        for m in self.slots:
            if m is avoid or not m.running or m.paused:
                continue
            url = m.client_url + "/v2/members" + path
            data = None if body is None else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"} if body is not None else {}
            try:
                async with self.http.request(
                    method, url, data=data, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
                ) as r:
                    return r.status, (await r.read()).decode("utf-8", "replace")
            except (aiohttp.ClientError, TimeoutError, OSError) as e:
                last = f"{url}: {e!r}"
        return 0, last

    async def remove_member(self, victim: MemberProc, timeout: float = 30.0) -> str:
        """DELETE /v2/members/<id>, retried while the cluster refuses (not enough started
        members, a leader change); returns how it went, raises ClusterError on failure."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            status, text = await self._members_call(
                "DELETE", f"/{victim.member_id:x}", None, victim
            )
            if status == 204:
                return "removed"
            if status == 410 or status == 404:
                return f"already gone ({status})"
            if loop.time() > deadline:
                raise ClusterError(f"could not remove {victim.name}: {status} {text.strip()}")
            await asyncio.sleep(0.5)

    async def add_member(self, timeout: float = 30.0) -> MemberProc:
        """POST /v2/members for a fresh member (new name, address, data dir); returns it, not
        yet started."""
        fresh = self._new_member()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            status, text = await self._members_call(
                "POST", "", {"peerURLs": [fresh.peer_url]}, None
            )
            if status == 201:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    fresh.member_id = int(json.loads(text)["id"], 16)
                return fresh
            if status == 409:  # the add went through on an earlier try that timed out
                return fresh
            if loop.time() > deadline:
                if fresh.disk is not None:
                    fresh.disk.stop()
                raise ClusterError(f"could not add a member: {status} {text.strip()}")
            await asyncio.sleep(0.5)

    def start_joining(self, fresh: MemberProc, slot: int) -> None:
        """Start `fresh` with --initial-cluster-state existing in `slot`."""
        old = self.slots[slot]
        self.slots[slot] = fresh
        self.retired.append(old)
        fresh.start(self.initial_cluster(), "existing", self.token, self.timing)


def _as_list(v: object) -> list[object]:
    return list(v) if isinstance(v, list) else []


def _leader_of(stats: dict[str, object]) -> str:
    """The leader a member's /v2/stats/self names ("" for none)."""
    info = stats.get("leaderInfo")
    return str(info.get("leader") or "") if isinstance(info, dict) else ""
