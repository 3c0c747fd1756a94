"""`shoal fleetd`: fleet's daemon on one machine (server/server.go): agent, engine, HTTP API.

    shoal fleetd [--config=FILE] [--<option>=VALUE ...]

Options are fleet.conf's (see config.py), also as FLEET_* variables. SIGTERM/SIGINT stop cleanly:
units are stopped, this machine's states and key are removed (the engine moves its units at once)
and the engine lease is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from aiohttp import web

from shoal.fleet import facts
from shoal.fleet.agent import Agent
from shoal.fleet.api import FleetAPI
from shoal.fleet.config import (
    ConfigError,
    FleetConfig,
    load_config,
    machine_id,
    split_flags,
    usage,
)
from shoal.fleet.engine import Engine
from shoal.fleet.etcdv2 import EtcdV2, TLSFiles
from shoal.fleet.metrics import FleetMetrics
from shoal.fleet.mirror import Mirror
from shoal.fleet.registry import MachineState, Registry
from shoal.fleet.runner import ProcessRunner, UnitRunner
from shoal.fleet.runner_node import NodeRunner, control_socket
from shoal.gocompat import capnslog
from shoal.gocompat.flag import FlagError, HelpRequested
from shoal.gocompat.syscall import os_error_text

log = logging.getLogger("shoal.fleet.fleetd")

DEFAULT_CONFIG = "/etc/fleet/fleet.conf"


def make_runner(cfg: FleetConfig) -> UnitRunner:
    """ "auto": the node's unit manager when `shoal node` runs this machine (its control socket
    exists under root_dir), else plain processes; "node[:SOCKET]" or "process" to choose."""
    kind, _, where = cfg.unit_runner.partition(":")
    if kind == "auto":
        sock = control_socket(cfg.root_dir)
        if sock.exists():
            log.info("running units through shoal node (%s)", sock)
            return NodeRunner(sock)
        return ProcessRunner(cfg.units_directory)
    if kind == "node":
        return NodeRunner(Path(where) if where else control_socket(cfg.root_dir))
    if kind == "process":
        return ProcessRunner(cfg.units_directory)
    raise ConfigError(f"unit_runner {cfg.unit_runner!r}: expected auto, process or node[:SOCKET]")


class Fleetd:
    def __init__(self, cfg: FleetConfig) -> None:
        self.cfg = cfg
        self.machine_id = machine_id(cfg)
        self.keys = EtcdV2(
            cfg.etcd_servers,
            cfg.etcd_request_timeout,
            TLSFiles(cfg.etcd_cafile, cfg.etcd_certfile, cfg.etcd_keyfile),
            cfg.etcd_username,
            cfg.etcd_password,
        )
        self.metrics = FleetMetrics()  # served at /metrics on the API listener
        self.registry = Registry(self.keys, cfg.etcd_key_prefix, self.metrics)
        self.mirror = Mirror(self.keys, cfg.etcd_key_prefix)
        self.runner = make_runner(cfg)
        ms = MachineState(self.machine_id, cfg.public_ip, dict(cfg.metadata))
        self.agent = Agent(self.registry, self.mirror, self.runner, ms, cfg.agent_ttl)
        self.engine: Engine | None = None
        if not cfg.disable_engine:
            self.engine = Engine(
                self.registry,
                self.mirror,
                self.machine_id,
                cfg.engine_reconcile_interval,
                settle=cfg.agent_ttl,
                metrics=self.metrics,
            )
        self.api = FleetAPI(
            self.registry, cfg.token_limit, self.available, self.journal, self.machine_id
        )
        self._runner_web: web.AppRunner | None = None

    async def journal(self, name: str, lines: int) -> list[str] | None:
        """A unit's journal if it is loaded on this machine, else None."""
        if name not in self.runner.loaded():
            return None
        return await self.runner.journal(name, lines)

    def available(self) -> bool:
        return self.agent.registered.is_set() and not self.agent.duplicate

    async def _serve_api(self) -> None:
        self._runner_web = web.AppRunner(self.api.app(), access_log=None)
        await self._runner_web.setup()
        sock = self.cfg.api_socket
        # A listener that cannot open ends fleetd with Go's text for it, as fleetd ends.
        if sock:
            try:
                Path(sock).parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(sock)  # a socket left by a fleetd that died
                await web.UnixSite(self._runner_web, sock).start()
            except OSError as e:
                raise ConfigError(f"listen unix {sock}: {os_error_text(e)}") from None
        if self.cfg.api_tcp:
            host, _, port = self.cfg.api_tcp.rpartition(":")
            try:
                await web.TCPSite(self._runner_web, host or "127.0.0.1", int(port)).start()
            except (OSError, ValueError, OverflowError) as e:
                why = os_error_text(e) if isinstance(e, OSError) else "invalid port"
                raise ConfigError(f"listen tcp {self.cfg.api_tcp}: bind: {why}") from None

    async def _watch_lag(self) -> None:
        """Log when the event loop was blocked: the API then answers late, fleetctl times out."""
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.5)
            lag = loop.time() - before - 0.5
            if lag > 1.0:
                log.warning("event loop was blocked for %.1fs", lag)

    async def run(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(
            signal.SIGHUP, lambda: log.warning("SIGHUP: reloading is not supported; restart fleetd")
        )
        await self._serve_api()
        log.info("fleetd %s starting as machine %s", facts.FLEET_VERSION, self.machine_id)
        tasks = [
            asyncio.create_task(self.mirror.run(), name="mirror"),
            asyncio.create_task(self.agent.heart(), name="heart"),
            asyncio.create_task(self.agent.run(), name="agent"),
            asyncio.create_task(self._watch_lag(), name="lag"),
        ]
        if self.engine is not None:
            tasks.append(asyncio.create_task(self.engine.run(), name="engine"))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t is not stopper and t.exception() is not None:
                log.error("%s failed: %s", t.get_name(), t.exception())
        log.info("fleetd stopping")
        # Flags first, then cancel: a loop whose await raced with the cancellation still ends.
        self.agent.stopping = True
        if self.engine is not None:
            self.engine.stopping = True
        for t in tasks[1:]:
            t.cancel()
        await asyncio.wait(tasks[1:], timeout=5)
        if self.engine is not None:
            await self.engine.release()
        await self.agent.shutdown()
        self.mirror.stop()
        tasks[0].cancel()
        await asyncio.wait([tasks[0]], timeout=5)
        stopper.cancel()
        if self._runner_web is not None:
            await self._runner_web.cleanup()
        await self.runner.close()
        await self.keys.close()


def main(argv: list[str]) -> int:
    try:
        flags, rest = split_flags(argv)
    except HelpRequested:
        print(usage(), end="")
        return 0
    except FlagError as e:
        print(f"{e.message}\n{usage()}", end="", file=sys.stderr)
        return 2
    if rest == ["version"]:  # fleetd takes `fleetd version` for `fleetd --version`
        flags["version"] = "true"
    elif rest:
        print(
            "shoal fleetd takes no arguments. Did you mean to invoke fleetctl instead?\n" + usage(),
            end="",
            file=sys.stderr,
        )
        return 2
    if flags.get("version") == "true":
        print(f"fleetd version {facts.FLEET_VERSION}")
        return 0
    conf = flags.pop("config", "")
    if not conf and os.path.exists(DEFAULT_CONFIG):
        conf = DEFAULT_CONFIG
    try:
        cfg = load_config(conf or None, os.environ, flags)
    except ConfigError as e:
        print(f"fleetd: {e}", file=sys.stderr)
        return 1
    capnslog.setup("debug" if cfg.verbosity > 0 else "info")
    try:
        asyncio.run(Fleetd(cfg).run())
    except ConfigError as e:
        print(f"fleetd: {e}", file=sys.stderr)
        return 1
    return 0
