"""The one `shoal` entry point: each subcommand delegates to a function `fn(argv) -> exit code`.

Subcommands keep their own flag syntax (`shoal etcd` parses Go-style flags as etcd does), so this
module only dispatches; it never parses a subcommand's arguments.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from shoal import __version__

# name -> ("module:function", one-line help). The module is imported only when its command runs,
# so `shoal --help` stays fast and a command's heavy imports never slow another.
COMMANDS: dict[str, tuple[str, str]] = {
    "sim": ("shoal.sim.cli:main", "deterministic simulation of raft clusters"),
    "etcd": ("shoal.etcd.cli:main", "an etcd member speaking the v2 API (etcd 3.4's flags)"),
    "fleetd": ("shoal.fleet.fleetd:main", "fleet daemon: engine, agent and HTTP API v1"),
    "fleetctl": ("shoal.fleetctl.main:main", "fleet command line client (fleetctl 1.0)"),
    "cloudinit": ("shoal.cloudinit.cli:main", "validate or apply a cloud-config"),
    "etcdctl": (
        "shoal.etcdctl.main:main",
        "etcd v2 command line client (etcdctl 3.4, ETCDCTL_API=2)",
    ),
    "node": ("shoal.node.daemon:main", "one machine: apply a cloud-config, run its units"),
    "systemctl": ("shoal.systemd.systemctl:main", "show and change a machine's units (systemctl)"),
    "journal": ("shoal.systemd.journalctl:main", "read a machine's journal (journalctl)"),
    "up": ("shoal.cluster.commands:up", "start a local cluster (coreos-01..N) in the background"),
    "status": ("shoal.cluster.commands:status", "show the local cluster's machines and health"),
    "stop": ("shoal.cluster.commands:stop", "shut a machine of the local cluster down cleanly"),
    "start": ("shoal.cluster.commands:start", "boot a stopped machine of the local cluster"),
    "kill": ("shoal.cluster.commands:kill", "power a machine off (SIGKILL everything it runs)"),
    "partition": ("shoal.cluster.commands:partition", "cut machines' etcd peer links"),
    "heal": ("shoal.cluster.commands:heal", "remove every partition"),
    "down": ("shoal.cluster.commands:down", "stop the local cluster (--purge: delete it)"),
    "bench": ("shoal.bench.cli:main", "benchmark a 3-member shoal cluster against etcd 3.4"),
    "discovery": (
        "shoal.discovery.main:main",
        "discovery service (like discovery.etcd.io) on etcd",
    ),
    "ssh": (
        "shoal.cluster.commands:ssh",
        "a shell (or a command) on a machine of the local cluster",
    ),
    "torture": ("shoal.torture.cli:main", "Jepsen-style fault test of a local shoal etcd cluster"),
}


def resolve(target: str) -> Callable[[list[str]], int]:
    """The function a `"module:function"` target names, importing its module now."""
    module_name, _, function = target.partition(":")
    entry: Callable[[list[str]], int] = getattr(importlib.import_module(module_name), function)
    return entry


def _usage() -> str:
    lines = ["usage: shoal <command> [args...]", "", "commands:"]
    width = max(len(n) for n in COMMANDS)
    for name, (_, text) in sorted(COMMANDS.items()):
        lines.append(f"  {name:<{width}}  {text}")
    lines += ["", "Run `shoal <command> --help` for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if args else 1
    if args[0] in ("--version", "version"):
        print(f"shoal {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"shoal: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 1
    return resolve(COMMANDS[name][0])(rest)


if __name__ == "__main__":
    sys.exit(main())
