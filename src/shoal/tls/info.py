"""`TLSInfo`: one side's TLS settings, as etcd's flags give them, and its `ssl.SSLContext`s.

It follows etcd 3.4's pkg/transport/listener.go: at least TLS 1.2; a server asks for and
verifies a client certificate when a trusted CA file is given *or* client-cert-auth is on (with
no CA file, against the system's roots); a client presents its own pair when it has one and
skips verification of the server only for auto-TLS (self-signed) settings. `allowed_cn` (etcd's
--peer-cert-allowed-cn) cannot be a handshake callback in Python's ssl module, so whoever
accepts a connection calls `cn_allowed` with the verified peer certificate and closes it when
that says no.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

from shoal.tls import ciphers, files
from shoal.tls.files import TLSError


@dataclass(frozen=True, slots=True)
class TLSInfo:
    cert_file: str = ""
    key_file: str = ""
    trusted_ca_file: str = ""
    client_cert_auth: bool = False
    allowed_cn: str = ""
    cipher_suites: tuple[str, ...] = ()
    self_cert: bool = False  # made by --auto-tls / --peer-auto-tls: clients do not verify it

    def empty(self) -> bool:
        return not self.cert_file and not self.key_file

    def describe(self) -> str:
        """etcd's TLSInfo.String(), which it logs at start (no secret in it: paths only)."""
        return (
            f"cert = {self.cert_file}, key = {self.key_file}, trusted-ca = "
            f"{self.trusted_ca_file}, client-cert-auth = {str(self.client_cert_auth).lower()}, "
            "crl-file = "
        )

    def check(self) -> None:
        """Raise TLSError naming the first file that cannot be used (see shoal.tls.files)."""
        files.load_pair(self.cert_file, self.key_file)
        if self.trusted_ca_file:
            files.load_ca(self.trusted_ca_file)
        _cipher_list(self.cipher_suites)

    def server_context(self) -> ssl.SSLContext:
        self.check()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        _load_pair(ctx, self.cert_file, self.key_file)
        if self.trusted_ca_file or self.client_cert_auth:
            ctx.verify_mode = ssl.CERT_REQUIRED
            if self.trusted_ca_file:
                ctx.load_verify_locations(cafile=self.trusted_ca_file)
            else:
                ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
        _set_ciphers(ctx, self.cipher_suites)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        if self.trusted_ca_file:
            files.load_ca(self.trusted_ca_file)
        ctx = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=self.trusted_ca_file or None
        )
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if not self.empty():
            files.load_pair(self.cert_file, self.key_file)
            _load_pair(ctx, self.cert_file, self.key_file)
        if self.self_cert:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        _set_ciphers(ctx, self.cipher_suites)
        return ctx

    def cn_allowed(self, peercert: dict[str, Any] | None) -> bool:
        """Whether a connection whose verified certificate is `peercert` (the dict
        `getpeercert()` returns) may stay: always, unless `allowed_cn` is set."""
        return not self.allowed_cn or peer_common_name(peercert) == self.allowed_cn


def client_context(ca_file: str = "", cert_file: str = "", key_file: str = "") -> ssl.SSLContext:
    """The context of an etcd client given etcdctl's --ca-file/--cert-file/--key-file (or
    fleet's etcd_cafile/...): the CA verifies servers (the system's roots without one)."""
    return TLSInfo(cert_file, key_file, ca_file).client_context()


def peer_common_name(peercert: dict[str, Any] | None) -> str:
    """The subject CN of a certificate as `SSLSocket.getpeercert()` describes it ("" if none)."""
    for rdn in (peercert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return ""


def _load_pair(ctx: ssl.SSLContext, cert_file: str, key_file: str) -> None:
    try:
        ctx.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as e:  # files.load_pair checked them; a race or odd format
        raise TLSError(f"{cert_file}, {key_file}: {e}") from None


def _cipher_list(names: tuple[str, ...]) -> str:
    try:
        return ciphers.openssl_cipher_list(names)
    except ciphers.UnknownCipherSuite as e:
        raise TLSError(str(e)) from None


def _set_ciphers(ctx: ssl.SSLContext, names: tuple[str, ...]) -> None:
    spec = _cipher_list(names)
    if not spec:
        return
    try:
        ctx.set_ciphers(spec)
    except ssl.SSLError:
        raise TLSError(f"none of the TLS cipher suites {', '.join(names)} is available") from None
