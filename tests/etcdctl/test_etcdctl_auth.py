"""user, role and auth commands side by side: the same scenario runs once with etcdctl and once
with shoal etcdctl from the same (empty) auth state; every step must look the same."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from side_by_side import Run, run_real, run_shoal, run_shoal_inprocess, same

from shoal.client import AsyncClient, ClientError
from shoal.client.auth import AuthAPI
from support.cluster import Target

ROOT = ["-u", "root:rootpw"]

SCENARIO: list[list[str]] = [
    ["user", "list"],
    ["role", "list"],
    ["auth", "enable"],  # no root user yet
    ["user", "add", "bob:pw"],
    ["user", "add", "bob:pw"],
    ["user", "get", "bob"],
    ["user", "get", "nobody"],
    ["role", "add", "r1"],
    ["role", "add", "r1"],
    ["role", "add", "r2"],
    ["role", "get", "r1"],
    ["role", "grant", "r1", "--path", "/foo/*", "--rw"],
    ["role", "grant", "r1", "--path", "/foo/*", "--rw"],
    ["role", "grant", "r1", "--path", "/bar", "--read"],
    ["role", "grant", "r1", "--path", "/foo/*", "--read", "--write"],
    ["role", "grant", "r1", "--path", "foo"],
    ["role", "grant", "r1", "--path", "/a/../b/", "--read"],
    ["role", "grant", "r1"],
    ["role", "get", "r1"],
    ["user", "grant", "bob", "--roles", "r1", "--roles", "r2"],
    ["user", "grant", "bob", "--roles", "r1"],
    ["user", "grant", "bob"],
    ["user", "get", "bob"],
    ["user", "list"],
    ["user", "revoke", "bob", "--roles", "r2"],
    ["user", "get", "bob"],
    ["role", "revoke", "r1", "--path", "/bar", "--read"],
    ["role", "revoke", "r1", "--path", "/bar", "--read"],
    ["role", "get", "r1"],
    ["user", "add", "root:rootpw"],
    ["auth", "enable"],
    ["user", "list"],  # now needs credentials
    [*ROOT, "user", "list"],
    [*ROOT, "role", "list"],
    ["-u", "root:wrong", "role", "list"],
    [*ROOT, "auth", "disable"],
    ["auth", "disable"],
    ["role", "remove", "r2"],
    ["role", "remove", "r2"],
    ["user", "remove", "bob"],
    ["user", "remove", "bob"],
    ["user", "get"],
    ["role", "get"],
    ["auth", "enable", "extra"],
    ["user", "list", "extra"],
]


async def _reset(urls: list[str]) -> None:
    """Back to no users or roles and auth disabled (as root, in case auth is on)."""
    async with AsyncClient(urls, username="root", password="rootpw", total_timeout=10) as c:
        api = AuthAPI(c)
        with contextlib.suppress(ClientError):
            await api.disable()
        with contextlib.suppress(ClientError):  # a server without v2 auth has nothing to reset
            for user in await api.list_users():
                await api.remove_user(user)
            for role in await api.list_roles():
                if role != "root":
                    await api.remove_role(role)


def _play(cluster: Target, runner: Callable[[Sequence[str]], Run]) -> list[Run]:
    asyncio.run(_reset(cluster.client_urls))
    # One member, no sync: a step must see the previous step's write, and a follower of a busy
    # cluster answering a plain read may not have applied it yet.
    eps = ["--no-sync", "--endpoints", cluster.client_urls[0]]
    return [runner([*eps, *step]) for step in SCENARIO]


def test_auth_scenario_side_by_side(cluster) -> None:  # type: ignore[no-untyped-def]
    try:
        real = _play(cluster, run_real)
        mine = _play(cluster, run_shoal_inprocess)
    finally:
        asyncio.run(_reset(cluster.client_urls))
    for step, r, m in zip(SCENARIO, real, mine, strict=True):
        try:
            same(r, m)
        except AssertionError:
            raise AssertionError(f"etcdctl {' '.join(step)}:\nreal  {r}\nshoal {m}") from None


def test_password_prompts(cluster) -> None:  # type: ignore[no-untyped-def]
    # Without a terminal the prompt still goes to stdout and stty complains on stderr, as
    # etcdctl's prompt does; these run through the real `shoal etcdctl` entry point.
    eps = ["--endpoints", ",".join(cluster.client_urls)]
    for args in (
        ["-u", "bob", "get", "/nope"],
        ["user", "add", "alice"],  # empty password: refused by etcd
        ["user", "passwd", "nobody"],
    ):
        same(run_real([*eps, *args]), run_shoal([*eps, *args]))
    same(
        run_real([*eps, "user", "add", "carol"], stdin="secret\n"),
        run_shoal([*eps, "user", "add", "carol"], stdin="secret\n"),
    )
    asyncio.run(_reset(cluster.client_urls))
