"""etcd v2 auth (/v2/auth): enable/disable, users and roles, over an `AsyncClient`.

Status handling and error texts follow the Go client (release-3.4 `client/auth_user.go`,
`auth_role.go`): a refusal carries the server's `{"message": ...}`, which is what etcdctl prints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import quote

from shoal.client.aio import AsyncClient, Reply, Request
from shoal.client.errors import ClientError, UnexpectedStatus
from shoal.client.model import decode_message, decode_object, go_json_error

AUTH_PREFIX = "/v2/auth"


class AuthError(ClientError):
    """The auth API refused; `message` is the server's explanation."""

    def __init__(self, message: str, status: int) -> None:
        self.message = message
        self.status = status
        super().__init__(message)


class Permission(Enum):
    READ = "read"
    WRITE = "write"
    READWRITE = "readwrite"


@dataclass(frozen=True, slots=True)
class User:
    user: str
    roles: tuple[str, ...] = ()
    role_objects: bool = False

    @property
    def go_compatible_roles(self) -> tuple[str, ...]:
        return ("",) * len(self.roles) + self.roles if self.role_objects else self.roles


@dataclass(frozen=True, slots=True)
class Role:
    role: str
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    raw: str = ""  # canonical JSON of the reply, to tell "changed" from "unchanged"


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def decode_user(body: bytes) -> User:
    """A user; etcd 3.4 lists its roles as role objects, older servers as names.

    With role objects the Go client ends up with one "" per role before the names (its first,
    failed decode into []string leaves zero values behind), so etcdctl prints `Roles:  r1`;
    `go_compatible_roles` keeps that quirk for etcdctl, `roles` has the plain names.
    """
    obj = decode_object(body)
    roles = obj.get("roles") or []
    names = [r if isinstance(r, str) else str(r.get("role", "")) for r in roles if r]
    return User(
        user=str(obj.get("user", "")),
        roles=tuple(names),
        role_objects=any(isinstance(r, dict) for r in roles),
    )


def decode_role(body: bytes) -> Role:
    obj = decode_object(body)
    kv = (obj.get("permissions") or {}).get("kv") or {}
    return Role(
        role=str(obj.get("role", "")),
        read=_strs(kv.get("read")),
        write=_strs(kv.get("write")),
        raw=json.dumps(obj, sort_keys=True),
    )


def _kv(prefixes: list[str], perm: Permission) -> dict[str, list[str]]:
    read = prefixes if perm in (Permission.READ, Permission.READWRITE) else None
    write = prefixes if perm in (Permission.WRITE, Permission.READWRITE) else None
    return {"kv": {"read": read, "write": write}}  # type: ignore[dict-item]


class AuthAPI:
    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    async def _call(self, method: str, path: str, body: Any = None) -> Reply:
        data = json.dumps(body, separators=(",", ":")) if body is not None else None
        req = Request(method, AUTH_PREFIX + path, {}, data, "application/json" if data else "")
        return await self.client.request(req)

    @staticmethod
    def _check(reply: Reply, *ok: int) -> Reply:
        if reply.status in ok:
            return reply
        not_json = go_json_error(reply.body)
        if not_json:  # the Go client reports the decoding error itself
            raise AuthError(not_json, reply.status)
        raise AuthError(decode_message(reply.body), reply.status)

    async def enable(self) -> None:
        self._check(await self._call("PUT", "/enable"), 200, 201)

    async def disable(self) -> None:
        self._check(await self._call("DELETE", "/enable"), 200, 201)

    async def list_users(self) -> list[str]:
        reply = self._check(await self._call("GET", "/users"), 200)
        users = decode_object(reply.body).get("users") or []
        return [str(u.get("user", "")) for u in users if isinstance(u, dict)]

    async def add_user(self, name: str, password: str) -> None:
        body = {"user": name, "password": password, "roles": None}
        self._check(await self._call("PUT", f"/users/{quote(name)}", body), 200, 201)

    async def remove_user(self, name: str) -> None:
        self._check(await self._call("DELETE", f"/users/{quote(name)}"), 200, 201)

    async def get_user(self, name: str) -> User:
        return decode_user(self._check(await self._call("GET", f"/users/{quote(name)}"), 200).body)

    async def _mod_user(self, name: str, body: dict[str, Any]) -> User:
        reply = await self._call("PUT", f"/users/{quote(name)}", {"user": name, **body})
        return decode_user(self._check(reply, 200).body)

    async def grant_user(self, name: str, roles: list[str]) -> User:
        return await self._mod_user(name, {"roles": None, "grant": roles})

    async def revoke_user(self, name: str, roles: list[str]) -> User:
        return await self._mod_user(name, {"roles": None, "revoke": roles})

    async def change_password(self, name: str, password: str) -> User:
        return await self._mod_user(name, {"password": password, "roles": None})

    async def list_roles(self) -> list[str]:
        reply = await self._call("GET", "/roles")
        if reply.status != 200:
            raise UnexpectedStatus(reply.status, reply.body)
        roles = decode_object(reply.body).get("roles") or []
        return [str(r.get("role", "")) for r in roles if isinstance(r, dict)]

    async def add_role(self, name: str) -> None:
        body = {"role": name, "permissions": {"kv": {"read": None, "write": None}}}
        self._check(await self._call("PUT", f"/roles/{quote(name)}", body), 200, 201)

    async def remove_role(self, name: str) -> None:
        self._check(await self._call("DELETE", f"/roles/{quote(name)}"), 200, 201)

    async def get_role(self, name: str) -> Role:
        return decode_role(self._check(await self._call("GET", f"/roles/{quote(name)}"), 200).body)

    async def _mod_role(self, name: str, key: str, prefixes: list[str], perm: Permission) -> Role:
        body = {
            "role": name,
            "permissions": {"kv": {"read": None, "write": None}},
            key: _kv(prefixes, perm),
        }
        reply = await self._call("PUT", f"/roles/{quote(name)}", body)
        return decode_role(self._check(reply, 200).body)

    async def grant_role_kv(self, name: str, prefixes: list[str], perm: Permission) -> Role:
        return await self._mod_role(name, "grant", prefixes, perm)

    async def revoke_role_kv(self, name: str, prefixes: list[str], perm: Permission) -> Role:
        return await self._mod_role(name, "revoke", prefixes, perm)
