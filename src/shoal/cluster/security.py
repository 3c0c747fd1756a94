"""`shoal up --tls` and `--auth`: a secure local cluster in one command.

--tls: a CA and one certificate per machine (its address, CN its name) in DIR/tls (keys 0600);
every member serves https on both ports with those files, peers authenticate each other with
them (--peer-client-cert-auth against the cluster's CA), fleet and `shoal ssh` sessions verify
the members against the CA. Clients are not asked for a certificate (no --trusted-ca-file on the
client port): with --auth they identify with a password instead.

--auth: once the cluster is healthy, a root user with a random password (printed once, kept in
DIR/root.password, 0600), auth enabled, and the guest role cut down from etcd's default
(everything) to fleet's own keys (/_coreos.com/fleet and below), so fleetd needs no secret in
its unit files (which are world-readable) while everything else needs credentials. `shoal ssh`
sessions get ETCDCTL_USERNAME from the password file, so their etcdctl works as root.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import ssl
from pathlib import Path

from shoal.client import AsyncClient
from shoal.client.auth import AuthAPI, Permission
from shoal.cluster.layout import Cluster, ClusterError, Machine
from shoal.tls import TLSInfo, client_context
from shoal.tls.certs import CertAuthority
from shoal.tls.files import write_private

TLS_DIR = "tls"
PASSWORD_FILE = "root.password"
FLEET_KEYS = ["/_coreos.com/fleet", "/_coreos.com/fleet/*"]
"""fleet's registry: the glob for its keys, and the directory itself, which fleetd reads and
watches recursively (a glob does not cover the key it ends below)."""


def ca_file(cluster_dir: Path) -> Path:
    return cluster_dir / TLS_DIR / "ca.pem"


def cert_files(cluster_dir: Path, name: str) -> tuple[Path, Path]:
    d = cluster_dir / TLS_DIR
    return d / f"{name}.pem", d / f"{name}-key.pem"


def make_certificates(cluster_dir: Path, machines: list[tuple[str, str]]) -> None:
    """The CA and a certificate for each (name, address)."""
    ca = CertAuthority.create(str(cluster_dir / TLS_DIR), "shoal local cluster CA")
    for name, address in machines:
        ca.issue(str(cluster_dir / TLS_DIR), name, name, [address, "localhost", "127.0.0.1"])


def with_tls(text: str, cluster_dir: Path, name: str) -> str:
    """A template machine's cloud-config with https URLs and the TLS settings of etcd2 (both
    ports) and fleet (its etcd client)."""
    cert, key = cert_files(cluster_dir, name)
    ca = ca_file(cluster_dir)
    etcd2 = (
        f"    cert-file: {cert}\n    key-file: {key}\n"
        f"    peer-cert-file: {cert}\n    peer-key-file: {key}\n"
        f"    peer-trusted-ca-file: {ca}\n    peer-client-cert-auth: true\n"
    )
    fleet = f"    etcd_cafile: {ca}\n"
    if "\n  etcd2:\n" not in text or "\n  fleet:\n" not in text:
        raise ClusterError("--tls needs the template's coreos.etcd2 and coreos.fleet sections")
    text = text.replace("http://", "https://")
    text = text.replace("\n  etcd2:\n", "\n  etcd2:\n" + etcd2, 1)
    return text.replace("\n  fleet:\n", "\n  fleet:\n" + fleet, 1)


@functools.cache
def _context(ca: str) -> ssl.SSLContext:
    return client_context(ca)


def ssl_context(m: Machine) -> ssl.SSLContext | None:
    """What a client of `m` verifies it with: the cluster's CA (None for plain http)."""
    if not m.client_url.startswith("https://"):
        return None
    ca = ca_file(m.cluster_dir)
    return _context(str(ca)) if ca.exists() else None


def peer_ssl_context(m: Machine) -> ssl.SSLContext | None:
    """For `m`'s https peer port (its fault endpoint): the CA and `m`'s own certificate, which
    the port asks for (--peer-client-cert-auth)."""
    if not m.peer_url.startswith("https://"):
        return None
    cert, key = cert_files(m.cluster_dir, m.name)
    ca = ca_file(m.cluster_dir)
    if not (cert.exists() and ca.exists()):
        return None
    return TLSInfo(str(cert), str(key), str(ca)).client_context()


def session_environment(cluster: Cluster, m: Machine) -> dict[str, str]:
    """What etcdctl in a `shoal ssh` session needs besides the endpoint."""
    env: dict[str, str] = {}
    ca = ca_file(cluster.dir)
    if m.client_url.startswith("https://") and ca.exists():
        env["ETCDCTL_CA_FILE"] = str(ca)
    password = cluster.dir / PASSWORD_FILE
    if password.exists():
        env["ETCDCTL_USERNAME"] = "root:" + password.read_text().strip()
    return env


def enable_auth(cluster: Cluster) -> str | None:
    """Create root (a new random password), enable auth, narrow guest to fleet's keys; returns
    the password, or None when DIR/root.password says this was done before."""
    path = cluster.dir / PASSWORD_FILE
    if path.exists():
        return None
    password = secrets.token_urlsafe(18)
    m = cluster.members[0]
    asyncio.run(_enable(m, password))
    write_private(str(path), (password + "\n").encode())
    return password


async def _enable(m: Machine, password: str) -> None:
    urls = [m.client_url]
    async with AsyncClient(urls, ssl_context=ssl_context(m), total_timeout=30) as c:
        api = AuthAPI(c)
        await api.add_user("root", password)
        await api.enable()
    async with AsyncClient(
        urls, username="root", password=password, ssl_context=ssl_context(m), total_timeout=30
    ) as c:
        api = AuthAPI(c)
        await api.grant_role_kv("guest", FLEET_KEYS, Permission.READWRITE)
        await api.revoke_role_kv("guest", ["/*"], Permission.READWRITE)
