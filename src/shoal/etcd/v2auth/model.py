"""Users and roles as etcd's v2auth has them, with Go's JSON shapes and merge rules.

A Go nil slice is JSON `null` and an empty one `[]`, and etcd's answers show which is which
(a new user's roles are null; after a revoke of its last role, []), so lists are
`list[str] | None`. Bodies are decoded as Go's encoding/json decodes into these structs:
field names match case-insensitively, unknown fields are ignored, a wrong type is an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from shoal.store.jsonenc import go_string

ROOT_ROLE_NAME = "root"
GUEST_ROLE_NAME = "guest"
STORE_PREFIX = "/2"
"""StorePermsPrefix: users at /2/users/NAME, roles at /2/roles/NAME, the switch at /2/enabled."""


class AuthError(Exception):
    """etcd's v2auth.Error: an HTTP status and a message that starts with `auth: `."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def auth_err(status: int, message: str) -> AuthError:
    return AuthError(status, "auth: " + message)


class BadJSON(ValueError):
    """A body that does not decode into the struct."""


def _list_json(xs: list[str] | None) -> str:
    return "null" if xs is None else "[" + ",".join(go_string(x) for x in xs) + "]"


@dataclass(slots=True)
class RW:
    """RWPermission: key patterns (a trailing `*` is a prefix glob) readable and writable."""

    read: list[str] | None = None
    write: list[str] | None = None

    def to_json(self) -> str:
        return f'{{"read":{_list_json(self.read)},"write":{_list_json(self.write)}}}'

    def is_empty(self) -> bool:
        return not self.read and not self.write

    def grant(self, n: RW) -> RW:
        read, write = set(self.read or ()), set(self.write or ())
        for r in n.read or ():
            if r in read:
                raise auth_err(409, f"Granting duplicate read permission {r}")
            read.add(r)
        for w in n.write or ():
            if w in write:
                raise auth_err(409, f"Granting duplicate write permission {w}")
            write.add(w)
        return RW(sorted(read), sorted(write))

    def revoke(self, n: RW) -> RW:
        # etcd logs and skips a permission that was never granted.
        read, write = set(self.read or ()), set(self.write or ())
        read.difference_update(n.read or ())
        write.difference_update(n.write or ())
        return RW(sorted(read), sorted(write))

    def has_access(self, key: str, write: bool) -> bool:
        return any(_simple_match(p, key) for p in (self.write if write else self.read) or ())

    def has_recursive_access(self, key: str, write: bool) -> bool:
        return any(_prefix_match(p, key) for p in (self.write if write else self.read) or ())


def _simple_match(pattern: str, key: str) -> bool:
    if pattern.endswith("*"):
        return key.startswith(pattern[:-1])
    return key == pattern


def _prefix_match(pattern: str, key: str) -> bool:
    return pattern.endswith("*") and key.startswith(pattern[:-1])


@dataclass(slots=True)
class Role:
    role: str
    permissions: RW = field(default_factory=RW)
    grant: RW | None = None
    revoke: RW | None = None

    def to_json(self) -> str:
        out = f'{{"role":{go_string(self.role)},"permissions":{{"kv":{self.permissions.to_json()}}}'
        if self.grant is not None:
            out += f',"grant":{{"kv":{self.grant.to_json()}}}'
        if self.revoke is not None:
            out += f',"revoke":{{"kv":{self.revoke.to_json()}}}'
        return out + "}"

    def merge(self, n: Role) -> Role:
        if self.role != n.role:
            raise auth_err(409, f"Merging role with conflicting names: {self.role} {n.role}")
        perms = self.permissions
        if n.grant is not None:
            perms = perms.grant(n.grant)
        if n.revoke is not None:
            perms = perms.revoke(n.revoke)
        return Role(self.role, perms)

    def has_key_access(self, key: str, write: bool) -> bool:
        return self.role == ROOT_ROLE_NAME or self.permissions.has_access(key, write)

    def has_recursive_access(self, key: str, write: bool) -> bool:
        return self.role == ROOT_ROLE_NAME or self.permissions.has_recursive_access(key, write)


