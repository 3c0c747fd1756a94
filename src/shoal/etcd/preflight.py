"""What etcd checks before it writes anything: the data dir can be listed, every listen address
can be bound (peer URLs, then client URLs), and the data dir can be made and written to.

etcd 3.4 fails these in that order with one `C | etcdmain: ...` line and exit 1, and because its
listeners open before its server touches the data dir, a port in use leaves nothing on disk. The
member here bootstraps (writes member/wal) before it listens, so these run first; the messages are
those /usr/bin/etcd 3.4.23 prints (Go's error texts: `listen tcp 127.0.0.1:2380: bind: address
already in use`, `mkdir d: permission denied`).
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from shoal.etcd.flags import EtcdConfig
from shoal.gocompat.syscall import os_error_text


class PreflightError(Exception):
    """The member cannot start; the message is etcd's line (without `C | etcdmain: `)."""


def check(cfg: EtcdConfig, peers: bool = True) -> None:
    """Raise PreflightError with etcd's message for the first check that fails (`peers`: the
    peer URLs are listened on, as a member's are and a proxy's are not)."""
    _listable(cfg.data_dir)
    for url in [*(cfg.listen_peer_urls if peers else []), *cfg.listen_client_urls]:
        _bindable(url)
    _writable(cfg.data_dir)


def _listable(data_dir: str) -> None:
    # etcdmain's identifyDataDirOrDie: a missing dir is a new member; anything else unreadable
    # (a file, a dir under a file, no permission) is fatal with just the dir's name.
    try:
        os.listdir(data_dir)
    except FileNotFoundError:
        return
    except OSError:
        raise PreflightError(f"error listing data dir: {data_dir}") from None


def _bindable(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme in ("unix", "unixs"):
        return
    host = parts.hostname or ""
    port_text = parts.netloc.rpartition(":")[2]
    if not port_text.isdigit() or int(port_text) > 65535:
        raise PreflightError(f"listen tcp: address {port_text}: invalid port")
    port = int(port_text)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host or None, port, family, socket.SOCK_STREAM)
    except socket.gaierror:
        raise PreflightError(f"listen tcp: lookup {host}: no such host") from None
    # Go names the resolved address: `localhost:2380` fails as `listen tcp 127.0.0.1:2380`.
    ip = str(infos[0][4][0])
    where = f"[{ip}]:{port}" if family == socket.AF_INET6 else f"{ip}:{port}"
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # As the real listeners do (Go sets SO_REUSEADDR): a port in TIME_WAIT is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(infos[0][4])
        except OSError as e:
            raise PreflightError(f"listen tcp {where}: bind: {os_error_text(e)}") from None


def _writable(data_dir: str) -> None:
    # etcdserver.NewServer's fileutil.TouchDirAll: make the dir, then prove it takes a file.
    path = Path(data_dir)
    try:
        _mkdir_all(path)
    except OSError as e:
        where = e.filename if e.filename is not None else data_dir
        raise PreflightError(
            f"cannot access data directory: mkdir {where}: {os_error_text(e)}"
        ) from None
    touch = os.path.join(data_dir, ".touch")
    try:
        fd = os.open(touch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        os.remove(touch)
    except OSError as e:
        raise PreflightError(
            f"cannot access data directory: open {touch}: {os_error_text(e)}"
        ) from None


def _mkdir_all(path: Path) -> None:
    """os.MkdirAll: the error names the directory that could not be made."""
    if path.is_dir():
        return
    if path.parent != path:
        _mkdir_all(path.parent)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        if not path.is_dir():
            raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path)) from None
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(path)) from None
