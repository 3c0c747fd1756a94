"""fleetctl's flags as tables (global ones, then each command's) and the parser over them.

Flags may come before or after the command, as fleetctl's cobra/pflag parsing allowed; a global
flag not on the command line may come from FLEETCTL_<FLAG> (fleetctl.go getFlagsFromEnv).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shoal.fleet import facts

BOOL, STR, INT, FLOAT = "bool", "str", "int", "float"

# name -> (kind, default), fleetctl/fleetctl.go's globalFlags.
GLOBAL_FLAGS: dict[str, tuple[str, object]] = {
    "endpoint": (STR, facts.DEFAULT_ENDPOINT),
    "driver": (STR, "API"),
    "request-timeout": (FLOAT, facts.DEFAULT_REQUEST_TIMEOUT),
    "ca-file": (STR, ""),
    "cert-file": (STR, ""),
    "key-file": (STR, ""),
    "etcd-key-prefix": (STR, facts.DEFAULT_KEY_PREFIX),
    "tunnel": (STR, ""),
    "ssh-username": (STR, "core"),
    "ssh-timeout": (FLOAT, 10.0),
    "known-hosts-file": (STR, ""),
    "strict-host-key-checking": (BOOL, True),
    "experimental-api": (BOOL, True),
    "debug": (BOOL, False),
    "version": (BOOL, False),
    "help": (BOOL, False),
}
ALIASES = {"h": "help", "l": "full", "f": "follow", "n": "lines", "v": "version"}

_LIST: dict[str, tuple[str, object]] = {
    "full": (BOOL, False),
    "no-legend": (BOOL, False),
    "fields": (STR, ""),
}
_BLOCK: dict[str, tuple[str, object]] = {"block-attempts": (INT, 0), "no-block": (BOOL, False)}
# command -> its own flags, from each fleetctl/<command>.go.
COMMAND_FLAGS: dict[str, dict[str, tuple[str, object]]] = {
    "list-machines": _LIST,
    "list-units": _LIST,
    "list-unit-files": _LIST,
    "submit": {"replace": (BOOL, False), "sign": (BOOL, False)},
    "load": {**_BLOCK, "replace": (BOOL, False), "sign": (BOOL, False)},
    "start": {**_BLOCK, "replace": (BOOL, False), "sign": (BOOL, False)},
    "stop": _BLOCK,
    "unload": _BLOCK,
    "destroy": _BLOCK,
    "restart": {"block-attempts": (INT, 0)},
    "status": {"ssh-port": (INT, 22)},
    "journal": {
        "lines": (INT, 10),
        "follow": (BOOL, False),
        "ssh-port": (INT, 22),
        "sudo": (BOOL, False),
        "output": (STR, "short"),
    },
    "cat": {},
    "ssh": {"machine": (STR, ""), "unit": (STR, ""), "ssh-port": (INT, 22)},
    "version": {},
    "why": {},
    "help": {},
}


class UsageError(Exception):
    """Bad flags: fleetctl prints `Error: <message>` and exits 1."""


def _convert(name: str, kind: str, raw: str) -> object:
    try:
        if kind == BOOL:
            low = raw.lower()
            if low in ("1", "t", "true", "yes", "on"):
                return True
            if low in ("0", "f", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind == INT:
            return int(raw)
        if kind == FLOAT:
            return float(raw)
    except ValueError:
        raise UsageError(f'invalid argument "{raw}" for "--{name}" flag') from None
    return raw


@dataclass
class Invocation:
    """One command line: the command, its arguments, and every flag's value (defaults included)."""

    command: str = ""
    args: list[str] = field(default_factory=list)
    flags: dict[str, object] = field(default_factory=dict)
    explicit: set[str] = field(default_factory=set)

    def get(self, name: str) -> Any:
        return self.flags[name]


def parse_args(argv: list[str], env: Mapping[str, str]) -> Invocation:
    inv = Invocation()
    specs: dict[str, tuple[str, object]] = dict(GLOBAL_FLAGS)
    inv.flags = {k: v[1] for k, v in GLOBAL_FLAGS.items()}
    it = iter(argv)
    for a in it:
        if a == "--":
            inv.args.extend(it)
            break
        if not a.startswith("-") or a == "-":
            if not inv.command:
                inv.command = a
                cmd_specs = COMMAND_FLAGS.get(a, {})
                specs.update(cmd_specs)
                inv.flags.update({k: v[1] for k, v in cmd_specs.items()})
            else:
                inv.args.append(a)
            continue
        body = a.lstrip("-")
        name, eq, raw = body.partition("=")
        name = ALIASES.get(name, name) if name not in specs else name
        if name not in specs:
            raise UsageError(f"unknown flag: {a.split('=')[0]}")
        kind = specs[name][0]
        if not eq:
            if kind == BOOL:
                raw = "true"
            else:
                nxt = next(it, None)
                if nxt is None:
                    raise UsageError(f"flag needs an argument: {a}")
                raw = nxt
        inv.flags[name] = _convert(name, kind, raw)
        inv.explicit.add(name)
    # fleetctl.go getFlagsFromEnv: FLEETCTL_<FLAG> for global flags not given on the command line.
    for name, (kind, _) in GLOBAL_FLAGS.items():
        var = "FLEETCTL_" + name.upper().replace("-", "_")
        if name not in inv.explicit and env.get(var):
            inv.flags[name] = _convert(name, kind, env[var])
    return inv
