"""Who may do what, from a request's credentials (etcd's v2http/client_auth.go checks).

With auth off everyone may do everything. With it on: the members API and the auth API's
writes need a user with the root role (reads of the members are open); a key needs a role of
the user granting it (a glob `/a/*` covers `/a/b`; a recursive request needs a glob); a request
without an Authorization header is the guest role, unless client-cert-auth is on and the client
presented a certificate whose CN names a user. Wrong credentials are refused outright, never
downgraded to guest.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from shoal.etcd.v2auth.model import GUEST_ROLE_NAME, ROOT_ROLE_NAME, AuthError, User
from shoal.etcd.v2auth.store import AuthStore


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request carries: its Authorization header ("" when absent) and, on a TLS
    connection with a verified client certificate, that certificate's CN."""

    authorization: str = ""
    cert_cn: str = ""


def basic_auth(header: str) -> tuple[str, str] | None:
    """Go's Request.BasicAuth: `Basic <base64(user:password)>`, the scheme case-insensitive."""
    prefix = "basic "
    if len(header) < len(prefix) or header[: len(prefix)].lower() != prefix:
        return None
    try:
        decoded = base64.b64decode(header[len(prefix) :], validate=True).decode(
            "utf-8", "surrogateescape"
        )
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


class Access:
    def __init__(self, store: AuthStore, client_cert_auth: bool = False) -> None:
        self.store = store
        self.client_cert_auth = client_cert_auth

    async def _basic_user(self, creds: Credentials) -> User | None:
        pair = basic_auth(creds.authorization)
        if pair is None:
            return None
        try:
            user = await self.store.get_user(pair[0])
        except AuthError:
            return None
        return user if await self.store.check_password(user, pair[1]) else None

    async def _cert_user(self, creds: Credentials) -> User | None:
        if not creds.cert_cn:
            return None
        try:
            return await self.store.get_user(creds.cert_cn)
        except AuthError:
            return None

    async def root(self, creds: Credentials) -> bool:
        """hasRootAccess."""
        if not self.store.auth_enabled():
            return True
        if not creds.authorization and self.client_cert_auth:
            user = await self._cert_user(creds)
        else:
            user = await self._basic_user(creds)
        return user is not None and ROOT_ROLE_NAME in (user.roles or ())

    async def write_root(self, method: str, creds: Credentials) -> bool:
        """hasWriteRootAccess: reads are open, writes need root."""
        return method in ("GET", "HEAD") or await self.root(creds)

    async def key(self, method: str, key: str, recursive: bool, creds: Credentials) -> bool:
        """hasKeyPrefixAccess for `key` (the path after /v2/keys, as the client wrote it)."""
        if not self.store.auth_enabled():
            return True
        write = method not in ("GET", "HEAD")
        if not creds.authorization:
            user = await self._cert_user(creds) if self.client_cert_auth else None
            if user is None:
                return await self._guest(key, write)
        else:
            user = await self._basic_user(creds)
            if user is None:
                return False
        for name in user.roles or ():
            try:
                role = await self.store.get_role(name)
            except AuthError:
                continue
            ok = (
                role.has_recursive_access(key, write)
                if recursive
                else role.has_key_access(key, write)
            )
            if ok:
                return True
        return False

    async def _guest(self, key: str, write: bool) -> bool:
        try:
            role = await self.store.get_role(GUEST_ROLE_NAME)
        except AuthError:
            return False
        return role.has_key_access(key, write)
