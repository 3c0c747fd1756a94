"""The discovery protocol run in-process against a registry: each failure prints etcd's
message, success sets the initial cluster and etcd's cluster token, retries back off."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from discovery_harness import http, new_token

from shoal.etcd.discovery.protocol import Discovery, DiscoveryError, Registry
from shoal.etcd.discovery.start import prepare
from shoal.etcd.flags import EtcdConfig, load_config
from shoal.etcd.ids import member_id
from support import free_port


def _cfg(tmp: Path, token: str, *flags: str, name: str = "m") -> EtcdConfig:
    peer = f"http://127.0.0.1:{free_port()}"
    client = f"http://127.0.0.1:{free_port()}"
    return load_config(
        [
            "--name", name, "--data-dir", str(tmp / name),
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--discovery", token, *flags,
        ],
        {},
    )  # fmt: skip


def _run(cfg: EtcdConfig) -> int | None:
    return asyncio.run(asyncio.wait_for(prepare(cfg), 30))


def test_join_sets_the_initial_cluster_and_the_discovery_url_as_token(
    tmp_path: Path, shoal_registry: str
) -> None:
    token = new_token(shoal_registry, "1")
    cfg = _cfg(tmp_path, token)
    assert _run(cfg) is None
    assert cfg.initial_cluster == [("m", cfg.advertise_peer_urls[0])]
    assert cfg.initial_cluster_token == token
    # Registered under etcd's member ID, with the value etcd writes.
    mid = member_id(cfg.advertise_peer_urls, token)
    status, _, body = http("GET", f"{token}/{mid:x}")
    assert status == 200 and f'"value":"m={cfg.advertise_peer_urls[0]}"' in body


def test_missing_size_key(
    tmp_path: Path, shoal_registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    token = f"{shoal_registry}/v2/keys/_etcd/registry/{os.urandom(16).hex()}"
    assert _run(_cfg(tmp_path, token)) == 1
    err = capsys.readouterr().err
    assert "E | etcdmain: failed to join discovery cluster (discovery: size key not found)" in err
    assert f"discovery token {token} was used, but failed to bootstrap the cluster." in err


def test_bad_size_key(
    tmp_path: Path, shoal_registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    token = new_token(shoal_registry, "three")
    assert _run(_cfg(tmp_path, token)) == 1
    assert "(discovery: size key is bad)" in capsys.readouterr().err


def test_duplicate_id(
    tmp_path: Path, shoal_registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    token = new_token(shoal_registry, "3")
    cfg = _cfg(tmp_path, token)
    mid = member_id(cfg.advertise_peer_urls, token)
    http("PUT", f"{token}/{mid:x}", {"value": f"m={cfg.advertise_peer_urls[0]}"})
    assert _run(cfg) == 1
    err = capsys.readouterr().err
    assert "(discovery: found duplicate id)" in err
    assert f'member "m" has previously registered with discovery service token ({token}).' in err


def test_duplicate_name(
    tmp_path: Path, shoal_registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    token = new_token(shoal_registry, "2")
    http("PUT", f"{token}/abcd", {"value": "m=http://127.0.0.9:2380"})
    assert _run(_cfg(tmp_path, token)) == 1
    err = capsys.readouterr().err
    assert "(discovery: found duplicate name)" in err
    assert "member with duplicated name has registered with discovery service token" in err


def test_full_cluster_with_fallback_exit(
    tmp_path: Path, shoal_registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    token = new_token(shoal_registry, "1")
    http("PUT", f"{token}/abcd", {"value": "other=http://127.0.0.9:2380"})
    assert _run(_cfg(tmp_path, token, "--discovery-fallback", "exit")) == 1
    assert "failed to join discovery cluster (discovery: cluster is full)" in (
        capsys.readouterr().err
    )


def test_member_with_data_ignores_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _cfg(tmp_path, "http://127.0.0.1:1/never-asked")
    wal = tmp_path / "m" / "member" / "wal"
    wal.mkdir(parents=True)
    (wal / "0000000000000000-0000000000000000.wal").write_bytes(b"")
    assert _run(cfg) is None
    assert cfg.initial_cluster == []
    err = capsys.readouterr().err
    assert "discovery token ignored since a cluster has already been initialized. " in err
    assert f'Valid log found at "{wal}"' in err


def test_unreachable_registry_is_retried_with_exponential_backoff(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    delays: list[float] = []

    async def sleep(d: float) -> None:
        delays.append(d)
        if len(delays) == 10:
            raise DiscoveryError("stop")

    async def go() -> None:
        reg = Registry(f"http://127.0.0.1:{port}/tok")
        try:
            await Discovery(reg, 1, sleep=sleep).join_cluster("m=http://127.0.0.1:2380")
        finally:
            await reg.close()

    with pytest.raises(DiscoveryError, match="stop"):
        asyncio.run(go())
    assert delays == [2, 4, 8, 16, 32, 64, 128, 256, 256, 256]
    err = capsys.readouterr().err
    assert f"E | discovery: error #0: dial tcp 127.0.0.1:{port}: connect: connection refused" in err
    assert (
        f"I | discovery: cluster status check: error connecting to http://127.0.0.1:{port}, "
        "retrying in 2s" in err
    )


def test_discovery_proxy_carries_the_traffic(tmp_path: Path, shoal_registry: str) -> None:
    """--discovery-proxy: every request goes to the proxy (absolute-form targets)."""
    token = new_token(shoal_registry, "1")
    seen: list[str] = []

    async def go() -> int | None:
        async def handle(request: web.BaseRequest) -> web.Response:
            seen.append(request.method + " " + str(request.url))
            async with (
                aiohttp.ClientSession() as s,
                s.request(
                    request.method,
                    shoal_registry + request.path_qs,
                    data=await request.read(),
                    headers={"Content-Type": request.headers.get("Content-Type", "")},
                ) as r,
            ):
                keep = {"Content-Type", "X-Etcd-Index"}
                headers = {k: v for k, v in r.headers.items() if k in keep}
                return web.Response(status=r.status, body=await r.read(), headers=headers)

        runner = web.ServerRunner(web.Server(handle))
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        try:
            cfg = _cfg(tmp_path, token, "--discovery-proxy", f"127.0.0.1:{sock.getsockname()[1]}")
            return await asyncio.wait_for(prepare(cfg), 30)
        finally:
            await runner.cleanup()

    assert asyncio.run(go()) is None
    assert any(s.startswith("PUT ") and "prevExist=false" in s for s in seen)
    assert any("_config/size" in s for s in seen)
