"""v2 auth side by side: the same /v2/auth, /v2/keys and /v2/members requests against a real
etcd 3.4 and shoal, before and after auth is enabled, with and without credentials; every
answer (status, headers that matter, body) must match."""

from __future__ import annotations

import base64
import json

from http_compat import Record, Session
from test_compat_etcd import compare


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


ROOT = _basic("root", "rootpw")
BOB = _basic("bob", "bobpw")
J = {"Content-Type": "application/json"}


def auth_script(s: Session) -> list[Record]:
    out: list[Record] = []

    def S(name: str, method: str, target: str, obj: object = None, **kw: object) -> Record:
        if obj is not None:
            kw["body"] = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        r = s.step(name, method, target, **kw)  # type: ignore[arg-type]
        out.append(r)
        return r

    # Auth off: everything is open, and the root role always exists.
    S("enabled?", "GET", "/v2/auth/enable")
    S("no users", "GET", "/v2/auth/users")
    S("roles: root only", "GET", "/v2/auth/roles")
    S("no root user", "GET", "/v2/auth/users/root")
    S("no guest role yet", "GET", "/v2/auth/roles/guest")
    S("root role", "GET", "/v2/auth/roles/root")
    S("enable without root", "PUT", "/v2/auth/enable")
    S("disable when off", "DELETE", "/v2/auth/enable")
    S("users POST 405", "POST", "/v2/auth/users")
    S("enable PATCH 405", "PATCH", "/v2/auth/enable")
    S("deep path", "GET", "/v2/auth/users/a/b")
    S("bad json", "PUT", "/v2/auth/users/x", "nope")
    S("name mismatch", "PUT", "/v2/auth/users/x", {"user": "y", "password": "p"})
    S("empty password", "PUT", "/v2/auth/users/eve", {"user": "eve"})
    S("create root", "PUT", "/v2/auth/users/root", {"user": "root", "password": "rootpw"})
    S("root again (update)", "PUT", "/v2/auth/users/root", {"user": "root", "password": "x"})
    S("root back", "PUT", "/v2/auth/users/root", {"user": "root", "password": "rootpw"})
    S("create bob", "PUT", "/v2/auth/users/bob", {"user": "bob", "password": "bobpw"})
    S("bob no change", "PUT", "/v2/auth/users/bob", {"user": "bob"})
    S("bob no change 2", "PUT", "/v2/auth/users/bob", {"user": "bob"})
    S("create r1", "PUT", "/v2/auth/roles/r1", {"role": "r1"})
    S("r1 exists", "PUT", "/v2/auth/roles/r1", {"role": "r1"})
    S("root role immutable", "PUT", "/v2/auth/roles/root", {"role": "root"})
    S(
        "grant r1",
        "PUT",
        "/v2/auth/roles/r1",
        {"role": "r1", "grant": {"kv": {"read": ["/a/*"], "write": ["/a/b"]}}},
    )
    S(
        "duplicate grant",
        "PUT",
        "/v2/auth/roles/r1",
        {"role": "r1", "grant": {"kv": {"read": ["/a/*"]}}},
    )
    S(
        "perms and grant",
        "PUT",
        "/v2/auth/roles/r1",
        {"role": "r1", "permissions": {"kv": {"read": ["/x"]}}, "grant": {"kv": {"read": ["/y"]}}},
    )
    S(
        "revoke ungranted",
        "PUT",
        "/v2/auth/roles/r1",
        {"role": "r1", "revoke": {"kv": {"read": ["/zz"]}}},
    )
    S("create r2", "PUT", "/v2/auth/roles/r2", {"role": "r2"})
    S("delete r2", "DELETE", "/v2/auth/roles/r2")
    S("delete r2 again", "DELETE", "/v2/auth/roles/r2")
    S("delete root role", "DELETE", "/v2/auth/roles/root")
    S("grant bob r1", "PUT", "/v2/auth/users/bob", {"user": "bob", "grant": ["r1"]})
    S("grant bob r1 twice", "PUT", "/v2/auth/users/bob", {"user": "bob", "grant": ["r1"]})
    S("revoke ungranted role", "PUT", "/v2/auth/users/bob", {"user": "bob", "revoke": ["zz"]})
    S(
        "roles and grant",
        "PUT",
        "/v2/auth/users/bob",
        {"user": "bob", "roles": ["a"], "grant": ["b"]},
    )
    S("get bob", "GET", "/v2/auth/users/bob")
    S("users", "GET", "/v2/auth/users")
    S("roles", "GET", "/v2/auth/roles")
    S("update missing user", "PUT", "/v2/auth/users/zed", {"user": "zed", "grant": ["r1"]})
    S("delete missing user", "DELETE", "/v2/auth/users/zed")
    S(
        "update missing role",
        "PUT",
        "/v2/auth/roles/zed",
        {"role": "zed", "grant": {"kv": {"read": ["/q"]}}},
    )

    # Auth on: guest gets everything by default; credentials are checked.
    S("enable", "PUT", "/v2/auth/enable")
    S("enable twice", "PUT", "/v2/auth/enable", headers=ROOT)
    S("enabled", "GET", "/v2/auth/enable")
    S("guest role made", "GET", "/v2/auth/roles/guest", headers=ROOT)
    S("guest reads", "GET", "/v2/keys/")
    S("guest writes", "PUT", "/v2/keys/g", form="value=1")
    S("bob writes /a/b", "PUT", "/v2/keys/a/b", form="value=1", headers=BOB)
    S("bob reads /a/b", "GET", "/v2/keys/a/b", headers=BOB)
    S("bob may not write /a/c", "PUT", "/v2/keys/a/c", form="value=1", headers=BOB)
    S("bob recursive /a", "GET", "/v2/keys/a?recursive=true", headers=BOB)
    S("bob reads /g (no role)", "GET", "/v2/keys/g", headers=BOB)
    S("wrong password", "GET", "/v2/keys/a/b", headers=_basic("bob", "nope"))
    S("unknown user", "GET", "/v2/keys/a/b", headers=_basic("nobody", "x"))
    S("not basic", "GET", "/v2/keys/a/b", headers={"Authorization": "Bearer x"})
    S("users need root", "GET", "/v2/auth/users")
    S("users as bob", "GET", "/v2/auth/users", headers=BOB)
    S("users as root", "GET", "/v2/auth/users", headers=ROOT)
    S("members open to read", "GET", "/v2/members")
    S(
        "members add needs root",
        "POST",
        "/v2/members",
        '{"peerURLs":["http://127.0.0.1:1"]}',
        headers=J,
    )
    S(
        "revoke guest",
        "PUT",
        "/v2/auth/roles/guest",
        {"role": "guest", "revoke": {"kv": {"read": ["/*"], "write": ["/*"]}}},
        headers=ROOT,
    )
    S("guest refused read", "GET", "/v2/keys/")
    S("guest refused write", "PUT", "/v2/keys/g", form="value=2")
    S("root reads all", "GET", "/v2/keys/?recursive=true", headers=ROOT)
    S(
        "password change",
        "PUT",
        "/v2/auth/users/bob",
        {"user": "bob", "password": "new"},
        headers=ROOT,
    )
    S("old password refused", "GET", "/v2/keys/a/b", headers=BOB)
    S("new password", "GET", "/v2/keys/a/b", headers=_basic("bob", "new"))
    S("delete root while on", "DELETE", "/v2/auth/users/root", headers=ROOT)
    S("disable needs root", "DELETE", "/v2/auth/enable", headers=BOB)
    S("disable", "DELETE", "/v2/auth/enable", headers=ROOT)
    S("open again", "GET", "/v2/keys/a/b")
    S("delete root when off", "DELETE", "/v2/auth/users/root")
    S("store under /2 is not /v2/keys", "GET", "/v2/keys/2")
    return out


def test_auth_matches_etcd(etcd_url: str, shoal_url: str) -> None:
    compare(etcd_url, shoal_url, auth_script)
