"""--discovery-srv: the initial cluster from DNS SRV records, as etcd 3.4 builds it.

etcd looks up `_etcd-server-ssl[-<srv name>]._tcp.<domain>` (https peers) and
`_etcd-server[-<srv name>]._tcp.<domain>` (http peers) (embed.Config.GetDNSClusterNames,
pkg/srv.GetCluster). Each target whose resolved address:port equals one of this member's
advertised peer URLs gets this member's name; every other target is named "0", "1", ... in
order. The URL keeps the SRV target's host name (trailing dot dropped). The cluster token stays
--initial-cluster-token.

Deliberate difference: etcd 3.4.23 only keeps the http records when their lookup *failed* (an
inverted test, fixed in 3.5), so an http-only domain fails there; shoal combines both lists as
3.5 does and fails only when neither gives a record.

Python's standard library cannot query SRV records, so the resolver is pluggable (tests pass a
fake one). `shoal etcd` asks DNS itself over UDP (`DNSResolver`: the first nameserver of
/etc/resolv.conf, or $SHOAL_DNS_SERVER as `ip:port`), or, when $SHOAL_DNS_SRV_FILE names a JSON
file (`{"_etcd-server._tcp.example.com": [["host", 2380], ...]}`), reads the records from it.
Host names are resolved by the system either way.
"""

from __future__ import annotations

import json
import os
import random
import socket
import struct
from typing import Protocol
from urllib.parse import urlsplit

from shoal.etcd import log

SRV_FILE_ENV = "SHOAL_DNS_SRV_FILE"
DNS_SERVER_ENV = "SHOAL_DNS_SERVER"
TYPE_SRV = 33
CLASS_IN = 1


class SRVError(Exception):
    pass


class Resolver(Protocol):
    def lookup_srv(self, name: str) -> list[tuple[str, int]]:
        """(target, port) of each SRV record of `name` (`_svc._tcp.domain`); SRVError if none."""
        ...

    def resolve_tcp(self, host: str, port: int) -> str:
        """`ip:port` for host:port (Go's net.ResolveTCPAddr(...).String()); SRVError if not."""
        ...


