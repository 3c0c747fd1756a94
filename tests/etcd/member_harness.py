"""In-process clusters of `shoal.etcd.member.Member` on loopback, for tests of the member."""

from __future__ import annotations

from shoal.etcd.flags import load_config
from shoal.etcd.member import Member
from support import free_port, wait_until_async


class Cluster:
    def __init__(self, tmp: str, n: int = 3, **flags: str) -> None:
        self.tmp = tmp
        # 50/1000 ms: three members share one event loop, and on a loaded machine a loop stall
        # of 200 ms (the old election timeout) started elections mid-test.
        self.flags = {"heartbeat-interval": "50", "election-timeout": "1000", **flags}
        self.urls = {f"m{i}": f"http://127.0.0.1:{free_port()}" for i in range(1, n + 1)}
        self.members: dict[str, Member] = {}

    def config_args(self, name: str, state: str = "new") -> list[str]:
        ic = ",".join(f"{n}={u}" for n, u in self.urls.items())
        args = [
            "--name", name,
            "--data-dir", f"{self.tmp}/{name}",
            "--initial-advertise-peer-urls", self.urls[name],
            "--listen-peer-urls", self.urls[name],
            "--initial-cluster", ic,
            "--initial-cluster-state", state,
        ]  # fmt: skip
        for k, v in self.flags.items():
            args += [f"--{k}", v]
        return args

    async def start(self, name: str, state: str = "new") -> Member:
        m = await Member.open(load_config(self.config_args(name, state), {}))
        await m.start()
        self.members[name] = m
        return m

    async def start_all(self) -> None:
        for name in self.urls:
            await self.start(name)

    async def stop(self, name: str) -> None:
        m = self.members.pop(name)
        await m.stop()

    async def stop_all(self) -> None:
        for name in list(self.members):
            await self.stop(name)

    async def leader(self, timeout: float = 20.0) -> Member:
        async def has() -> Member | None:
            for m in self.members.values():
                if m.role == "leader":
                    return m
            return None

        return await wait_until_async(has, timeout, "a leader")
