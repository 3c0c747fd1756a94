"""`shoal etcd --proxy on` with etcd's TLS flags, as etcd's startProxy takes them: the https
listener is served with --cert-file/--key-file (and --client-cert-auth keeps out a client without
a certificate), and the proxy presents its certificate to members that ask for one, on their
client URLs and on the peer URLs it reads /members from."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

from pki import PKI

from support import SHOAL_ETCD, Procs, free_port, wait_until


def _ctx(pki: PKI, cert: str = "", key: str = "") -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=pki.ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def _get(url: str, ctx: ssl.SSLContext, data: bytes | None = None) -> tuple[int, object]:
    req = urllib.request.Request(url, data=data, method="PUT" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=5, context=ctx) as r:
            return int(r.status), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return int(e.code), json.loads(e.read())


def test_a_tls_proxy_in_front_of_a_tls_member(pki: PKI, tmp_path: object) -> None:
    client = f"https://127.0.0.1:{free_port()}"
    peer = f"https://127.0.0.1:{free_port()}"
    proxy = f"https://127.0.0.1:{free_port()}"
    tls = [
        "--cert-file", pki.cert, "--key-file", pki.key, "--trusted-ca-file", pki.ca,
        "--client-cert-auth",
        "--peer-cert-file", pki.cert, "--peer-key-file", pki.key,
        "--peer-trusted-ca-file", pki.ca, "--peer-client-cert-auth",
    ]  # fmt: skip
    with Procs() as procs:
        procs.start("m0", [
            *SHOAL_ETCD, "--name", "m0", "--data-dir", str(procs.dir / "m0"),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"m0={peer}", *tls,
        ])  # fmt: skip
        procs.start("proxy", [
            *SHOAL_ETCD, "--proxy", "on", "--data-dir", str(procs.dir / "px"),
            "--listen-client-urls", proxy, "--initial-cluster", f"m0={peer}", *tls,
        ])  # fmt: skip
        good = _ctx(pki, pki.client, pki.client_key)

        def written() -> bool:
            return _get(proxy + "/v2/keys/k", good, b"")[0] in (200, 201)

        wait_until(written, 60, "a write through the https proxy", ignore=(OSError,))
        status, body = _get(client + "/v2/keys/k", good)
        assert status == 200 and isinstance(body, dict) and body["node"]["key"] == "/k"
        status, body = _get(proxy + "/v2/config/local/proxy", good)
        assert (status, body) == (200, {"endpoints": [client]})
        # No client certificate: the proxy's listener refuses the handshake.
        refused = False
        try:
            _get(proxy + "/v2/keys/k", _ctx(pki))
        except (ssl.SSLError, urllib.error.URLError, ConnectionResetError):
            refused = True
        assert refused
