"""`shoal node`: one machine, what CoreOS + systemd + coreos-cloudinit were on a VM.

    shoal node --cloud-config FILE --root DIR [--public-ipv4 IP] [--private-ipv4 IP]
               [--etcd-command CMD]

Boot, in the order CoreOS booted:
1. the cloud-config is validated and applied under DIR (nothing runs if it has errors);
2. the machine's own units (etcd2, fleet, docker; see machine_units) are installed under
   DIR/usr/lib/systemd/system, and the control socket DIR/run/shoal/control.sock opens;
3. multi-user.target starts (with what was enabled into it), then the cloud-config's unit
   commands are queued in order without waiting, as coreos-cloudinit did: their After= lines
   order them (fleet waits for etcd2 to be ready).
SIGTERM or SIGINT is a shutdown: units stop, the last started first, then the node exits 0.

`$public_ipv4`/`$private_ipv4` come from the flags, else COREOS_PUBLIC_IPV4/COREOS_PRIVATE_IPV4
in the environment, else the values the cloud-config itself writes into /etc/environment.
The node's pid is in DIR/run/shoal/node.pid while it runs; its own messages go to stderr and to
the journal (unit `shoal-node`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shoal.cloudinit.apply import ApplyError, ApplyResult, apply
from shoal.cloudinit.report import CloudConfigInvalid
from shoal.cloudinit.substitute import values_from_environment
from shoal.node.machine_units import default_etcd_command, install, machine_units
from shoal.systemd.control import ControlError, ControlServer, socket_path
from shoal.systemd.journal import Journal
from shoal.systemd.manager import Manager
from shoal.systemd.unit import ActiveState
from shoal.systemd.unitfile import SpecifierContext

PID_FILE = "run/shoal/node.pid"
NODE_UNIT = "shoal-node"  # the journal's name for the node's own messages
BOOT_TARGET = "multi-user.target"


class BootError(Exception):
    """The machine cannot boot; the message says why and what to do."""


def pid_path(root: Path) -> Path:
    return root / PID_FILE


def _addresses_in(text: str) -> dict[str, str]:
    """COREOS_*_IPV4 values a cloud-config writes into /etc/environment (the seed does)."""
    out: dict[str, str] = {}
    for var in ("COREOS_PUBLIC_IPV4", "COREOS_PRIVATE_IPV4"):
        m = re.search(rf"^\s*{var}=([0-9.]+)\s*$", text, re.MULTILINE)
        if m:
            out[var] = m.group(1)
    return out


def etcd_client_url(get: Callable[[str], str | None]) -> str:
    """Where this machine's own tools reach etcd: the member's first advertised client URL; for
    a proxy (`proxy: on|readonly`), which advertises nothing, the first URL it listens on.
    etcd's default (localhost:2379) when the cloud-config says neither."""
    proxy = (get("proxy") or "off") in ("on", "readonly")
    urls = (get("listen_client_urls") if proxy else get("advertise_client_urls")) or ""
    return urls.split(",")[0].strip() or "http://127.0.0.1:2379"


def machine_id(root: Path) -> str:
    """DIR/etc/machine-id, created on first boot as systemd does (fleet reads the same file)."""
    path = root / "etc" / "machine-id"
    with contextlib.suppress(OSError):
        value = path.read_text(encoding="ascii").strip()
        if value:
            return value
    value = uuid.uuid4().hex
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n", encoding="ascii")
    return value


