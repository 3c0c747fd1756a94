"""shoal.tls: the one-line errors for files a user gets wrong, and the contexts for good ones."""

from __future__ import annotations

import os
import ssl
import stat
from pathlib import Path

import pytest
from pki import PKI

from shoal.tls import TLSError, TLSInfo
from shoal.tls.certs import self_cert


def _error(info: TLSInfo) -> str:
    with pytest.raises(TLSError) as e:
        info.server_context()
    return str(e.value)


def test_a_missing_certificate_file_is_named_as_go_names_it(pki: PKI) -> None:
    missing = str(pki.dir / "nope.pem")
    assert _error(TLSInfo(missing, pki.key)) == f"open {missing}: no such file or directory"


def test_a_file_that_is_not_pem_is_named_with_gos_words(pki: PKI) -> None:
    assert _error(TLSInfo(pki.garbage, pki.key)) == (
        f"{pki.garbage}: tls: failed to find any PEM data in certificate input"
    )
    assert _error(TLSInfo(pki.cert, pki.garbage)) == (
        f"{pki.garbage}: tls: failed to find any PEM data in key input"
    )


def test_a_key_of_another_certificate_names_both_files(pki: PKI) -> None:
    assert _error(TLSInfo(pki.cert, pki.client_key)) == (
        f"{pki.cert}, {pki.client_key}: tls: private key does not match public key"
    )


def test_an_expired_certificate_is_refused_naming_it(pki: PKI) -> None:
    msg = _error(TLSInfo(pki.expired, pki.expired_key))
    assert msg.startswith(f"{pki.expired}: x509: certificate has expired (not valid after ")


def test_a_certificate_without_its_key_gets_etcds_message(pki: PKI) -> None:
    assert _error(TLSInfo(pki.cert, "")) == (
        f"KeyFile and CertFile must both be present[key: , cert: {pki.cert}]"
    )


def test_a_ca_file_without_certificates_is_refused(pki: PKI) -> None:
    assert "failed to find any PEM data" in _error(TLSInfo(pki.cert, pki.key, pki.garbage))


def test_an_unknown_cipher_suite_gets_etcds_message(pki: PKI) -> None:
    assert _error(TLSInfo(pki.cert, pki.key, cipher_suites=("TLS_FOO",))) == (
        'unexpected TLS cipher suite "TLS_FOO"'
    )


def test_a_trusted_ca_makes_the_server_require_client_certificates(pki: PKI) -> None:
    # etcd 3.4: RequireAndVerifyClientCert when a CA file is given, even without
    # --client-cert-auth.
    assert TLSInfo(pki.cert, pki.key).server_context().verify_mode == ssl.CERT_NONE
    ctx = TLSInfo(pki.cert, pki.key, pki.ca).server_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2


def test_auto_tls_makes_a_self_signed_pair_once_with_a_private_key(tmp_path: object) -> None:
    d = os.path.join(str(tmp_path), "fixtures", "client")
    first = self_cert(d, ["127.0.0.1"])
    assert first.self_cert and first.cert_file == os.path.join(d, "cert.pem")
    assert stat.S_IMODE(os.stat(first.key_file).st_mode) == 0o600
    before = Path(first.cert_file).read_bytes()
    again = self_cert(d, ["127.0.0.1"])
    assert Path(again.cert_file).read_bytes() == before  # reused, as etcd's SelfCert does
    first.server_context()  # a usable pair
    client = first.client_context()
    assert client.verify_mode == ssl.CERT_NONE  # etcd's clients skip verifying a self cert
