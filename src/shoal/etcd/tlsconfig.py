"""etcd's Security flags -> the member's client and peer `TLSInfo` (embed/config.go, etcd.go).

What etcd 3.4 does, in its order: --auto-tls / --peer-auto-tls make (or reuse) a self-signed
pair under `<data-dir>/fixtures/{client,peer}` for the listen URLs' hosts, unless certificate
files are given (then they are ignored with a warning); an https (or unixs) URL without a
certificate is refused with etcd's message. Files are checked before anything is served, so a
bad one is one line naming it (shoal.tls.files) and exit 1.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from shoal.etcd import log
from shoal.etcd.flags import EtcdConfig
from shoal.tls import TLSError, TLSInfo
from shoal.tls.certs import self_cert

_SECURE = ("https", "unixs")


def _hosts(urls: list[str]) -> list[str]:
    return [h for h in (urlsplit(u).hostname for u in urls) if h]


def _side(cfg: EtcdConfig, prefix: str, auto_flag: str, dirname: str, urls: list[str]) -> TLSInfo:
    raw = cfg.raw
    suites = tuple(s.strip() for s in raw["cipher-suites"].split(",") if s.strip())
    info = TLSInfo(
        cert_file=raw[f"{prefix}cert-file"],
        key_file=raw[f"{prefix}key-file"],
        trusted_ca_file=raw[f"{prefix}trusted-ca-file"],
        client_cert_auth=raw[f"{prefix}client-cert-auth"],
        allowed_cn=raw["peer-cert-allowed-cn"] if prefix else "",
        cipher_suites=suites,
    )
    side = "peer" if prefix else "client"
    if raw[auto_flag]:
        if not info.empty():
            log.warning("embed", f"ignoring {side} auto TLS since certs given")
        else:
            made = self_cert(os.path.join(cfg.data_dir, "fixtures", dirname), _hosts(urls))
            info = TLSInfo(
                cert_file=made.cert_file,
                key_file=made.key_file,
                trusted_ca_file=info.trusted_ca_file,
                client_cert_auth=info.client_cert_auth,
                allowed_cn=info.allowed_cn,
                cipher_suites=suites,
                self_cert=True,
            )
    return info


def configure(cfg: EtcdConfig) -> None:
    """Set `cfg.client_tls` and `cfg.peer_tls` (None: plain) or raise TLSError."""
    client = _side(cfg, "", "auto-tls", "client", cfg.listen_client_urls)
    peer = _side(cfg, "peer-", "peer-auto-tls", "peer", cfg.listen_peer_urls)
    for u in cfg.listen_peer_urls:
        if urlsplit(u).scheme in _SECURE and peer.empty():
            raise TLSError(
                "TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for peer "
                f"url {u} with HTTPS scheme"
            )
    for u in cfg.listen_client_urls:
        if urlsplit(u).scheme in _SECURE and client.empty():
            raise TLSError(
                "TLS key/cert (--cert-file, --key-file) must be provided for client url "
                f"{u} with HTTPS scheme"
            )
    if not peer.empty():
        log.info("embed", f"peerTLS: {peer.describe()}")
        peer.check()
    if not client.empty():
        log.info("embed", f"ClientTLS: {client.describe()}")
        client.check()
    cfg.client_tls = None if client.empty() else client
    cfg.peer_tls = None if peer.empty() else peer
