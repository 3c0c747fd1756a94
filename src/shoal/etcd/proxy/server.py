"""`shoal etcd --proxy on|readonly` (and discovery's fallback): etcd 3.4's etcdmain.startProxy.

Where the peers come from, in etcd's order: the cluster file `<data-dir>/proxy/cluster`
(`{"PeerURLs":[...]}`) a previous run kept, else --initial-cluster, else the --discovery token.
From then on the members' `GET <peer>/members` gives the client URLs requests go to and the
peer URLs written back to the cluster file (through `cluster.bak` and a rename, fsynced), so a
restarted proxy finds a cluster whose members have changed since it was configured.

The handler is httpproxy's: `/v2/config/local/proxy` answers the proxy's endpoints, `/metrics`
the proxy's own metrics (proxy.metrics), everything else is forwarded; CORS headers are added
(etcd wraps the proxy in its CORS handler, so answers carry them twice: the member's and the
proxy's) and OPTIONS is answered at once; `readonly` answers every method but GET with an empty
501 before anything but `/metrics` runs. `--proxy-write-timeout` is accepted and not applied
(aiohttp has no per-write deadline; a request's body is written at once to loopback).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from shoal.etcd import facts, log
from shoal.etcd.flags import EtcdConfig
from shoal.etcd.proxy.director import Director
from shoal.etcd.proxy.faults import BLOCKED, FAULTS_PATH, Partition
from shoal.etcd.proxy.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from shoal.etcd.proxy.metrics import PATH as METRICS_PATH
from shoal.etcd.proxy.metrics import ProxyMetrics
from shoal.etcd.proxy.reverse import ReverseProxy, Timeouts
from shoal.gocompat.fmt import sprint_list

PKG = "etcdmain"
PROXY_DIR = "proxy"
CLUSTER_FILE = "cluster"
CONFIG_PATH = "/v2/config/local/proxy"
MEMBERS_TIMEOUT = 10.0
"""cluster_util.go GetClusterFromRemotePeers: each `GET /members` may take 10 s."""


class ProxyStartError(Exception):
    """The proxy cannot start; the message is etcd's."""


def proxy_dir(data_dir: str) -> str:
    return os.path.join(data_dir, PROXY_DIR)


def cluster_file(data_dir: str) -> str:
    return os.path.join(proxy_dir(data_dir), CLUSTER_FILE)


def is_proxy_dir(data_dir: str) -> bool:
    """etcd's identifyDataDirOrDie: the data dir holds a proxy (and no member)."""
    return os.path.isdir(proxy_dir(data_dir)) and not os.path.isdir(
        os.path.join(data_dir, "member")
    )


def read_cluster_file(data_dir: str) -> list[str] | None:
    """The peer URLs a previous run kept, or None when there is no cluster file."""
    try:
        with open(cluster_file(data_dir), encoding="utf-8") as f:
            raw = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ProxyStartError(f"{cluster_file(data_dir)}: {e}") from None
    urls = raw.get("PeerURLs") if isinstance(raw, dict) else None
    return [str(u) for u in urls or []]


def write_cluster_file(data_dir: str, peer_urls: list[str]) -> None:
    """pkgioutil.WriteAndSyncFile to `cluster.bak`, then rename over `cluster`."""
    path = cluster_file(data_dir)
    tmp = path + ".bak"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"PeerURLs": peer_urls}, f, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class Settings:
    """The --proxy-* flags, in seconds."""

    readonly: bool
    failure_wait: float
    refresh_interval: float
    timeouts: Timeouts  # to the members' client URLs
    peer_timeouts: Timeouts  # to their peer URLs (`/members`)

    @classmethod
    def of(cls, cfg: EtcdConfig) -> Settings:
        ms = cfg.raw
        dial, read = ms["proxy-dial-timeout"] / 1000.0, ms["proxy-read-timeout"] / 1000.0
        # startProxy: the client TLS flags for the members' client URLs (the peer ones when
        # only those are given, etcd's "old proxy behavior"), the peer flags for /members.
        client = cfg.client_tls or cfg.peer_tls
        return cls(
            readonly=cfg.proxy == "readonly",
            failure_wait=ms["proxy-failure-wait"] / 1000.0,
            refresh_interval=ms["proxy-refresh-interval"] / 1000.0,
            timeouts=Timeouts(dial, read, client.client_context() if client else None),
            peer_timeouts=Timeouts(
                dial, read, cfg.peer_tls.client_context() if cfg.peer_tls else None
            ),
        )


