"""--discovery-srv with a fake resolver: the initial cluster etcd builds from SRV records."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from pathlib import Path

import pytest
from discovery_harness import STARTUP, members

from shoal.etcd.discovery.srv import DNS_SERVER_ENV, DNSResolver, SRVError, srv_cluster
from shoal.etcd.discovery.start import prepare
from shoal.etcd.flags import load_config
from support import SHOAL_ETCD, EtcdMember, Procs, etcd_healthy, free_port, start_etcd

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


class FakeDNS:
    """A UDP DNS server on loopback answering SRV questions from a table (names compressed
    the way real servers do: the target points into the message when it can)."""

    def __init__(self, records: dict[str, list[tuple[str, int]]]) -> None:
        self.records = records
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.addr = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                msg, peer = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            qid = struct.unpack(">H", msg[:2])[0]
            pos, labels = 12, []
            while msg[pos]:
                labels.append(msg[pos + 1 : pos + 1 + msg[pos]].decode())
                pos += 1 + msg[pos]
            question = msg[12 : pos + 5]
            found = self.records.get(".".join(labels), [])
            rcode = 0 if found else 3
            out = struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, len(found), 0, 0) + question
            for target, port in found:
                name = b"".join(bytes([len(p)]) + p.encode() for p in target.rstrip(".").split("."))
                rdata = struct.pack(">HHH", 0, 10, port) + name + b"\0"
                out += b"\xc0\x0c" + struct.pack(">HHIH", 33, 1, 60, len(rdata)) + rdata
            self.sock.sendto(out, peer)


def test_three_members_form_a_cluster_from_dns_srv_records(procs: Procs) -> None:
    hosts = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    peers = [free_port(h) for h in hosts]
    dns = FakeDNS(
        {"_etcd-server._tcp.shoal.test": [(h + ".", p) for h, p in zip(hosts, peers, strict=True)]}
    )
    try:
        clients = []
        for i, (h, p) in enumerate(zip(hosts, peers, strict=True)):
            m = EtcdMember(f"infra{i}", f"http://{h}:{free_port(h)}", f"http://{h}:{p}")
            clients.append(m.client_url)
            start_etcd(
                procs,
                m,
                command=SHOAL_ETCD,
                flags=["--discovery-srv", "shoal.test"],
                env={DNS_SERVER_ENV: dns.addr},
            )
        for i, c in enumerate(clients):
            procs.wait_ready(f"infra{i}", lambda c=c: etcd_healthy(c), STARTUP, f"{c} healthy")  # type: ignore[misc]
        assert sorted(len(m["peerURLs"]) for m in members(clients[0])) == [1, 1, 1]
        assert "got bootstrap from DNS for etcd-server at infra0=http://127.0.0.1:" in (
            procs.log("infra0")
        )
    finally:
        dns.close()


def test_dns_resolver_reads_srv_answers_and_says_no_such_host() -> None:
    dns = FakeDNS({"_etcd-server._tcp.shoal.test": [("a.shoal.test.", 2380)]})
    try:
        host, port = dns.addr.split(":")
        r = DNSResolver((host, int(port)), timeout=5)
        assert r.lookup_srv("_etcd-server._tcp.shoal.test") == [("a.shoal.test.", 2380)]
        with pytest.raises(SRVError, match=f"lookup _x._tcp.shoal.test on {dns.addr}: no such"):
            r.lookup_srv("_x._tcp.shoal.test")
    finally:
        dns.close()
