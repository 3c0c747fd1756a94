"""python-etcd 0.4.5's auth module (etcd.auth: users, roles, the switch) against a real etcd
3.4 and a shoal member: the same calls give the same results (its one incompatibility with
etcd 3.4 included), and a client with the user's credentials reads what the role grants while
one without is refused."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from support import SHOAL_ETCD, real_etcd

etcd = pytest.importorskip("etcd", reason="python-etcd is not installed (pip install python-etcd)")
auth = pytest.importorskip("etcd.auth")


@pytest.fixture(scope="module", params=["etcd", "shoal"])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    command = {"etcd": ("/usr/bin/etcd",), "shoal": SHOAL_ETCD}[request.param]
    with real_etcd(command=command, name=request.param) as m:
        yield m.client_url


def _client(url: str, **kw: object) -> object:
    u = urlsplit(url)
    return etcd.Client(host=u.hostname, port=u.port, allow_reconnect=False, **kw)


def _scenario(url: str) -> list[object]:
    c = _client(url)
    out: list[object] = []
    root = auth.EtcdUser(c, "root")
    root.password = "rootpw"
    root.write()
    role = auth.EtcdRole(c, "app")
    role.grant("/app/*", "RW")
    role.write()
    user = auth.EtcdUser(c, "alice")
    user.password = "alicepw"
    user.roles = {"app"}
    user.write()
    c.write("/app/x", "1")
    c.write("/other", "2")
    switch = auth.Auth(c)
    out.append(switch.active)
    switch.active = True
    rc = _client(url, username="root", password="rootpw")
    guest = auth.EtcdRole(rc, "guest")
    guest.read()
    out.append(sorted(guest.acls.items()))
    guest.revoke("/*", "RW")
    guest.write()
    alice = _client(url, username="alice", password="alicepw")
    out.append(alice.read("/app/x").value)
    for client, key in ((alice, "/other"), (c, "/app/x")):
        try:
            client.read(key)
            out.append("read")
        except etcd.EtcdException as e:
            out.append(type(e).__name__)
    read_back = auth.EtcdUser(rc, "alice")
    try:
        # python-etcd 0.4.5 wants role names here; etcd 3.4 answers whole roles, which it
        # cannot put in a set (TypeError): shoal answers as etcd does, so it fails the same.
        read_back.read()
        out.append(sorted(read_back.roles))
    except TypeError as e:
        out.append(f"TypeError: {e}")
    names = auth.EtcdUser(rc, "x").names  # etcd 3.4: objects, python-etcd expected names
    out.append(sorted(u["user"] if isinstance(u, dict) else u for u in names))
    auth.Auth(rc).active = False
    out.append(auth.Auth(c).active)
    return out


_RESULTS: dict[str, list[object]] = {}


def test_python_etcd_auth_gives_the_same_results(url: str) -> None:
    got = _scenario(url)
    _RESULTS[url] = got
    assert got[0] is False and got[-1] is False
    assert got[2] == "1"  # alice reads what her role grants
    assert got[3] != "read" and got[4] != "read"  # outside it, or without credentials: refused
    if len(_RESULTS) == 2:
        a, b = _RESULTS.values()
        assert a == b