class ClusterView:
    """The peers as last learnt, and the members' client URLs (etcd's `uf` closure)."""

    def __init__(
        self, data_dir: str, peer_urls: list[str], timeouts: Timeouts, partition: Partition
    ) -> None:
        self.data_dir = data_dir
        self.peer_urls = peer_urls
        self._timeouts = timeouts
        self._session: aiohttp.ClientSession | None = None
        self.partition = partition

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _members(self) -> list[dict[str, Any]] | None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=MEMBERS_TIMEOUT, sock_connect=self._timeouts.dial or None
                ),
                connector=aiohttp.TCPConnector(ssl=self._timeouts.tls or True),
            )
        for u in self.peer_urls:
            if self.partition.blocked(u):
                log.warning("etcdserver", f"could not get cluster response from {u}: {BLOCKED}")
                continue
            try:
                async with self._session.get(u + "/members", allow_redirects=False) as r:
                    raw = await r.read()
                got = json.loads(raw)
                if not isinstance(got, list):
                    raise ValueError(f"json: cannot unmarshal {type(got).__name__} into members")
                self.partition.learn(got)
                return got
            except (aiohttp.ClientError, OSError, ValueError, TimeoutError) as e:
                why = str(e) or ("i/o timeout" if isinstance(e, TimeoutError) else "")
                log.warning("etcdserver", f"could not get cluster response from {u}: {why}")
        return None

    async def client_urls(self) -> list[str]:
        members = await self._members()
        if members is None:
            log.warning(PKG, "proxy: could not retrieve cluster information from the given URLs")
            return []
        clients = sorted({u for m in members for u in m.get("clientURLs") or []})
        peers = sorted({u for m in members for u in m.get("peerURLs") or []})
        try:
            write_cluster_file(self.data_dir, peers)
        except OSError as e:
            log.warning(PKG, f"proxy: error on writing urls {e}")
            return clients
        if peers != self.peer_urls:
            log.notice(
                PKG,
                "proxy: updated peer urls in cluster file from "
                f"{sprint_list(self.peer_urls)} to {sprint_list(peers)}",
            )
        self.peer_urls = peers
        return clients


def _cors(resp: web.StreamResponse) -> web.StreamResponse:
    for k, v in facts.CORS_HEADERS:
        resp.headers[k] = v
    return resp


class ProxyHandler:
    """httpproxy.NewHandler wrapped in CORS (and readonly, when asked)."""

    def __init__(
        self,
        director: Director,
        timeouts: Timeouts,
        readonly: bool,
        partition: Partition | None = None,
    ) -> None:
        self.director = director
        self.partition = partition or Partition()
        self.metrics = ProxyMetrics()
        self.reverse = ReverseProxy(director, timeouts, self._unreachable, self.metrics)
        self.readonly = readonly

    def _unreachable(self, url: str) -> str | None:
        return BLOCKED if self.partition.blocked(url) else None

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.path == FAULTS_PATH:  # shoal's own endpoint (see proxy.faults)
            answered = self.partition.answer(request, await request.read())
            self.reverse.cut(self.partition.blocked)
            return answered
        if request.path == METRICS_PATH:  # the outer mux's: before readonly and CORS
            return web.Response(
                body=self.metrics.exposition(), headers={"Content-Type": METRICS_CONTENT_TYPE}
            )
        if self.readonly and request.method != "GET":
            return web.Response(status=501)  # readonlyHandlerFunc: no body, no CORS
        if request.method == "OPTIONS":
            return _cors(web.Response(status=200))
        if request.path == CONFIG_PATH:
            return _cors(self._config(request))
        return await self.reverse.forward(request, dict(facts.CORS_HEADERS))

    def _config(self, request: web.BaseRequest) -> web.Response:
        if request.method != "GET":
            return web.Response(
                status=405,
                text=facts.METHOD_NOT_ALLOWED + "\n",
                headers={
                    "Allow": "GET",
                    "Content-Type": facts.TEXT,
                    "X-Content-Type-Options": "nosniff",
                },
            )
        eps = [e.url for e in self.director.endpoints()]
        body = json.dumps({"endpoints": eps}, separators=(",", ":")) + "\n"
        # json.NewEncoder without a Content-Type: Go sniffs the body as text.
        return web.Response(status=200, text=body, headers={"Content-Type": facts.TEXT})


