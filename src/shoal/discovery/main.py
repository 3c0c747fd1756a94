"""`shoal discovery [--listen URL] [--etcd-endpoints URLS] [--token-ttl DURATION]`."""

from __future__ import annotations

import argparse
import asyncio
import signal
from urllib.parse import urlsplit

from aiohttp import web

from shoal.discovery.service import DEFAULT_TOKEN_TTL, DiscoveryService
from shoal.etcd import log
from shoal.gocompat import capnslog
from shoal.gocompat.duration import DurationError, parse_seconds
from shoal.gocompat.syscall import os_error_text

DEFAULT_LISTEN = "http://127.0.0.1:8087"
DEFAULT_ENDPOINTS = "http://127.0.0.1:2379"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="shoal discovery",
        description="A discovery service like discovery.etcd.io, backed by an etcd v2 API. "
        "GET /new?size=N returns a token URL to pass to `etcd --discovery`.",
    )
    p.add_argument("--listen", default=DEFAULT_LISTEN, help=f"URL to serve on ({DEFAULT_LISTEN})")
    p.add_argument(
        "--etcd-endpoints",
        default=DEFAULT_ENDPOINTS,
        help=f"comma-separated etcd client URLs keeping the tokens ({DEFAULT_ENDPOINTS})",
    )
    p.add_argument(
        "--token-ttl",
        default="24h",
        help="how long a token lives after /new made it, Go duration; 0 = forever (24h)",
    )
    return p


async def serve(listen: str, endpoints: list[str], token_ttl: float) -> int:
    svc = DiscoveryService(endpoints, token_ttl)
    runner = web.ServerRunner(web.Server(svc.handle, access_log=None), handle_signals=False)
    await runner.setup()
    p = urlsplit(listen)
    try:
        await web.TCPSite(runner, p.hostname, p.port or 80, reuse_address=True).start()
    except OSError as e:
        log.critical("discovery", f"listen tcp {p.hostname}:{p.port}: bind: {os_error_text(e)}")
        await runner.cleanup()
        await svc.close()
        return 1
    log.info("discovery", f"serving discovery on {listen}, tokens kept in {','.join(endpoints)}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    await svc.close()
    return 0


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    capnslog.setup("info")
    try:
        ttl = parse_seconds(args.token_ttl) if args.token_ttl else DEFAULT_TOKEN_TTL
    except DurationError:
        ttl = -1.0
    if ttl < 0:
        print(f"shoal discovery: invalid --token-ttl {args.token_ttl!r}")
        return 2
    p = urlsplit(args.listen)
    if p.scheme != "http" or not p.hostname:
        print(f"shoal discovery: --listen must be http://host:port, not {args.listen!r}")
        return 2
    endpoints = [e.strip() for e in args.etcd_endpoints.split(",") if e.strip()]
    try:
        return asyncio.run(serve(args.listen, endpoints, ttl))
    except KeyboardInterrupt:
        return 130
