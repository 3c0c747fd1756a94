"""Making keys and certificates: etcd's --auto-tls pair, and a small CA for `shoal up --tls`.

`self_cert` is etcd's transport.SelfCert: `cert.pem` and `key.pem` in a directory (etcd uses
`<data-dir>/fixtures/client` and `.../peer`), an ECDSA P-521 key, Organization "etcd", valid
for one year, the listen hosts as IP or DNS names; existing files are reused as they are.
`CertAuthority` issues ECDSA P-256 certificates good for both server and client use, which is
what a member needs (its peer certificate is also the client certificate it dials with).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shoal.tls.files import write_private
from shoal.tls.info import TLSInfo

_YEAR = datetime.timedelta(days=365)
_SERVER_AND_CLIENT = x509.ExtendedKeyUsage(
    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # "EC PRIVATE KEY", as etcd writes
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _names(hosts: list[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for h in hosts:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            out.append(x509.DNSName(h))
    return out


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def self_cert(dirpath: str, hosts: list[str]) -> TLSInfo:
    """etcd's SelfCert for `hosts` (host names or IPs, no ports) in `dirpath`."""
    os.makedirs(dirpath, mode=0o700, exist_ok=True)
    cert_path = os.path.join(dirpath, "cert.pem")
    key_path = os.path.join(dirpath, "key.pem")
    if not (os.path.exists(cert_path) and os.path.exists(key_path)):
        key = ec.generate_private_key(ec.SECP521R1())
        now = _now()
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "etcd")])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + _YEAR)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, True, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(_SERVER_AND_CLIENT, critical=False)
        )
        names = _names(hosts)
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(key, hashes.SHA256())
        with open(cert_path, "wb") as f:
            f.write(_cert_pem(cert))
        write_private(key_path, _key_pem(key))
    return TLSInfo(cert_file=cert_path, key_file=key_path, self_cert=True)


@dataclass(frozen=True, slots=True)
class CertAuthority:
    """A CA key and certificate, and the files they are kept in."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    cert_file: str

    @classmethod
    def create(cls, dirpath: str, common_name: str) -> CertAuthority:
        """A new CA in `dirpath` (ca.pem, ca-key.pem 0600), valid for ten years."""
        os.makedirs(dirpath, mode=0o700, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + 10 * _YEAR)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        cert_file = os.path.join(dirpath, "ca.pem")
        with open(cert_file, "wb") as f:
            f.write(_cert_pem(cert))
        write_private(os.path.join(dirpath, "ca-key.pem"), _key_pem(key))
        return cls(key, cert, cert_file)

    @classmethod
    def load(cls, dirpath: str) -> CertAuthority:
        cert_file = os.path.join(dirpath, "ca.pem")
        with open(cert_file, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(os.path.join(dirpath, "ca-key.pem"), "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return cls(key, cert, cert_file)

    def issue(
        self,
        dirpath: str,
        stem: str,
        common_name: str,
        hosts: list[str],
        *,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
    ) -> tuple[str, str]:
        """`<stem>.pem` and `<stem>-key.pem` (0600) in `dirpath`, for `hosts` (IPs or DNS
        names), usable as server and client certificate. Returns (cert file, key file)."""
        os.makedirs(dirpath, mode=0o700, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - datetime.timedelta(minutes=5))
            .not_valid_after(not_after or now + _YEAR)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_SERVER_AND_CLIENT, critical=False)
        )
        names = _names(hosts)
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        cert_file = os.path.join(dirpath, f"{stem}.pem")
        key_file = os.path.join(dirpath, f"{stem}-key.pem")
        with open(cert_file, "wb") as f:
            f.write(_cert_pem(cert))
        write_private(key_file, _key_pem(key))
        return cert_file, key_file
