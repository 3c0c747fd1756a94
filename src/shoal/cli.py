"""The one `shoal` entry point: each subcommand delegates to its layer's `main(argv)`.

Subcommands keep their own flag syntax (`shoal etcd` parses Go-style flags as etcd does), so this
module only dispatches; it never parses a subcommand's arguments.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from shoal import __version__

# name -> (module, one-line help). Modules are imported lazily so `shoal --help` stays fast.
COMMANDS: dict[str, tuple[str, str]] = {
    "sim": ("shoal.sim.cli", "deterministic simulation of raft clusters"),
    "etcd": ("shoal.etcd.cli", "an etcd member speaking the v2 API (etcd 3.4's flags)"),
    "fleetd": ("shoal.fleet.fleetd", "fleet daemon: engine, agent and HTTP API v1"),
    "fleetctl": ("shoal.fleet.fleetctl", "fleet command line client (fleetctl 1.0)"),
    "cloudinit": ("shoal.node.cloudinit_cli", "validate or apply a cloud-config"),
    "etcdctl": ("shoal.etcdctl", "etcd v2 command line client (etcdctl 3.4, ETCDCTL_API=2)"),
    "node": ("shoal.node.node", "one machine: apply a cloud-config, run its units"),
    "systemctl": ("shoal.node.systemctl", "show and change a machine's units (systemctl)"),
    "journal": ("shoal.node.journalctl", "read a machine's journal (journalctl)"),
    "up": ("shoal.cluster.cmd_up", "start a local cluster (coreos-01..N) in the background"),
    "status": ("shoal.cluster.cmd_status", "show the local cluster's machines and health"),
    "stop": ("shoal.cluster.cmd_stop", "shut a machine of the local cluster down cleanly"),
    "start": ("shoal.cluster.cmd_start", "boot a stopped machine of the local cluster"),
    "kill": ("shoal.cluster.cmd_kill", "power a machine off (SIGKILL everything it runs)"),
    "partition": ("shoal.cluster.cmd_partition", "cut machines' etcd peer links"),
    "heal": ("shoal.cluster.cmd_heal", "remove every partition"),
    "down": ("shoal.cluster.cmd_down", "stop the local cluster (--purge: delete it)"),
    "bench": ("shoal.bench.cli", "benchmark a 3-member shoal cluster against etcd 3.4"),
    "discovery": ("shoal.discovery.main", "discovery service (like discovery.etcd.io) on etcd"),
    "ssh": ("shoal.cluster.cmd_ssh", "a shell (or a command) on a machine of the local cluster"),
    "torture": ("shoal.torture.cli", "Jepsen-style fault test of a local shoal etcd cluster"),
}


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
    module = importlib.import_module(COMMANDS[name][0])
    entry: Callable[[list[str]], int] = module.main
    return entry(rest)


if __name__ == "__main__":
    sys.exit(main())