class Node:
    def __init__(
        self, text: str, root: Path, addresses: dict[str, str | None], etcd_command: str
    ) -> None:
        self.text = text
        self.root = root
        self.addresses = addresses
        self.etcd_command = etcd_command
        self.journal: Journal | None = None
        self.manager: Manager | None = None
        self.control: ControlServer | None = None
        self.applied: ApplyResult | None = None
        self._stop = asyncio.Event()

    def log(self, message: str) -> None:
        print(f"shoal node: {message}", file=sys.stderr, flush=True)
        if self.journal is not None:
            self.journal.write(NODE_UNIT, os.getpid(), message)

    def apply_config(self) -> ApplyResult:
        env = {**_addresses_in(self.text), **os.environ}
        values = values_from_environment(self.addresses, env)
        self.root.mkdir(parents=True, exist_ok=True)
        return apply(self.text, self.root, values)

    async def run(self) -> int:
        result = self.applied = self.apply_config()
        mid = machine_id(self.root)
        self.journal = Journal(self.root)
        etcd2 = result.config.coreos.etcd2
        client_url = etcd_client_url(etcd2.get)
        install(self.root, machine_units(self.root, self.etcd_command, client_url))
        hostname = result.config.hostname or "localhost"
        sock = socket_path(self.root)
        env = {
            "SHOAL_ROOT": str(self.root),
            "SHOAL_NODE_SOCKET": str(sock),
            "PYTHONUNBUFFERED": "1",
        }
        self.manager = Manager(
            self.root,
            self.journal,
            context=SpecifierContext(hostname=hostname, machine_id=mid),
            environment=env,
        )
        info: dict[str, Any] = {
            "hostname": hostname,
            "root": str(self.root),
            "pid": os.getpid(),
            "machine_id": mid,
            "etcd_client_url": client_url,
        }
        self.control = ControlServer(self.manager, sock, info)
        await self.control.start()
        pidfile = pid_path(self.root)
        pidfile.parent.mkdir(parents=True, exist_ok=True)
        pidfile.write_text(f"{os.getpid()}\n")
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        try:
            self.log(f"{hostname} booting (root {self.root}, machine id {mid})")
            for name in result.plan.network_units:
                self.log(
                    f"{name}: not applied: network units configure systemd-networkd, and "
                    "shoal's machines share this computer's network"
                )
            boot = asyncio.ensure_future(self._boot(result))
            boot.add_done_callback(self._boot_done)
            await self._stop.wait()
            boot.cancel()
            self.log(f"{hostname} shutting down")
            await self.manager.shutdown()
            self.log(f"{hostname} is down")
        finally:
            await self.control.close()
            with contextlib.suppress(OSError):
                pidfile.unlink()
            self.journal.close()
        return 0

    def _boot_done(self, task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.log(f"boot failed: {task.exception()!r}")

    async def _boot(self, result: ApplyResult) -> None:
        m = self.manager
        assert m is not None
        m.daemon_reload()
        jobs: list[tuple[str, asyncio.Future[Any]]] = [(BOOT_TARGET, m.enqueue_start(BOOT_TARGET))]
        for c in result.commands:
            if c.command == "start":
                jobs.append((str(c), m.enqueue_start(c.unit)))
            elif c.command in ("stop", "restart"):
                fn = m.stop if c.command == "stop" else m.restart
                jobs.append((str(c), asyncio.ensure_future(fn(c.unit))))
            elif c.command in ("try-restart", "reload-or-try-restart"):
                if m.get(c.unit).active_state == ActiveState.ACTIVE:
                    jobs.append((str(c), asyncio.ensure_future(m.restart(c.unit))))
            elif c.command in ("reload", "reload-or-restart"):
                jobs.append((str(c), asyncio.ensure_future(m.restart(c.unit))))
        for what, job in jobs:
            res = await asyncio.shield(job)
            name = what.split()[-1]
            u = m.get(name)
            if res in ("done",):
                continue
            detail = u.load_error or u.condition_failed or u.result
            if res == "skipped":
                self.log(f"{what}: skipped ({u.condition_failed} was not met)")
            else:
                self.log(f"{what}: {res} ({detail}); see `shoal journal -u {name}`")
        self.log("boot finished: " + ", ".join(
            f"{u.name} {u.active_state}" for u in m.list_units()
        ))  # fmt: skip


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="shoal node", description=__doc__.split("\n\n")[0])
    p.add_argument("--cloud-config", required=True, metavar="FILE", help="the machine's user-data")
    p.add_argument("--root", required=True, metavar="DIR", help="the machine's root directory")
    p.add_argument("--public-ipv4", help="value of $public_ipv4")
    p.add_argument("--private-ipv4", help="value of $private_ipv4")
    p.add_argument(
        "--etcd-command",
        help="what etcd2.service runs (default: $SHOAL_ETCD_COMMAND, else `shoal etcd`)",
    )
    args = p.parse_args(argv)
    try:
        text = Path(args.cloud_config).read_text(encoding="utf-8")
    except OSError as e:
        print(f"shoal node: cannot read {args.cloud_config}: {e.strerror}", file=sys.stderr)
        return 1
    root = Path(args.root).expanduser().resolve()
    addresses: dict[str, str | None] = {
        "$public_ipv4": args.public_ipv4,
        "$private_ipv4": args.private_ipv4,
    }
    node = Node(text, root, addresses, args.etcd_command or default_etcd_command(os.environ))
    try:
        return asyncio.run(node.run())
    except CloudConfigInvalid as e:
        print(f"shoal node: {args.cloud_config} is not a valid cloud-config:", file=sys.stderr)
        print(str(e.report), file=sys.stderr)
        return 1
    except (ApplyError, ControlError, BootError) as e:
        print(f"shoal node: {e}", file=sys.stderr)
        return 1
