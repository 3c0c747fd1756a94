"""`/v2/auth/...`: etcd's authHandler (enable, users, roles) and the refusal the other handlers
give a request without the right credentials.

Routes, checks and answers follow release-3.4 v2http/client_auth.go, checked against
/usr/bin/etcd: every route but `enable` needs the root role even to read; `enable` may be read
by anyone; a refusal is 401 `{"message":"Insufficient credentials"}` (keys answer it with
error 110 instead: `key_refusal`); auth errors are `{"message":"auth: ..."}` with their status;
successful bodies are json.Encoder's (a trailing newline).
"""

from __future__ import annotations

import posixpath

from shoal.etcd import facts
from shoal.etcd.server_iface import ServerAPI
from shoal.etcd.v2auth.access import Access, Credentials
from shoal.etcd.v2auth.model import AuthError, BadJSON, Role, User, decode_role, decode_user
from shoal.etcd.v2http import respond
from shoal.etcd.v2http.message import Request, Response
from shoal.gocompat.nethttp import MAX_FORM_BYTES
from shoal.store import EtcdError
from shoal.store import errors as codes
from shoal.tls import peer_common_name

AUTH_PREFIX = "/v2/auth"
INSUFFICIENT = "Insufficient credentials"
_FOR_ONE = ("GET", "PUT", "DELETE")


def credentials(request: Request) -> Credentials:
    cert = request.peer_certificate()
    cn = peer_common_name(cert) if cert is not None else ""
    return Credentials(request.headers.get("Authorization", ""), cn)


def refusal() -> Response:
    """writeNoAuth."""
    return respond.message(401, INSUFFICIENT)


def key_refusal(headers: dict[str, str]) -> Response:
    """writeKeyNoAuth: error 110 with 401 and index 0."""
    return respond.etcd_error(EtcdError(codes.UNAUTHORIZED, INSUFFICIENT, 0), headers)


def _encoded(text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return respond.json_body((text + "\n").encode(), status=status, headers=headers)


def _failure(e: Exception, headers: dict[str, str]) -> Response:
    if isinstance(e, AuthError):
        return respond.message(e.status, e.message, headers)
    if isinstance(e, EtcdError):
        return respond.etcd_error(e, headers)
    raise e


class AuthHandler:
    __slots__ = ("access", "server")

    def __init__(self, server: ServerAPI, access: Access) -> None:
        self.server = server
        self.access = access

    def _headers(self) -> dict[str, str]:
        h = respond.base_headers()
        h["X-Etcd-Cluster-Id"] = f"{self.server.cluster_id:x}"
        h["Content-Type"] = facts.JSON
        return h

    async def handle(self, request: Request, path: str) -> Response:
        sub = path[len(AUTH_PREFIX) :]
        if sub == "/enable":
            return await self._enable(request)
        for kind in ("/users", "/roles"):
            if sub == kind or sub.startswith(kind + "/"):
                pieces = posixpath.normpath(sub).split("/")
                if len(pieces) == 2:
                    return await self._list(request, kind)
                if len(pieces) != 3:
                    return respond.message(400, "Invalid path")
                return await self._one(request, kind, pieces[2])
        return respond.not_found()

    async def _enable(self, request: Request) -> Response:
        method = request.method
        if method not in _FOR_ONE:
            return respond.method_not_allowed(_FOR_ONE)
        if not await self.access.write_root(method, credentials(request)):
            return refusal()
        headers = self._headers()
        store = self.access.store
        if method == "GET":
            enabled = "true" if store.auth_enabled() else "false"
            return _encoded(f'{{"enabled":{enabled}}}', headers=headers)
        try:
            if method == "PUT":
                await store.enable_auth()
            else:
                await store.disable_auth()
        except (AuthError, EtcdError) as e:
            return _failure(e, headers)
        return respond.json_body(b"", headers=headers)

    async def _list(self, request: Request, kind: str) -> Response:
        if request.method != "GET":
            return respond.method_not_allowed(("GET",))
        if not await self.access.root(credentials(request)):
            return refusal()
        headers = self._headers()
        store = self.access.store
        try:
            if kind == "/roles":
                roles = [(await store.get_role(n)).to_json() for n in store.all_roles()]
                return _encoded(f'{{"roles":[{",".join(roles)}]}}', headers=headers)
            users = []
            for name in store.all_users():
                users.append(await self._user_with_roles(await store.get_user(name), True))
        except (AuthError, EtcdError) as e:
            return _failure(e, headers)
        body = "[" + ",".join(users) + "]" if users else "null"
        return _encoded(f'{{"users":{body}}}', headers=headers)

    async def _user_with_roles(self, user: User, skip_missing: bool) -> str:
        """userWithRoles: the user and its roles in full (`roles` left out when none)."""
        roles = []
        for name in user.roles or ():
            try:
                roles.append((await self.access.store.get_role(name)).to_json())
            except AuthError:
                if not skip_missing:
                    raise
        out = f'{{"user":{respond.go_json(user.user)}'
        if roles:
            out += f',"roles":[{",".join(roles)}]'
        return out + "}"

    async def _one(self, request: Request, kind: str, name: str) -> Response:
        method = request.method
        if method not in _FOR_ONE:
            return respond.method_not_allowed(_FOR_ONE)
        if not await self.access.root(credentials(request)):
            return refusal()
        headers = self._headers()
        store = self.access.store
        try:
            if method == "GET":
                if kind == "/roles":
                    return _encoded((await store.get_role(name)).to_json(), headers=headers)
                user = await store.get_user(name)
                return _encoded(await self._user_with_roles(user, False), headers=headers)
            if method == "DELETE":
                if kind == "/roles":
                    await store.delete_role(name)
                else:
                    await store.delete_user(name)
                return Response(200, b"", headers)
            body, _ = await request.read_body(MAX_FORM_BYTES)
            if kind == "/roles":
                return await self._put_role(body, name, headers)
            return await self._put_user(body, name, headers)
        except (AuthError, EtcdError) as e:
            return _failure(e, headers)

    async def _put_role(self, body: bytes, name: str, headers: dict[str, str]) -> Response:
        try:
            role = decode_role(body)
        except BadJSON:
            return respond.message(400, "Invalid JSON in request body.", headers)
        if role.role != name:
            return respond.message(
                400, "Role JSON name does not match the name in the URL", headers
            )
        store = self.access.store
        empty = (role.grant is None or role.grant.is_empty()) and (
            role.revoke is None or role.revoke.is_empty()
        )
        if empty:
            await store.create_role(role)
            return _encoded(role.to_json(), 201, headers)
        if not role.permissions.is_empty():
            return respond.message(
                400, "Role JSON contains both permissions and grant/revoke", headers
            )
        out: Role = await store.update_role(role)
        return _encoded(out.to_json(), 200, headers)

    async def _put_user(self, body: bytes, name: str, headers: dict[str, str]) -> Response:
        try:
            user = decode_user(body)
        except BadJSON:
            return respond.message(400, "Invalid JSON in request body.", headers)
        if user.user != name:
            return respond.message(
                400, "User JSON name does not match the name in the URL", headers
            )
        store = self.access.store
        created = False
        if not user.grant and not user.revoke:
            if user.roles:
                out = await store.create_user(user)
            else:
                out, created = await store.create_or_update_user(user)
        else:
            if user.roles:
                return respond.message(
                    400, "User JSON contains both roles and grant/revoke", headers
                )
            out = await store.update_user(user)
        shown = User(out.user, "", out.roles, out.grant, out.revoke)  # never the hash
        return _encoded(shown.to_json(), 201 if created else 200, headers)
