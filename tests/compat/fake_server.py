"""A single-process stand-in for the member: ServerAPI implemented by applying each Request
straight to a Store, with one member, one term and a raft index that grows with every
proposal. Enough to drive the HTTP layer exactly as a one-member etcd would; nothing here is
replicated or durable.

`FakeMember.serve()` runs it with the real `ClientListener` in a background thread with its own
event loop, so synchronous tests can talk to it over loopback like to any etcd."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shoal.etcd.ids import cluster_id, member_id
from shoal.etcd.metrics import MemberMetrics
from shoal.etcd.server_iface import LeaderStats, MemberInfo, MembershipError, SelfStats
from shoal.etcd.v2http.api import ClientListener
from shoal.raft.types import StateType
from shoal.store import EtcdError, Event, Request, Store
from shoal.store import errors as codes
from shoal.store import request as rq

SYNC_INTERVAL = 0.5
"""etcd's leader proposes a SYNC every 500 ms when keys have a TTL."""


class FakeMember:
    def __init__(
        self,
        name: str = "fake",
        peer_urls: list[str] | None = None,
        client_urls: list[str] | None = None,
        token: str = "etcd-cluster",
    ) -> None:
        self.store = Store()
        self.metrics = MemberMetrics()
        self.name = name
        peers = peer_urls or ["http://127.0.0.1:2380"]
        self.client_urls = client_urls or ["http://127.0.0.1:2379"]
        self.member_id = member_id(peers, token)
        self.cluster_id = cluster_id([self.member_id])
        self._members: dict[int, MemberInfo] = {
            self.member_id: MemberInfo(self.member_id, name, peers, list(self.client_urls))
        }
        self._removed: set[int] = set()
        self.term = 2
        self.commit = 4
        self.leader = self.member_id
        self.healthy = True
        self.started = time.time()
        self.loop: asyncio.AbstractEventLoop | None = None
        """The loop serving this member (set by `serve`)."""
        # The store index etcd has reached when it is ready (membership and version writes).
        for i in range(3):
            self.store.set(f"/0/boot{i}", "x", now=time.time())

    # --- ServerAPI -------------------------------------------------------------------------
    def leader_id(self) -> int:
        return self.leader

    def raft_index(self) -> int:
        return self.commit

    def raft_term(self) -> int:
        return self.term

    async def do(self, req: Request) -> Event:
        if self.leader == 0:
            raise EtcdError(codes.RAFT_INTERNAL, "etcdserver: request timed out")
        if req.method not in (rq.PUT, rq.POST, rq.DELETE, rq.QGET):
            raise EtcdError(codes.RAFT_INTERNAL, "etcdserver: unknown method")
        self.commit += 1
        # Through the log codec, as every proposal is.
        ev = self.store.apply(Request.decode(req.encode()), time.time())
        assert ev is not None
        return ev

    async def linearizable_read(self) -> None:
        if self.leader == 0:
            raise EtcdError(codes.RAFT_INTERNAL, "etcdserver: request timed out")

    def members(self) -> list[MemberInfo]:
        return sorted(self._members.values(), key=lambda m: m.id)

    def is_removed(self, member_id: int) -> bool:
        return member_id in self._removed

    async def add_member(self, peer_urls: list[str], is_learner: bool = False) -> MemberInfo:
        for m in self._members.values():
            if set(m.peer_urls) & set(peer_urls):
                raise MembershipError(409, "membership: peerURL exists")
        mid = member_id(peer_urls, "etcd-cluster", int(time.time()))
        if mid in self._members:
            raise MembershipError(409, "membership: ID exists")
        m = MemberInfo(mid, "", list(peer_urls), [], is_learner)
        self._members[mid] = m
        self.commit += 1
        return m

    async def remove_member(self, member_id: int) -> None:
        if member_id in self._removed:
            raise MembershipError(410, "membership: ID removed")
        if member_id not in self._members:
            raise MembershipError(404, "membership: member not found")
        del self._members[member_id]
        self._removed.add(member_id)
        self.commit += 1

    async def update_member(self, member_id: int, peer_urls: list[str]) -> None:
        if member_id not in self._members:
            raise MembershipError(404, "membership: member not found")
        for m in self._members.values():
            if m.id != member_id and set(m.peer_urls) & set(peer_urls):
                raise MembershipError(409, "membership: peerURL exists")
        self._members[member_id].peer_urls = list(peer_urls)
        self.commit += 1

    def self_stats(self) -> SelfStats:
        role = StateType.LEADER if self.leader == self.member_id else StateType.FOLLOWER
        start = 1767225600.0  # 2026-01-01T00:00:00Z
        return SelfStats(self.name, self.member_id, role, start, self.leader, start, 0, 0)

    def leader_stats(self) -> LeaderStats | None:
        if self.leader != self.member_id:
            return None
        return LeaderStats(self.member_id, [])

    async def health(self) -> bool:
        return self.healthy and self.leader != 0

    # --- running ---------------------------------------------------------------------------
    async def _expire_loop(self) -> None:
        """The leader's SYNC, applied directly."""
        while True:
            await asyncio.sleep(SYNC_INTERVAL / 5)
            nxt = self.store.next_expiry()
            if nxt is not None and nxt <= time.time():
                self.commit += 1
                self.store.apply(Request.sync(time.time()), time.time())

    @contextmanager
    def serve(self, host: str = "127.0.0.1") -> Iterator[str]:
        """Serve the client API on a free loopback port in a background thread; yields its
        base URL. The loop and listener are shut down however the block ends."""
        loop = self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        box: dict[str, Any] = {}

        async def main() -> None:
            listener = ClientListener(self, [f"http://{host}:0"])
            try:
                await listener.start()
                self.client_urls[:] = listener.bound_urls
                self._members[self.member_id].client_urls = list(listener.bound_urls)
                box["url"] = listener.bound_urls[0]
                expire = asyncio.ensure_future(self._expire_loop())
                box["stop"] = stop = asyncio.Event()
                ready.set()
                await stop.wait()
                expire.cancel()
            except BaseException as e:
                box["error"] = e
                ready.set()
            finally:
                await listener.stop()

        t = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
        t.start()
        try:
            if not ready.wait(20):
                raise RuntimeError("fake member did not start in 20 s")
            if "error" in box:
                raise box["error"]
            yield str(box["url"])
        finally:
            stop = box.get("stop")
            if stop is not None:
                loop.call_soon_threadsafe(stop.set)
            t.join(20)
            loop.close()


def main() -> None:
    """`python fake_server.py [--uvloop]`: serve on a free loopback port, print the base URL,
    run until killed (for benchmarks that keep the client in another process)."""
    import sys

    if "--uvloop" in sys.argv:
        import uvloop

        uvloop.install()
    with FakeMember().serve() as url:
        print(url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