class HostResolver:
    """Resolves host names with the system; SRV records come from a dict."""

    def __init__(self, records: dict[str, list[tuple[str, int]]] | None = None) -> None:
        self.records = records

    def lookup_srv(self, name: str) -> list[tuple[str, int]]:
        if self.records is None:
            raise SRVError(f"lookup {name}: no SRV resolver configured (set ${SRV_FILE_ENV})")
        found = self.records.get(name) or self.records.get(name + ".")
        if not found:
            raise SRVError(f"lookup {name}: no such host")
        return [(str(t), int(p)) for t, p in found]

    def resolve_tcp(self, host: str, port: int) -> str:
        try:
            infos = socket.getaddrinfo(host.rstrip("."), port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            raise SRVError(f"lookup {host}: no such host") from None
        ip = str(infos[0][4][0])
        return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


class DNSResolver(HostResolver):
    """SRV records from a DNS server over UDP (one question, RD set, no TCP fallback)."""

    def __init__(self, server: tuple[str, int], timeout: float = 5.0) -> None:
        super().__init__(None)
        self.server = server
        self.timeout = timeout

    def lookup_srv(self, name: str) -> list[tuple[str, int]]:
        where = f"lookup {name} on {self.server[0]}:{self.server[1]}"
        qid = random.randrange(1 << 16)
        query = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
        query += _encode_name(name) + struct.pack(">HH", TYPE_SRV, CLASS_IN)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(self.timeout)
            try:
                s.sendto(query, self.server)
                while True:
                    msg, _ = s.recvfrom(65535)
                    if len(msg) >= 12 and struct.unpack(">H", msg[:2])[0] == qid:
                        break
            except OSError as e:
                raise SRVError(f"{where}: {e.strerror or 'i/o timeout'}") from None
        try:
            records = _parse_srv_answer(msg)
        except (struct.error, IndexError, ValueError):
            raise SRVError(f"{where}: cannot unmarshal DNS message") from None
        if not records:
            raise SRVError(f"{where}: no such host")
        # Go orders by priority, then (randomly) by weight; heavier first is close enough here.
        records.sort(key=lambda r: (r[0], -r[1]))
        return [(target, port) for _, _, target, port in records]


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("idna") if label else b""
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def _read_name(msg: bytes, pos: int) -> tuple[str, int]:
    """A possibly compressed name at `pos`: (name with trailing dot, position after it)."""
    labels: list[str] = []
    end = -1
    for _ in range(128):  # bounds pointer loops
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if end < 0:
                end = pos + 2
            pos = ((n & 0x3F) << 8) | msg[pos + 1]
            continue
        if n == 0:
            return ".".join(labels) + ".", (end if end >= 0 else pos + 1)
        labels.append(msg[pos + 1 : pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    raise ValueError("name compression loop")


def _parse_srv_answer(msg: bytes) -> list[tuple[int, int, str, int]]:
    _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    if flags & 0xF:  # rcode: NXDOMAIN and friends mean no records
        return []
    pos = 12
    for _ in range(qd):
        _, pos = _read_name(msg, pos)
        pos += 4
    out = []
    for _ in range(an):
        _, pos = _read_name(msg, pos)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[pos : pos + 10])
        pos += 10
        if rtype == TYPE_SRV:
            prio, weight, port = struct.unpack(">HHH", msg[pos : pos + 6])
            target, _ = _read_name(msg, pos + 6)
            out.append((prio, weight, target, port))
        pos += rdlen
    return out


def _system_dns_server() -> tuple[str, int]:
    given = os.environ.get(DNS_SERVER_ENV, "")
    if given:
        host, _, port = given.rpartition(":")
        return host, int(port)
    try:
        with open("/etc/resolv.conf", encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    return parts[1], 53
    except OSError:
        pass
    return "127.0.0.1", 53  # what Go's resolver assumes without a resolv.conf


def resolver_from_env() -> HostResolver:
    path = os.environ.get(SRV_FILE_ENV, "")
    if not path:
        return DNSResolver(_system_dns_server())
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    return HostResolver({k: [(str(t), int(p)) for t, p in v] for k, v in raw.items()})


def srv_service(service: str, srv_name: str, scheme: str) -> str:
    """srv.GetSRVService: `etcd-server` -> `etcd-server-ssl` for https, `-<name>` suffix."""
    if scheme == "https":
        service += "-ssl"
    return f"{service}-{srv_name}" if srv_name else service


def _get_cluster(
    resolver: Resolver, scheme: str, service: str, name: str, domain: str, apurls: list[str]
) -> list[str]:
    """pkg/srv.GetCluster for one service."""
    mine: dict[str, str] = {}
    for u in apurls:
        p = urlsplit(u)
        mine[resolver.resolve_tcp(p.hostname or "", p.port or 0)] = u
    parts: list[str] = []
    err: Exception | None = None
    temp = 0
    try:
        records = resolver.lookup_srv(f"_{service}._tcp.{domain}")
    except SRVError as e:
        raise SRVError(f"error querying DNS SRV records for _{service} {e}") from None
    for target, port in records:
        try:
            addr = resolver.resolve_tcp(target, port)
        except SRVError as e:
            err = e
            continue
        own = mine.get(addr)
        if own is not None:
            n = name
        else:
            n = str(temp)
            temp += 1
        host = target.removesuffix(".")
        url_host = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if own is not None and urlsplit(own).scheme != scheme:
            err = SRVError(
                f"bootstrap at {scheme}://{url_host} from DNS for {service} has scheme mismatch "
                f"with expected peer {own}"
            )
        else:
            parts.append(f"{n}={scheme}://{url_host}")
    if not parts:
        raise SRVError(f"error querying DNS SRV records for _{service} {err}")
    return parts


def srv_cluster(
    resolver: Resolver, name: str, domain: str, srv_name: str, apurls: list[str]
) -> str:
    """The initial cluster string `name=url,...` for --discovery-srv; SRVError on failure."""
    found: list[str] = []
    errors: list[str] = []
    for scheme in ("https", "http"):
        service = srv_service("etcd-server", srv_name, scheme)
        try:
            got = _get_cluster(resolver, scheme, service, name, domain, apurls)
        except SRVError as e:
            got = []
            errors.append(str(e))
        log.info("embed", f"get cluster for {service} SRV: found {got}")
        found += got
    if not found:
        msg = errors[0] if errors else "no SRV records"
        log.error("embed", f"couldn't resolve during SRV discovery ({msg})")
        raise SRVError(msg)
    for s in found:
        log.info("embed", f"got bootstrap from DNS for etcd-server at {s}")  # a Notice in etcd
    names = {part.partition("=")[0] for part in found}
    if name not in names:
        raise SRVError(f'cannot find local etcd member "{name}" in SRV records')
    return ",".join(found)
