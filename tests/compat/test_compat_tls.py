"""TLS side by side: a real etcd 3.4 and `shoal etcd` started with the same certificate flags
(https client port, --client-cert-auth against the same CA); the same requests get the same
answers, and the same clients are turned away (no certificate, another CA's certificate)."""

from __future__ import annotations

import http.client
import json
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import SHOAL_ETCD, EtcdMember, Procs, free_port, require_etcd, start_etcd, wait_until

sys.path.insert(0, str(Path(__file__).parent.parent / "tls"))
from pki import PKI


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return PKI.make(Path(tmp_path_factory.mktemp("pki")))


def _ctx(pki: PKI, cert: str = "", key: str = "", ca: str = "") -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca or pki.ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def _request(
    port: int, ctx: ssl.SSLContext, method: str, target: str, body: str | None = None
) -> tuple[int, str, object]:
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        c.request(method, target, body=body, headers=headers)
        r = c.getresponse()
        data = json.loads(r.read())
        return r.status, r.getheader("Content-Type", ""), data
    finally:
        c.close()


@pytest.fixture(scope="module")
def members(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    require_etcd()
    d = Path(tmp_path_factory.mktemp("tls-compat"))
    tls = [
        "--cert-file", pki.cert, "--key-file", pki.key, "--trusted-ca-file", pki.ca,
        "--client-cert-auth",
    ]  # fmt: skip
    ports: dict[str, int] = {}
    with Procs(d) as procs:
        for kind, command in (("etcd", None), ("shoal", SHOAL_ETCD)):
            port = free_port()
            m = EtcdMember(kind, f"https://127.0.0.1:{port}", f"http://127.0.0.1:{free_port()}")
            kw = {"command": command} if command else {}
            start_etcd(procs, m, cluster=[m], data_dir=d / kind, flags=tls, **kw)  # type: ignore[arg-type]
            ports[kind] = port
        good = _ctx(pki, pki.client, pki.client_key)
        for kind, port in ports.items():
            wait_until(
                lambda p=port: _request(p, good, "GET", "/v2/keys/?quorum=true")[0] == 200,  # type: ignore[misc]
                60,
                f"{kind} serving https",
                ignore=(OSError,),
            )
        yield ports


def _normalized(answer: tuple[int, str, object]) -> tuple[int, str, object]:
    status, ctype, body = answer
    if isinstance(body, dict):
        body = (
            {k: v for k, v in body.items() if k not in ("node", "prevNode")}
            | {"node": {k: v for k, v in body.get("node", {}).items() if not k.endswith("Index")}}
            if "node" in body
            else body
        )
    return status, ctype, body


def test_the_same_requests_over_tls_get_the_same_answers(pki: PKI, members: dict[str, int]) -> None:
    good = _ctx(pki, pki.client, pki.client_key)
    steps = [
        ("PUT", "/v2/keys/tls/a", "value=1"),
        ("GET", "/v2/keys/tls/a", None),
        ("PUT", "/v2/keys/tls/a?prevExist=false", "value=2"),
        ("DELETE", "/v2/keys/tls/nope", None),
        ("GET", "/v2/auth/enable", None),
    ]
    for method, target, body in steps:
        theirs = _normalized(_request(members["etcd"], good, method, target, body))
        ours = _normalized(_request(members["shoal"], good, method, target, body))
        assert theirs == ours, f"{method} {target}"
    for kind, port in members.items():
        _, _, listing = _request(port, good, "GET", "/v2/members")
        urls = [u for m in listing["members"] for u in m["clientURLs"]]  # type: ignore[index]
        assert urls == [f"https://127.0.0.1:{port}"], kind


@pytest.mark.parametrize("who", ["no certificate", "another CA's certificate"])
def test_both_turn_away_a_client_without_a_trusted_certificate(
    pki: PKI, members: dict[str, int], who: str
) -> None:
    ctx = _ctx(pki) if who == "no certificate" else _ctx(pki, pki.stranger, pki.stranger_key)
    for kind, port in members.items():
        with pytest.raises((ssl.SSLError, ConnectionError)):
            _request(port, ctx, "GET", "/v2/keys/")
            pytest.fail(f"{kind} answered a client with {who}")
