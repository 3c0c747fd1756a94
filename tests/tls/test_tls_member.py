"""`shoal etcd` with etcd's TLS flags: https on the client and peer ports, a client or peer
without a trusted certificate kept out, and bad certificate files refused in one line."""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from pki import PKI

from support import SHOAL_ETCD, Procs, free_port, wait_until

FAST = ["--heartbeat-interval", "50", "--election-timeout", "500"]


def _ctx(pki: PKI, cert: str = "", key: str = "", ca: str = "") -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca or pki.ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def _get(url: str, ctx: ssl.SSLContext, data: bytes | None = None) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(url, data=data, method="PUT" if data is not None else "GET")
    if data is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=5, context=ctx) as r:
            return int(r.status), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return int(e.code), json.loads(e.read())


def _member_flags(name: str, client: str, peer: str, cluster: str, data: Path) -> list[str]:
    return [
        "--name", name, "--data-dir", str(data),
        "--listen-client-urls", client, "--advertise-client-urls", client,
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
        "--initial-cluster", cluster, *FAST,
    ]  # fmt: skip


def _tls_flags(cert: str, key: str, ca: str) -> list[str]:
    return [
        "--cert-file", cert, "--key-file", key, "--trusted-ca-file", ca,
        "--client-cert-auth",
        "--peer-cert-file", cert, "--peer-key-file", key, "--peer-trusted-ca-file", ca,
        "--peer-client-cert-auth",
    ]  # fmt: skip


def _cluster(n: int) -> tuple[list[str], list[str], str]:
    clients = [f"https://127.0.0.1:{free_port()}" for _ in range(n)]
    peers = [f"https://127.0.0.1:{free_port()}" for _ in range(n)]
    return clients, peers, ",".join(f"m{i}={p}" for i, p in enumerate(peers))


def test_a_tls_cluster_serves_https_and_keeps_out_a_peer_with_another_ca(
    pki: PKI, tmp_path: Path
) -> None:
    clients, peers, cluster = _cluster(3)
    good = _ctx(pki, pki.client, pki.client_key)
    with Procs(tmp_path) as procs:
        for i in range(3):
            # m2 has a certificate from another CA (and trusts only that CA).
            cert, key, ca = (
                (pki.stranger, pki.stranger_key, pki.other_ca)
                if i == 2
                else (pki.cert, pki.key, pki.ca)
            )
            flags = _member_flags(f"m{i}", clients[i], peers[i], cluster, tmp_path / f"m{i}")
            procs.start(f"m{i}", [*SHOAL_ETCD, *flags, *_tls_flags(cert, key, ca)])

        def written() -> bool:
            status, _ = _get(clients[0] + "/v2/keys/k", good, b"value=v")
            return status in (200, 201)

        wait_until(written, 60, "a write through m0 (m0 and m1 form a quorum)", ignore=(OSError,))
        status, body = _get(clients[1] + "/v2/keys/k", good)
        assert status == 200 and body["node"]["value"] == "v"  # type: ignore[index]
        _, members = _get(clients[0] + "/v2/members", good)
        urls = {u for m in members["members"] for u in m["peerURLs"]}  # type: ignore
        assert urls == set(peers)  # https URLs advertised

        # The stranger never joins: its peers cannot verify it (nor it them); it has no leader.
        logs = lambda: procs.log("m0") + procs.log("m1") + procs.log("m2")  # noqa: E731
        wait_until(
            lambda: "x509: certificate signed by unknown authority" in logs(),
            30,
            "m2 and its peers refusing each other's certificates",
        )
        stranger_ctx = _ctx(pki, pki.stranger, pki.stranger_key, pki.other_ca)
        assert _get(clients[2] + "/health", stranger_ctx)[0] == 503
        status, body = _get(clients[2] + "/v2/keys/k", stranger_ctx)
        assert (status, body["errorCode"]) == (404, 100)  # the write never reached it
        assert procs.running("m2")


def test_a_client_without_a_certificate_is_refused_when_client_cert_auth_is_on(
    pki: PKI, tmp_path: Path
) -> None:
    clients, peers, cluster = _cluster(1)
    with Procs(tmp_path) as procs:
        flags = _member_flags("m0", clients[0], peers[0], cluster, tmp_path / "m0")
        procs.start("m0", [*SHOAL_ETCD, *flags, *_tls_flags(pki.cert, pki.key, pki.ca)])
        good = _ctx(pki, pki.client, pki.client_key)
        wait_until(
            lambda: _get(clients[0] + "/health", good)[0] == 200,
            60,
            "healthy",
            ignore=(OSError,),
        )
        for ctx in (_ctx(pki), _ctx(pki, pki.stranger, pki.stranger_key)):
            with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
                _get(clients[0] + "/v2/keys/", ctx)
        # Plain http on an https port is no way in either.
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            urllib.request.urlopen(clients[0].replace("https", "http") + "/v2/keys/", timeout=5)


@pytest.mark.parametrize(
    "case", ["missing", "garbage", "mismatch", "expired", "no-key", "https-without-cert"]
)
def test_bad_certificate_files_are_one_line_and_exit_1(pki: PKI, tmp_path: Path, case: str) -> None:
    missing = str(tmp_path / "nope.pem")
    tls = {
        "missing": (["--cert-file", missing, "--key-file", pki.key], f"open {missing}: "),
        "garbage": (["--cert-file", pki.garbage, "--key-file", pki.key], pki.garbage),
        "mismatch": (["--cert-file", pki.cert, "--key-file", pki.client_key], "does not match"),
        "expired": (["--cert-file", pki.expired, "--key-file", pki.expired_key], "expired"),
        "no-key": (["--cert-file", pki.cert], "KeyFile and CertFile must both be present"),
        "https-without-cert": ([], "TLS key/cert (--cert-file, --key-file) must be provided"),
    }
    extra, expected = tls[case]
    clients, _, _ = _cluster(1)
    peer = f"http://127.0.0.1:{free_port()}"
    flags = _member_flags("m0", clients[0], peer, f"m0={peer}", tmp_path / "m0")
    r = subprocess.run([*SHOAL_ETCD, *flags, *extra], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    critical = [line for line in r.stderr.splitlines() if " C | " in line]
    assert len(critical) == 1 and expected in critical[0], r.stderr
    assert "Traceback" not in r.stderr
