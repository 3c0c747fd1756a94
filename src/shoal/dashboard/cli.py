"""`shoal dashboard`: serve the live page of a cluster.

shoal dashboard [--dir DIR]                      the local cluster of `shoal up` (buttons on)
shoal dashboard --endpoints URL[,URL...]         any etcd cluster (real etcd 3.4 too)
                [--fleet-endpoint URL]           and its fleet (unix:///path or http://...)
--listen HOST:PORT                               default 127.0.0.1:8480 (port 0: any free)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ipaddress
import os
import signal
import ssl
import sys
from pathlib import Path
from urllib.parse import urlsplit

from shoal.cluster.layout import STATE_FILE, ClusterError
from shoal.dashboard.local import LocalCluster
from shoal.dashboard.probe import HTTPFetcher
from shoal.dashboard.server import Dashboard, serve

DEFAULT_LISTEN = "127.0.0.1:8480"


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--listen {text!r}: want HOST:PORT, e.g. 127.0.0.1:8480")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise ValueError(
                f"--listen {text!r}: HOST must be an IP address or localhost"
            ) from None
    return host, int(port)


def _endpoints(text: str) -> list[str]:
    out = [u.strip().rstrip("/") for u in text.split(",") if u.strip()]
    for u in out:
        p = urlsplit(u)
        if p.scheme not in ("http", "https") or not p.hostname:
            raise ValueError(f"--endpoints: {u!r} is not an http(s)://host:port URL")
    if not out:
        raise ValueError("--endpoints: give at least one URL")
    return out


class TLSFileError(Exception):
    pass


def _fetcher(ca: str | None, cert: str | None, key: str | None, user: str | None) -> HTTPFetcher:
    """The members' HTTP client: TLS files and basic-auth credentials go with every request."""
    ctx = None
    if ca or cert:
        try:
            ctx = ssl.create_default_context(cafile=ca)
            if cert:
                ctx.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as e:
            files = ", ".join(f for f in (ca, cert, key) if f)
            raise TLSFileError(f"cannot use the TLS files ({files}): {e.strerror or e}") from e
    headers = {}
    if user:
        name, _, password = user.partition(":")
        token = base64.b64encode(f"{name}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return HTTPFetcher(ssl=ctx, headers=headers)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="shoal dashboard", description="A live web page of a cluster: members, health, "
        "leader changes, fleet's machines and units; for a local cluster, its buttons."
    )  # fmt: skip
    p.add_argument("--dir", help="a local cluster's directory (default: $SHOAL_HOME, else "
                   "~/.shoal/cluster)")  # fmt: skip
    p.add_argument("--endpoints", help="etcd client URLs, comma-separated (instead of --dir)")
    p.add_argument("--fleet-endpoint", help="fleet API URL(s), comma-separated")
    p.add_argument("--listen", default=DEFAULT_LISTEN, help=f"HOST:PORT (default {DEFAULT_LISTEN})")
    p.add_argument("--url-file", help="write the page's URL there once listening")
    # etcdctl's names for what a secured etcd wants of its clients.
    p.add_argument("--ca-file", help="verify the members' TLS certificates with this CA bundle")
    p.add_argument("--cert-file", help="identify with this TLS client certificate")
    p.add_argument("--key-file", help="the client certificate's key")
    p.add_argument("--username", help="USER[:PASSWORD] for etcd's authentication")
    args = p.parse_args(argv)
    try:
        host, port = _listen(args.listen)
        fetcher = _fetcher(args.ca_file, args.cert_file, args.key_file, args.username)
        if args.endpoints:
            endpoints = _endpoints(args.endpoints)
            fleet = [u.strip() for u in (args.fleet_endpoint or "").split(",") if u.strip()]
            dash = Dashboard(endpoints, fleet, fetcher=fetcher)
        else:
            local = LocalCluster.load(args.dir)
            fleet = [u.strip() for u in (args.fleet_endpoint or "").split(",") if u.strip()]
            dash = Dashboard(
                local.endpoints, fleet or local.fleet_endpoints, local, fetcher,
                title=f"local cluster {local.cluster.dir}",
            )  # fmt: skip
    except (ValueError, ClusterError, TLSFileError) as e:
        print(f"shoal dashboard: {e}", file=sys.stderr)
        return 2 if isinstance(e, ValueError) else 1
    return asyncio.run(_run(dash, host, port, args.url_file))


async def _run(dash: Dashboard, host: str, port: int, url_file: str | None) -> int:
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    task = asyncio.create_task(serve(dash, host, port, ready))
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    if task.done() and not task.cancelled() and task.exception() is not None:
        e = task.exception()
        waiter.cancel()
        # Go's words, as etcd and fleetd say it (asyncio's own message repeats the address).
        what = os.strerror(e.errno).lower() if isinstance(e, OSError) and e.errno else str(e)
        print(f"shoal dashboard: listen tcp {host}:{port}: bind: {what}", file=sys.stderr)
        return 1
    if url_file and dash.url:
        tmp = Path(url_file + ".tmp")
        tmp.write_text(dash.url + "\n")
        os.replace(tmp, url_file)
    watch = asyncio.create_task(_watch_cluster(dash, task))
    with contextlib.suppress(asyncio.CancelledError):
        await task
    watch.cancel()
    return 0


async def _watch_cluster(dash: Dashboard, task: asyncio.Task[None]) -> None:
    """A local cluster's dashboard ends when the cluster is gone (`shoal down --purge`, or a
    test's directory removed without `shoal down`), so it never outlives what it shows."""
    if dash.local is None:
        return
    state = dash.local.cluster.dir / STATE_FILE
    while state.exists():
        await asyncio.sleep(2.0)
    print(f"shoal dashboard: {state} is gone; stopping", file=sys.stderr, flush=True)
    task.cancel()
