"""The auth store: users, roles and the on/off switch kept in the v2 store under /2, written
through raft like any key (etcd's v2auth store over `server.Do`), so they are replicated,
survive restarts in the WAL and snapshots, and agree on every member.

Reads are local (etcd reads with GET, not QGET, except before an update). Passwords are kept
as bcrypt hashes (cost 10, etcd's bcrypt.DefaultCost, `$2a$` as Go writes them); hashing and
checking run on a worker thread, and a check that succeeded is remembered (keyed by an HMAC of
the password under a per-process key, never the password) so each request does not pay
bcrypt's ~0.1 s, which etcd does pay.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import posixpath
import secrets
import time
from typing import Protocol

import bcrypt

from shoal.etcd.v2auth.model import (
    GUEST_ROLE_NAME,
    ROOT_ROLE_NAME,
    STORE_PREFIX,
    AuthError,
    Role,
    User,
    auth_err,
    decode_role,
    decode_user,
    default_guest_role,
    root_role,
)
from shoal.store import EtcdError, Event, Request, Store
from shoal.store import errors as codes
from shoal.store import request as rq

BCRYPT_COST = 10
_CACHE_LIMIT = 1024


class Doer(Protocol):
    store: Store

    async def do(self, req: Request) -> Event: ...


def _path(res: str) -> str:
    return posixpath.normpath(posixpath.join(STORE_PREFIX, res.lstrip("/")))


class AuthStore:
    def __init__(self, server: Doer) -> None:
        self._server = server
        self._ensured = False
        self._enabled_at = (-1, False)  # (store index, enabled then)
        self._key = secrets.token_bytes(32)
        self._good: dict[tuple[str, str, bytes], None] = {}  # (user, hash, hmac(password))

    # -- raw resources (auth_requests.go) -------------------------------------------------

    async def _get(self, res: str, quorum: bool) -> Event:
        if quorum:
            return await self._server.do(Request(rq.QGET, _path(res), quorum=True))
        return self._server.store.get(_path(res), now=time.time())

    async def _ensure_dirs(self) -> None:
        if self._ensured:
            return
        for res in ("", "/users/", "/roles/"):
            try:
                await self._server.do(Request(rq.PUT, _path(res), dir=True, prev_exist=False))
            except EtcdError as e:
                if e.code != codes.NODE_EXIST:
                    raise
        try:
            await self._server.do(
                Request(rq.PUT, _path("/enabled"), value="false", prev_exist=False)
            )
        except EtcdError as e:
            if e.code != codes.NODE_EXIST:
                raise
        self._ensured = True

    async def _set(self, res: str, value: str, prev_exist: bool) -> Event:
        await self._ensure_dirs()
        return await self._server.do(
            Request(rq.PUT, _path(res), value=value, prev_exist=prev_exist)
        )

    async def _delete(self, res: str) -> None:
        await self._ensure_dirs()
        await self._server.do(Request(rq.DELETE, _path(res), prev_exist=True))

    # -- the switch -------------------------------------------------------------------------

    def auth_enabled(self) -> bool:
        # On every request's path: read the store again only when its index moved.
        index = self._server.store.index
        if index != self._enabled_at[0]:
            self._enabled_at = (index, self._read_enabled())
        return self._enabled_at[1]

    def _read_enabled(self) -> bool:
        try:
            ev = self._server.store.get(_path("/enabled"), now=time.time())
        except EtcdError:
            return False
        try:
            return json.loads(ev.node.value or "") is True
        except ValueError:
            return False

    async def enable_auth(self) -> None:
        if self.auth_enabled():
            raise auth_err(409, "already enabled")
        try:
            await self._get_user("root", quorum=True)
        except AuthError:
            raise auth_err(409, "No root user available, please create one") from None
        try:
            await self._get_role(GUEST_ROLE_NAME, quorum=True)
        except AuthError:
            await self.create_role(default_guest_role())
        await self._set("/enabled", "true", True)

    async def disable_auth(self) -> None:
        if not self.auth_enabled():
            raise auth_err(409, "already disabled")
        await self._set("/enabled", "false", True)

    # -- users ------------------------------------------------------------------------------

    def all_users(self) -> list[str]:
        return self._names("/users/")

    def _names(self, res: str) -> list[str]:
        try:
            ev = self._server.store.get(_path(res), now=time.time())
        except EtcdError as e:
            if e.code == codes.KEY_NOT_FOUND:
                return []
            raise
        return sorted(posixpath.basename(n.key) for n in ev.node.nodes or ())

    async def get_user(self, name: str) -> User:
        return await self._get_user(name, quorum=False)

    async def _get_user(self, name: str, quorum: bool) -> User:
        try:
            ev = await self._get("/users/" + name, quorum)
        except EtcdError as e:
            if e.code == codes.KEY_NOT_FOUND:
                raise auth_err(404, f"User {name} does not exist.") from None
            raise
        u = decode_user(ev.node.value or "")
        return u.with_root_role() if u.user == "root" else u

    async def create_or_update_user(self, user: User) -> tuple[User, bool]:
        try:
            await self._get_user(user.user, quorum=True)
        except AuthError:
            return await self.create_user(user), True
        return await self.update_user(user), False

    async def create_user(self, user: User) -> User:
        if user.user == "root":
            user = user.with_root_role()
        if not user.password:
            raise auth_err(400, f"Cannot create user {user.user} with an empty password")
        user.password = await self.hash_password(user.password)
        try:
            await self._set("/users/" + user.user, user.to_json(), False)
        except EtcdError as e:
            if e.code == codes.NODE_EXIST:
                raise auth_err(409, f"User {user.user} already exists.") from None
            raise
        return user

    async def delete_user(self, name: str) -> None:
        if self.auth_enabled() and name == "root":
            raise auth_err(403, "Cannot delete root user while auth is enabled.")
        try:
            await self._delete("/users/" + name)
        except EtcdError as e:
            if e.code == codes.KEY_NOT_FOUND:
                raise auth_err(404, f"User {name} does not exist") from None
            raise

    async def update_user(self, user: User) -> User:
        # getUser's own 404 comes through (etcd's "doesn't exist" branch never matches it).
        old = await self._get_user(user.user, quorum=True)
        roles = old.merged_roles(user)
        password = await self.hash_password(user.password) if user.password else old.password
        new = User(old.user, password, roles)
        if new == old:
            raise auth_err(400, "User not updated. Use grant/revoke/password to update the user.")
        await self._set("/users/" + user.user, new.to_json(), True)
        return new

    # -- roles ------------------------------------------------------------------------------

    def all_roles(self) -> list[str]:
        return sorted([ROOT_ROLE_NAME, *self._names("/roles/")])

    async def get_role(self, name: str) -> Role:
        return await self._get_role(name, quorum=False)

    async def _get_role(self, name: str, quorum: bool) -> Role:
        if name == ROOT_ROLE_NAME:
            return root_role()
        try:
            ev = await self._get("/roles/" + name, quorum)
        except EtcdError as e:
            if e.code == codes.KEY_NOT_FOUND:
                raise auth_err(404, f"Role {name} does not exist.") from None
            raise
        return decode_role(ev.node.value or "")

    async def create_role(self, role: Role) -> None:
        if role.role == ROOT_ROLE_NAME:
            raise auth_err(403, f"Cannot modify role {role.role}: is root role.")
        try:
            await self._set("/roles/" + role.role, role.to_json(), False)
        except EtcdError as e:
            if e.code == codes.NODE_EXIST:
                raise auth_err(409, f"Role {role.role} already exists.") from None
            raise

    async def delete_role(self, name: str) -> None:
        if name == ROOT_ROLE_NAME:
            raise auth_err(403, f"Cannot modify role {name}: is root role.")
        try:
            await self._delete("/roles/" + name)
        except EtcdError as e:
            if e.code == codes.KEY_NOT_FOUND:
                raise auth_err(404, f"Role {name} doesn't exist.") from None
            raise

    async def update_role(self, role: Role) -> Role:
        if role.role == ROOT_ROLE_NAME:
            raise auth_err(403, f"Cannot modify role {role.role}: is root role.")
        old = await self._get_role(role.role, quorum=True)
        new = old.merge(role)
        if new == old:
            raise auth_err(400, "Role not updated. Use grant/revoke to update the role.")
        await self._set("/roles/" + role.role, new.to_json(), True)
        return new

    # -- passwords --------------------------------------------------------------------------

    async def hash_password(self, password: str) -> str:
        def work() -> str:
            salt = bcrypt.gensalt(BCRYPT_COST, prefix=b"2a")
            return bcrypt.hashpw(password.encode("utf-8", "surrogateescape"), salt).decode()

        return await asyncio.to_thread(work)

    async def check_password(self, user: User, password: str) -> bool:
        secret = password.encode("utf-8", "surrogateescape")
        key = (user.user, user.password, hmac.new(self._key, secret, hashlib.sha256).digest())
        if key in self._good:
            return True

        def work() -> bool:
            try:
                return bcrypt.checkpw(secret, user.password.encode())
            except ValueError:  # not a bcrypt hash
                return False

        ok = await asyncio.to_thread(work)
        if ok:
            if len(self._good) >= _CACHE_LIMIT:
                self._good.clear()
            self._good[key] = None
        return ok
