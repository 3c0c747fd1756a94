"""Certificates for the TLS tests: a CA, a server+client pair for 127.0.0.1, and the bad
files a user might give (another CA's pair, an expired one, a key of another certificate,
something that is not PEM at all). Made with shoal.tls.certs, once per test module."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from shoal.tls.certs import CertAuthority


@dataclass(frozen=True)
class PKI:
    dir: Path
    ca: str
    cert: str  # for 127.0.0.1 / localhost, CN "member", server and client use
    key: str
    client: str  # CN "client"
    client_key: str
    other_ca: str
    stranger: str  # signed by other_ca
    stranger_key: str
    expired: str
    expired_key: str
    garbage: str

    @classmethod
    def make(cls, d: Path) -> PKI:
        hosts = ["127.0.0.1", "localhost"]
        ca = CertAuthority.create(str(d / "ca"), "shoal test CA")
        other = CertAuthority.create(str(d / "other"), "someone else's CA")
        cert, key = ca.issue(str(d), "member", "member", hosts)
        client, client_key = ca.issue(str(d), "client", "client", [])
        stranger, stranger_key = other.issue(str(d), "stranger", "member", hosts)
        now = datetime.datetime.now(datetime.UTC)
        expired, expired_key = ca.issue(
            str(d),
            "expired",
            "member",
            hosts,
            not_before=now - datetime.timedelta(days=10),
            not_after=now - datetime.timedelta(days=1),
        )
        garbage = d / "garbage.pem"
        garbage.write_text("not a certificate\n")
        return cls(
            d, ca.cert_file, cert, key, client, client_key, other.cert_file, stranger,
            stranger_key, expired, expired_key, str(garbage),
        )  # fmt: skip