def root_role() -> Role:
    return Role(ROOT_ROLE_NAME, RW(["/*"], ["/*"]))


def default_guest_role() -> Role:
    """What `auth enable` creates when there is no guest role: everything, for everyone."""
    return Role(GUEST_ROLE_NAME, RW(["/*"], ["/*"]))


@dataclass(slots=True)
class User:
    user: str
    password: str = ""  # a bcrypt hash once stored; the plain text only in a request
    roles: list[str] | None = None
    grant: list[str] | None = None
    revoke: list[str] | None = None

    def to_json(self) -> str:
        out = f'{{"user":{go_string(self.user)}'
        if self.password:
            out += f',"password":{go_string(self.password)}'
        out += f',"roles":{_list_json(self.roles)}'
        if self.grant:
            out += f',"grant":{_list_json(self.grant)}'
        if self.revoke:
            out += f',"revoke":{_list_json(self.revoke)}'
        return out + "}"

    def with_root_role(self) -> User:
        """attachRootRole: the root user always has the root role."""
        if ROOT_ROLE_NAME in (self.roles or ()):
            return self
        return replace(self, roles=[*(self.roles or ()), ROOT_ROLE_NAME])

    def merged_roles(self, n: User) -> list[str]:
        """The roles after `n`'s grant and revoke (etcd's User.merge, minus the password)."""
        if self.user != n.user:
            raise auth_err(
                409, f"Merging user data with conflicting usernames: {self.user} {n.user}"
            )
        current = set(self.roles or ())
        for g in n.grant or ():
            if g in current:
                raise auth_err(409, f"Granting duplicate role {g} for user {n.user}")
            current.add(g)
        for r in n.revoke or ():
            if r not in current:
                raise auth_err(409, f"Revoking ungranted role {r} for user {n.user}")
            current.discard(r)
        return sorted(current)


# --- decoding, as encoding/json decodes into these structs -----------------------------------


def _object(data: bytes | str) -> dict[str, Any]:
    text = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
    try:
        # json.NewDecoder(r.Body).Decode reads the first value and ignores what follows.
        value, _ = json.JSONDecoder().raw_decode(text.lstrip(" \t\r\n"))
    except (json.JSONDecodeError, ValueError):
        raise BadJSON("invalid JSON") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadJSON("not an object")
    return value


def _field(obj: dict[str, Any], name: str) -> Any:
    """Go matches a JSON key to a field exactly first, then case-insensitively (the last
    such key wins when several differ only in case)."""
    if name in obj:
        return obj[name]
    found = None
    for k, v in obj.items():
        if k.lower() == name:
            found = v
    return found


def _str(obj: dict[str, Any], name: str) -> str:
    v = _field(obj, name)
    if v is None:
        return ""
    if not isinstance(v, str):
        raise BadJSON(f"{name} is not a string")
    return v


def _strs(obj: dict[str, Any], name: str) -> list[str] | None:
    v = _field(obj, name)
    if v is None:
        return None
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise BadJSON(f"{name} is not a list of strings")
    return list(v)


def _rw(obj: Any) -> RW:
    if obj is None:
        return RW()
    if not isinstance(obj, dict):
        raise BadJSON("permissions are not an object")
    kv = _field(obj, "kv")
    if kv is None:
        return RW()
    if not isinstance(kv, dict):
        raise BadJSON("kv is not an object")
    return RW(_strs(kv, "read"), _strs(kv, "write"))


def decode_user(data: bytes | str) -> User:
    o = _object(data)
    return User(
        _str(o, "user"), _str(o, "password"), _strs(o, "roles"), _strs(o, "grant"),
        _strs(o, "revoke"),
    )  # fmt: skip


def decode_role(data: bytes | str) -> Role:
    o = _object(data)
    grant, revoke = _field(o, "grant"), _field(o, "revoke")
    return Role(
        _str(o, "role"),
        _rw(_field(o, "permissions")),
        None if grant is None else _rw(grant),
        None if revoke is None else _rw(revoke),
    )
