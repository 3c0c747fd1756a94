"""Key commands side by side: each command runs under etcdctl and shoal etcdctl against the same
cluster, from the same starting state, in every output format; stdout, stderr and the exit status
must match (indexes, times and TTL seconds normalised)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
from side_by_side import compare

from shoal.client import Client, EtcdError
from support.cluster import Target
from support.wait import wait_until

FORMATS = ["simple", "extended", "json"]


@pytest.fixture(scope="module")
def etcd(cluster: Target) -> Iterator[Client]:
    with Client(cluster.client_urls, total_timeout=10) as c:
        yield c


@pytest.fixture
def ctl(cluster: Target) -> Callable[..., None]:
    eps = ",".join(cluster.client_urls)

    def run(*args: str, setup: Callable[[], None] | None = None, stdin: str | None = None) -> None:
        compare(["--endpoints", eps, *args], setup=setup, stdin=stdin)

    return run


@pytest.fixture
def ctl1(cluster: Target) -> Callable[..., None]:
    """Like ctl, with the first member as the only endpoint and no sync: deterministic order."""

    def run(*args: str, setup: Callable[[], None] | None = None) -> None:
        compare(["--no-sync", "--endpoints", cluster.client_urls[0], *args], setup=setup)

    return run


def reset(c: Client, *writes: tuple[str, str | None]) -> Callable[[], None]:
    """A setup step: empty /t, then write (key, value) pairs (value None: a directory)."""

    def setup() -> None:
        with contextlib.suppress(EtcdError):
            c.delete("/t", recursive=True)
        for key, value in writes:
            if value is None:
                c.set(key, dir=True)
            else:
                c.set(key, value)
        settle(c)

    return setup


def settle(c: Client) -> None:
    """Wait until every member has applied the writes so far: the commands under test read
    from any member without quorum, and a follower of a busy cluster can lag behind."""
    index = c.get("/", quorum=True).index
    for endpoint in c.endpoints:
        with Client([endpoint], total_timeout=10) as one:
            wait_until(lambda one=one: one.get("/").index >= index, 20, f"{endpoint} at {index}")


@pytest.mark.parametrize("fmt", FORMATS)
def test_get(ctl, etcd, fmt) -> None:  # type: ignore[no-untyped-def]
    setup = reset(etcd, ("/t/a", "one"), ("/t/d/x", "1"), ("/t/html", "<a&b>"))
    setup()
    ctl("-o", fmt, "get", "/t/a")
    ctl("-o", fmt, "get", "--quorum", "/t/a")
    ctl("-o", fmt, "get", "/t/a", "--sort")
    ctl("-o", fmt, "get", "/t/html")
    ctl("-o", fmt, "get", "/t/nope")
    ctl("-o", fmt, "get", "/t/d")  # a directory: "is a directory", exit 1
    ctl("-o", fmt, "get", "/t/a/b")  # below a file: 104
    ctl("-o", fmt, "get")  # key required


@pytest.mark.parametrize("fmt", FORMATS)
def test_set_and_compare_and_swap(ctl, etcd, fmt) -> None:  # type: ignore[no-untyped-def]
    setup = reset(etcd, ("/t/a", "one"), ("/t/d", None))
    ctl("-o", fmt, "set", "/t/a", "two", setup=setup)
    ctl("-o", fmt, "set", "/t/new", "v", setup=setup)
    ctl("-o", fmt, "set", "--ttl", "100", "/t/a", "two", setup=setup)
    ctl("-o", fmt, "set", "/t/a", "two", "--swap-with-value", "one", setup=setup)
    ctl("-o", fmt, "set", "/t/a", "two", "--swap-with-value", "nope", setup=setup)
    ctl("-o", fmt, "set", "/t/a", "two", "--swap-with-index", "1", setup=setup)
    ctl("-o", fmt, "set", "/t/d", "x", setup=setup)  # 102 Not a file
    ctl("-o", fmt, "set", "--", "/t/a", "-v", setup=setup)
    ctl("-o", fmt, "set", "/t/a", setup=setup)  # value required
    ctl("-o", fmt, "set", "/t/a", setup=setup, stdin="from stdin\n")


@pytest.mark.parametrize("fmt", FORMATS)
def test_mk_update(ctl, etcd, fmt) -> None:  # type: ignore[no-untyped-def]
    setup = reset(etcd, ("/t/a", "one"), ("/t/q", None))
    ctl("-o", fmt, "mk", "/t/b", "v", setup=setup)
    ctl("-o", fmt, "mk", "/t/a", "v", setup=setup)  # 105
    ctl("-o", fmt, "mk", "--ttl", "50", "/t/b", "v", setup=setup)
    ctl("-o", fmt, "mk", "--in-order", "/t/q", "job", setup=setup)
    ctl("-o", fmt, "update", "/t/a", "new", setup=setup)
    ctl("-o", fmt, "update", "/t/missing", "new", setup=setup)  # 100
    ctl("-o", fmt, "update", "--ttl", "30", "/t/a", "new", setup=setup)


@pytest.mark.parametrize("fmt", FORMATS)
def test_directories(ctl, etcd, fmt) -> None:  # type: ignore[no-untyped-def]
    setup = reset(etcd, ("/t/a", "one"), ("/t/d", None), ("/t/full/x", "1"))
    ctl("-o", fmt, "mkdir", "/t/n", setup=setup)
    ctl("-o", fmt, "mkdir", "/t/d", setup=setup)  # 105
    ctl("-o", fmt, "mkdir", "--ttl", "20", "/t/n", setup=setup)
    ctl("-o", fmt, "setdir", "/t/n", setup=setup)
    ctl("-o", fmt, "setdir", "/t/d", setup=setup)
    ctl("-o", fmt, "updatedir", "/t/d", setup=setup)
    ctl("-o", fmt, "updatedir", "--ttl", "20", "/t/d", setup=setup)
    ctl("-o", fmt, "updatedir", "/t/none", setup=setup)
    ctl("-o", fmt, "rmdir", "/t/d", setup=setup)
    ctl("-o", fmt, "rmdir", "/t/full", setup=setup)  # 108
    ctl("-o", fmt, "rmdir", "/t/a", setup=setup)


@pytest.mark.parametrize("fmt", FORMATS)
def test_rm(ctl, etcd, fmt) -> None:  # type: ignore[no-untyped-def]
    setup = reset(etcd, ("/t/a", "one"), ("/t/d", None), ("/t/full/x", "1"))
    ctl("-o", fmt, "rm", "/t/a", setup=setup)
    ctl("-o", fmt, "rm", "/t/nope", setup=setup)
    ctl("-o", fmt, "rm", "/t/d", setup=setup)  # 102
    ctl("-o", fmt, "rm", "--dir", "/t/d", setup=setup)
    ctl("-o", fmt, "rm", "--dir", "/t/full", setup=setup)  # 108
    ctl("-o", fmt, "rm", "-r", "/t/full", setup=setup)
    ctl("-o", fmt, "rm", "/t/a", "--with-value", "one", setup=setup)
    ctl("-o", fmt, "rm", "/t/a", "--with-value", "two", setup=setup)
    ctl("-o", fmt, "rm", "/t/a", "--with-index", "1", setup=setup)
    ctl("-o", fmt, "rm", setup=setup)


@pytest.mark.parametrize("fmt", FORMATS)
def test_ls(ctl, etcd, fmt) -> None:  # type: ignore[no-untyped-def]
    # One child per directory level, so the (unsorted) server order is the same for both runs.
    reset(etcd, ("/t/d/e/f", "1"), ("/t/_hidden", "h"))()
    ctl("-o", fmt, "ls", "/t")
    ctl("-o", fmt, "ls", "-r", "/t")
    ctl("-o", fmt, "ls", "-r", "-p", "/t")
    ctl("-o", fmt, "ls", "--sort", "-r", "-p", "--quorum", "/t")
    ctl("-o", fmt, "ls", "/t/d/e/f")
    ctl("-o", fmt, "ls", "/t/nope")
    reset(etcd, ("/t/b", "2"), ("/t/a", "1"), ("/t/c/x", "3"))()
    ctl("-o", fmt, "ls", "--sort", "/t")
    ctl("-o", fmt, "ls", "--sort", "-r", "-p", "/t")


def test_total_timeout(ctl, etcd) -> None:  # type: ignore[no-untyped-def]
    reset(etcd, ("/t/a", "one"))()
    ctl("--total-timeout", "0s", "get", "/t/a")  # expires during the endpoint sync: exit 2
    ctl("--no-sync", "--total-timeout", "0s", "get", "/t/a")  # during the read: exit 4
    ctl("--timeout", "0", "get", "/t/a")  # no per-request limit


def test_unsupported_output_format(ctl, etcd) -> None:  # type: ignore[no-untyped-def]
    reset(etcd, ("/t/a", "one"))()
    ctl("-o", "bogus", "get", "/t/a")
    ctl("-o", "bogus", "ls", "/t")


def test_debug_prints_curl_commands(ctl1, etcd) -> None:  # type: ignore[no-untyped-def]
    setup = reset(etcd, ("/t/a", "one"), ("/t/d/x", "1"))
    setup()
    ctl1("--debug", "get", "/t/a")
    ctl1("--debug", "ls", "-r", "--sort", "/t/d")
    ctl1("--debug", "set", "/t/a", "x y&z/", "--ttl", "5", setup=setup)
    ctl1("--debug", "set", "/t/a", "x", "--swap-with-value", "one", setup=setup)
    ctl1("--debug", "mk", "--in-order", "/t/q", "job", setup=setup)
    ctl1("--debug", "mkdir", "/t/n", setup=setup)
    ctl1("--debug", "rm", "--with-value", "one", "/t/a", setup=setup)
    ctl1("--debug", "rm", "-r", "/t/d", setup=setup)
