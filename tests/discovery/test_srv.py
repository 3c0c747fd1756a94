"""--discovery-srv with a fake resolver: the initial cluster etcd builds from SRV records."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shoal.etcd.discovery_srv import SRVError, srv_cluster
from shoal.etcd.discovery_start import prepare
from shoal.etcd.flags import load_config

HOSTS = {
    "infra0.example.com": "127.0.0.1",
    "infra1.example.com": "127.0.0.2",
    "infra2.example.com": "127.0.0.3",
}


class FakeResolver:
    def __init__(self, records: dict[str, list[tuple[str, int]]]) -> None:
        self.records = records

    def lookup_srv(self, name: str) -> list[tuple[str, int]]:
        if name not in self.records:
            raise SRVError(f"lookup {name}: no such host")
        return self.records[name]

    def resolve_tcp(self, host: str, port: int) -> str:
        host = host.rstrip(".")
        return f"{HOSTS.get(host, host)}:{port}"


HTTP_RECORDS = {
    "_etcd-server._tcp.example.com": [
        ("infra0.example.com.", 2380),
        ("infra1.example.com.", 2380),
        ("infra2.example.com.", 2380),
    ]
}


def test_targets_are_named_after_this_member_or_numbered() -> None:
    got = srv_cluster(
        FakeResolver(HTTP_RECORDS), "infra1", "example.com", "", ["http://127.0.0.2:2380"]
    )
    assert got == (
        "0=http://infra0.example.com:2380,infra1=http://infra1.example.com:2380,"
        "1=http://infra2.example.com:2380"
    )


def test_https_and_http_records_are_combined_and_srv_name_is_a_suffix() -> None:
    records = {
        "_etcd-server-ssl-prod._tcp.example.com": [("infra0.example.com.", 2380)],
        "_etcd-server-prod._tcp.example.com": [("infra1.example.com.", 2380)],
    }
    got = srv_cluster(
        FakeResolver(records), "infra0", "example.com", "prod", ["https://127.0.0.1:2380"]
    )
    assert got == "infra0=https://infra0.example.com:2380,0=http://infra1.example.com:2380"


def test_this_member_missing_from_the_records() -> None:
    with pytest.raises(SRVError, match='cannot find local etcd member "infra9" in SRV records'):
        srv_cluster(
            FakeResolver(HTTP_RECORDS), "infra9", "example.com", "", ["http://127.0.0.9:2380"]
        )


def test_no_records_at_all() -> None:
    with pytest.raises(SRVError, match="error querying DNS SRV records for _etcd-server-ssl"):
        srv_cluster(FakeResolver({}), "infra0", "example.com", "", ["http://127.0.0.1:2380"])


def test_member_starts_with_the_srv_cluster_and_advertises_the_srv_form(tmp_path: Path) -> None:
    cfg = load_config(
        [
            "--name", "infra0", "--data-dir", str(tmp_path / "infra0"),
            "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
            "--listen-peer-urls", "http://127.0.0.1:2380",
            "--discovery-srv", "example.com",
        ],
        {},
    )  # fmt: skip
    assert asyncio.run(prepare(cfg, FakeResolver(HTTP_RECORDS))) is None
    assert cfg.initial_cluster == [
        ("infra0", "http://infra0.example.com:2380"),
        ("0", "http://infra1.example.com:2380"),
        ("1", "http://infra2.example.com:2380"),
    ]
    assert cfg.advertise_peer_urls == ["http://infra0.example.com:2380"]
    assert cfg.initial_cluster_token == "etcd-cluster"


def test_unresolvable_domain_fails_with_etcds_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = load_config(
        [
            "--name", "infra0", "--data-dir", str(tmp_path / "infra0"),
            "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
            "--listen-peer-urls", "http://127.0.0.1:2380",
            "--discovery-srv", "nowhere.example",
        ],
        {},
    )  # fmt: skip
    assert asyncio.run(prepare(cfg, FakeResolver({}))) == 1
    assert "couldn't resolve during SRV discovery (error querying DNS SRV records" in (
        capsys.readouterr().err
    )
