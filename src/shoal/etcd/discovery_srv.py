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

Python's standard library cannot query SRV records, so the resolver is pluggable: tests pass a
fake one, and `shoal etcd` reads records from the JSON file named by $SHOAL_DNS_SRV_FILE
(`{"_etcd-server._tcp.example.com": [["host", 2380], ...]}`; hosts are resolved normally).
"""

from __future__ import annotations

import json
import os
import socket
from typing import Protocol
from urllib.parse import urlsplit

from shoal.etcd import log

SRV_FILE_ENV = "SHOAL_DNS_SRV_FILE"


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


def resolver_from_env() -> HostResolver:
    path = os.environ.get(SRV_FILE_ENV, "")
    if not path:
        return HostResolver(None)
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