async def initial_peers(cfg: EtcdConfig) -> list[str]:
    """The peer URLs to start from: the cluster file, --initial-cluster, or the token."""
    kept = read_cluster_file(cfg.data_dir)
    path = cluster_file(cfg.data_dir)
    if kept is not None:
        if cfg.discovery:
            log.warning(
                PKG,
                "discovery token ignored since the proxy has already been initialized. "
                f'Valid cluster file found at "{path}"',
            )
        if cfg.discovery_srv:
            log.warning(
                PKG,
                "DNS SRV discovery ignored since the proxy has already been initialized. "
                f'Valid cluster file found at "{path}"',
            )
        log.info(PKG, f'proxy: using peer urls {sprint_list(kept)} from cluster file "{path}"')
        return kept
    peers = sorted(u for _, u in cfg.initial_cluster)
    if cfg.discovery:
        # Imported here: discovery's client sits beside the proxy, needed only with a token.
        from shoal.etcd.discovery.protocol import Discovery, DiscoveryError, Registry, urls_map

        reg = Registry(cfg.discovery, cfg.discovery_proxy)
        try:
            cluster = await Discovery(reg, 0).get_cluster()
        except DiscoveryError as e:
            raise ProxyStartError(str(e)) from None
        finally:
            await reg.close()
        peers = sorted(u for us in urls_map(cluster).values() for u in us)
    log.info(PKG, f"proxy: using peer urls {sprint_list(peers)} ")
    return peers


async def serve(cfg: EtcdConfig) -> int:
    """Run the proxy on --listen-client-urls until SIGTERM/SIGINT; returns the exit code."""
    log.notice(PKG, "proxy: this proxy supports v2 API only!")
    settings = Settings.of(cfg)
    os.makedirs(proxy_dir(cfg.data_dir), mode=0o700, exist_ok=True)
    try:
        peers = await initial_peers(cfg)
    except ProxyStartError as e:
        log.critical(PKG, str(e))
        return 1
    partition = Partition()
    view = ClusterView(cfg.data_dir, peers, settings.peer_timeouts, partition)
    director = Director(view.client_urls, settings.failure_wait, settings.refresh_interval)
    await director.refresh()
    handler = ProxyHandler(director, settings.timeouts, settings.readonly, partition)
    runner = web.ServerRunner(web.Server(handler, access_log=None), handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    fresh = asyncio.create_task(director.keep_fresh())
    try:
        for u in cfg.listen_client_urls:
            p = urlsplit(u)
            try:
                # https listeners with the client TLS flags, as the member's (tlsconfig made
                # sure an https URL has them).
                tls = (
                    cfg.client_tls.server_context()
                    if p.scheme == "https" and cfg.client_tls
                    else None
                )
                await web.TCPSite(
                    runner, p.hostname, p.port, reuse_address=True, ssl_context=tls
                ).start()
            except OSError as e:
                log.critical(PKG, f"listen tcp {p.hostname}:{p.port}: {e.strerror}")
                return 1
            log.info(PKG, f'v2 proxy started listening on client requests on "{u}"')
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.notice("pkg/osutil", "received terminated signal, shutting down...")
    finally:
        fresh.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fresh
        await runner.cleanup()
        await handler.reverse.close()
        await view.close()
    return 0
