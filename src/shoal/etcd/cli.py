"""`shoal etcd [flags]`: run one etcd (v2 API) member, or a v2 proxy (`--proxy on|readonly`),
taking etcd 3.4's flags."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import sys
from collections.abc import Callable

from shoal import __version__
from shoal.etcd import log, preflight, tlsconfig
from shoal.etcd.bootstrap import check_local_name
from shoal.etcd.flags import USAGE, EtcdConfig, FlagError, load_config
from shoal.etcd.member import ETCD_VERSION, Member, StartError
from shoal.etcd.proxy import server as proxy_server
from shoal.gocompat import capnslog
from shoal.gocompat.fmt import sprint_list
from shoal.tls import TLSError


def print_version() -> None:
    print(f"etcd Version: {ETCD_VERSION}")
    print("Git SHA: shoal")
    print(f"Go Version: python{sys.version_info.major}.{sys.version_info.minor}")
    print("Go OS/Arch: linux/amd64")
    print(f"shoal Version: {__version__}")


async def serve(cfg: EtcdConfig) -> int:
    member = await Member.open(cfg)
    await member.start()
    # The HTTP layer is imported by name: it sits above the member in the layering.
    listener = importlib.import_module("shoal.etcd.v2http.api").ClientListener(
        member, member.cfg.listen_client_urls, tls=member.cfg.client_tls
    )
    try:
        await listener.start()
    except OSError as e:
        log.critical(
            "etcdmain", f"listen tcp {sprint_list(member.cfg.listen_client_urls)}: {e.strerror}"
        )
        await member.stop()
        return 1
    for u in listener.bound_urls:
        log.info("embed", f"serving client requests on {u}")
    metrics_listener = None
    if cfg.listen_metrics_urls:
        metrics_listener = importlib.import_module("shoal.etcd.v2http.metrics").MetricsListener(
            member, cfg.listen_metrics_urls
        )
        try:
            await metrics_listener.start()
        except OSError as e:
            urls = sprint_list(cfg.listen_metrics_urls)
            log.critical("etcdmain", f"listen tcp {urls}: {e.strerror}")
            await listener.stop()
            await member.stop()
            return 1
        for u in metrics_listener.bound_urls:
            log.info("embed", f"listening for metrics on {u}")
    loop = asyncio.get_running_loop()

    stopping: list[asyncio.Task[None]] = []

    async def clean_stop(sig: signal.Signals) -> None:
        await member.hand_over_leadership()
        member.request_stop(f"received {sig.name}")

    def on_signal(sig: signal.Signals) -> None:
        if not stopping:
            stopping.append(loop.create_task(clean_stop(sig)))
        else:
            member.request_stop(f"received {sig.name} again")

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    await member.stopped.wait()
    log.info("etcdmain", f"stopping: {member.stop_reason}")
    await listener.stop()
    if metrics_listener is not None:
        await metrics_listener.stop()
    await member.stop()
    return member.exit_code


def main(argv: list[str]) -> int:
    capnslog.setup("info")
    try:
        cfg = load_config(argv, os.environ)
    except FlagError as e:
        if e.code == 0:
            print(USAGE)
            return 0
        if e.usage:
            sys.stderr.write(f"{e.message}\n{USAGE}")
        else:
            log.critical("etcdmain", e.message)
        return e.code
    if cfg.version:
        print_version()
        return 0
    log.set_level(cfg.log_level)
    log.info("etcdmain", f"etcd Version: {ETCD_VERSION} (shoal {__version__})")
    # etcd's identifyDataDirOrDie: a data dir that holds a proxy starts the proxy again,
    # whatever the flags say; an empty one becomes a proxy when --proxy asks.
    proxy_before = proxy_server.is_proxy_dir(cfg.data_dir)
    new_member = (
        cfg.proxy == "off"
        and cfg.initial_cluster_state == "new"
        and not (cfg.discovery or cfg.discovery_srv)
        and not os.path.exists(os.path.join(cfg.data_dir, "member"))
    )
    try:
        if new_member:  # a pure check of the flags, before any port is tried
            check_local_name(cfg)
    except StartError as e:
        log.critical("etcdmain", str(e))
        return 1
    try:
        # Before anything is written, as etcd fails these; a proxy has no peer listener.
        preflight.check(cfg, peers=not (proxy_before or cfg.proxy != "off"))
    except preflight.PreflightError as e:
        log.critical("etcdmain", str(e))
        return 1
    try:
        tlsconfig.configure(cfg)
    except TLSError as e:
        log.critical("etcdmain", str(e))
        return 1
    if proxy_before:
        log.notice(
            "etcdmain",
            "the server is already initialized as proxy before, starting as etcd proxy...",
        )
    elif cfg.proxy == "off" and (cfg.discovery or cfg.discovery_srv):
        from shoal.etcd.discovery.start import bootstrap

        code = bootstrap(cfg)  # sets the initial cluster, or runs a proxy / fails
        if code is not None:
            return code
    # uvloop when present, for this run only (installing its policy globally would change the
    # event loop of whatever else runs in this process, tests included).
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            if proxy_before or cfg.proxy != "off":
                return runner.run(proxy_server.serve(cfg))
            return runner.run(serve(cfg))
    except StartError as e:
        log.critical("etcdmain", str(e))
        return 1
    except KeyboardInterrupt:
        return 130
