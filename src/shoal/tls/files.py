"""Reading certificate, key and CA files, with one line saying what is wrong with a bad one.

etcd fails a bad file with Go's error (`open F: no such file or directory`, `tls: failed to find
any PEM data in certificate input`, `tls: private key does not match public key`); shoal keeps
those words and puts the file in front, so the line says which of several files is at fault.
Unlike etcd 3.4, which starts with an expired certificate and fails every handshake later,
an expired (or not yet valid) certificate is refused at once (issue 14 asks for it).
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


class TLSError(Exception):
    """A TLS file or setting that cannot be used; `str()` is the whole one-line message,
    `go` the words Go's crypto/tls would use (without the file, which Go does not name), for
    tools that print exactly what their Go original prints (etcdctl)."""

    def __init__(self, message: str, go: str | None = None) -> None:
        super().__init__(message)
        self.go = go if go is not None else message


def read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        # Go's *PathError text: `open PATH: no such file or directory`.
        reason = (e.strerror or str(e)).lower()
        raise TLSError(f"open {path}: {reason}") from None


def _pem_certs(path: str, data: bytes, what: str) -> list[x509.Certificate]:
    if b"-----BEGIN" not in data:
        raise TLSError(
            f"{path}: tls: failed to find any PEM data in {what} input",
            f"tls: failed to find any PEM data in {what} input",
        )
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise TLSError(f"{path}: x509: cannot parse certificate ({e})") from None
    if not certs:
        raise TLSError(f"{path}: tls: failed to find any PEM data in {what} input")
    return certs


def load_ca(path: str) -> list[x509.Certificate]:
    """The CA certificates in `path` (at least one)."""
    return _pem_certs(path, read_file(path), "certificate")


def _load_key(path: str) -> PrivateKeyTypes:
    data = read_file(path)
    if b"-----BEGIN" not in data:
        raise TLSError(
            f"{path}: tls: failed to find any PEM data in key input",
            "tls: failed to find any PEM data in key input",
        )
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise TLSError(f"{path}: the private key is encrypted; give an unencrypted key") from None
    except (ValueError, x509.UnsupportedGeneralNameType) as e:
        raise TLSError(f"{path}: tls: failed to parse private key ({e})") from None


def _public_der(key: Any) -> bytes:  # every public key type has public_bytes
    der: bytes = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A checked certificate (its chain, leaf first) and its matching private key's file."""

    cert_file: str
    key_file: str
    leaf: x509.Certificate


def load_pair(cert_file: str, key_file: str, now: datetime.datetime | None = None) -> KeyPair:
    """Check that `cert_file` holds a certificate valid now and `key_file` its private key."""
    if not cert_file or not key_file:
        raise TLSError(
            f"KeyFile and CertFile must both be present[key: {key_file}, cert: {cert_file}]"
        )
    leaf = _pem_certs(cert_file, read_file(cert_file), "certificate")[0]
    key = _load_key(key_file)
    if _public_der(key.public_key()) != _public_der(leaf.public_key()):
        raise TLSError(
            f"{cert_file}, {key_file}: tls: private key does not match public key",
            "tls: private key does not match public key",
        )
    now = now or datetime.datetime.now(datetime.UTC)
    if leaf.not_valid_after_utc < now:
        when = leaf.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        raise TLSError(f"{cert_file}: x509: certificate has expired (not valid after {when})")
    if leaf.not_valid_before_utc > now:
        when = leaf.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        raise TLSError(f"{cert_file}: x509: certificate is not valid yet (not before {when})")
    return KeyPair(cert_file, key_file, leaf)


def write_private(path: str, data: bytes) -> None:
    """Write a secret (a key, a password) readable by its owner only, from the first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)  # an existing file keeps its mode through O_CREAT
        f.write(data)
