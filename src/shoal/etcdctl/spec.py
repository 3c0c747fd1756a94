"""etcdctl v2's commands and flags as data: names, usage lines, flags, defaults.

Facts from etcd-io/etcd release-3.4 `etcdctl/ctlv2/ctl.go` and `ctlv2/command/*.go`, checked
against the help that /usr/bin/etcdctl 3.4.23 (ETCDCTL_API=2) prints. The parser (`flags.py`) and
the help printer (`help.py`) both read this table, so a flag and its help cannot drift apart.
Flags are gocompat's `Flag` rows (urfave names: "output, o" is `--output` and `-o`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from shoal.gocompat.duration import parse_seconds
from shoal.gocompat.flag import Flag, Kind, flag

VERSION: Final = "3.4.23"
APP_NAME: Final = "etcdctl"
APP_USAGE: Final = "A simple command line client for etcd."

# Exit codes (ctlv2/command/error.go).
EXIT_SUCCESS: Final = 0
EXIT_BAD_ARGS: Final = 1
EXIT_BAD_CONNECTION: Final = 2
EXIT_BAD_AUTH: Final = 3
EXIT_SERVER_ERROR: Final = 4
EXIT_CLUSTER_NOT_HEALTHY: Final = 5
# urfave/cli: unknown command or help topic.
EXIT_NO_HELP_TOPIC: Final = 3


class Exit(Exception):
    """Stop the command with this exit status (its output is already written)."""

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(code)


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    usage: str
    args_usage: str = ""
    description: str = ""
    flags: tuple[Flag, ...] = ()
    subcommands: tuple[Command, ...] = field(default=())
    aliases: tuple[str, ...] = ()


def _bool(names: str, usage: str) -> Flag:
    return flag(names, Kind.BOOL, False, usage)


def _str(names: str, usage: str, default: str = "", placeholder: str = "value") -> Flag:
    return flag(
        names, Kind.STRING, default, usage, placeholder=placeholder, show_default=bool(default)
    )


def _int(names: str, usage: str) -> Flag:
    return flag(names, Kind.INT, 0, usage, show_default=True)


def _dur(names: str, usage: str, default: str) -> Flag:
    return flag(names, Kind.DURATION, parse_seconds(default), usage, show_default=True)


HELP_FLAG: Final = _bool("help, h", "show help")
VERSION_FLAG: Final = _bool("version, v", "print the version")

GLOBAL_FLAGS: Final = (
    _bool("debug", "output cURL commands which can be used to reproduce the request"),
    _bool("no-sync", "don't synchronize cluster information before sending request"),
    _str(
        "output, o",
        "output response in the given format (simple, `extended` or `json`)",
        default="simple",
        placeholder="simple",
    ),
    _str("discovery-srv, D", "domain name to query for SRV records describing cluster endpoints"),
    _bool("insecure-discovery", "accept insecure SRV records describing cluster endpoints"),
    _str("peers, C", 'DEPRECATED - "--endpoints" should be used instead'),
    _str("endpoint", 'DEPRECATED - "--endpoints" should be used instead'),
    _str(
        "endpoints",
        "a comma-delimited list of machine addresses in the cluster "
        '(default: "http://127.0.0.1:2379,http://127.0.0.1:4001")',
    ),
    _str("cert-file", "identify HTTPS client using this SSL certificate file"),
    _str("key-file", "identify HTTPS client using this SSL key file"),
    _str("ca-file", "verify certificates of HTTPS-enabled servers using this CA bundle"),
    _str("username, u", "provide username[:password] and prompt if password is not supplied."),
    _dur("timeout", "connection timeout per request", "2s"),
    _dur("total-timeout", "timeout for the command execution (except watch)", "5s"),
    HELP_FLAG,
    VERSION_FLAG,
)

_TTL = _int("ttl", "key time-to-live in seconds")
_SORT = _bool("sort", "returns result in sorted order")
_QUORUM = _bool("quorum, q", "require quorum for get request")
_AFTER_INDEX = _int("after-index", "watch after the given index")
_ROLES = flag("roles", Kind.LIST, [], "List of roles to grant or revoke")

HELP_COMMAND: Final = Command(
    "help", "Shows a list of commands or help for one command", "[command]", aliases=("h",)
)

COMMANDS: Final = (
    Command(
        "backup",
        "backup an etcd directory",
        " ",
        flags=(
            _str("data-dir", "Path to the etcd data dir"),
            _str("wal-dir", "Path to the etcd wal dir"),
            _str("backup-dir", "Path to the backup dir"),
            _str("backup-wal-dir", "Path to the backup wal dir"),
            _bool("with-v3", "Backup v3 backend data"),
        ),
    ),
    Command(
        "cluster-health",
        "check the health of the etcd cluster",
        " ",
        flags=(_bool("forever, f", "forever check the health every 10 second until CTRL+C"),),
    ),
    Command(
        "mk",
        "make a new key with a given value",
        "<key> <value>",
        flags=(_bool("in-order", "create in-order key under directory <key>"), _TTL),
    ),
    Command("mkdir", "make a new directory", "<key>", flags=(_TTL,)),
    Command(
        "rm",
        "remove a key or a directory",
        "<key>",
        flags=(
            _bool("dir", "removes the key if it is an empty directory or a key-value pair"),
            _bool("recursive, r", "removes the key and all child keys(if it is a directory)"),
            _str("with-value", "previous value"),
            _int("with-index", "previous index"),
        ),
    ),
    Command("rmdir", "removes the key if it is an empty directory or a key-value pair", "<key>"),
    Command("get", "retrieve the value of a key", "<key>", flags=(_SORT, _QUORUM)),
    Command(
        "ls",
        "retrieve a directory",
        "[key]",
        flags=(
            _SORT,
            _bool("recursive, r", "returns all key names recursively for the given path"),
            _bool("p", "append slash (/) to directories"),
            _QUORUM,
        ),
    ),
    Command(
        "set",
        "set the value of a key",
        "<key> <value>",
        description=(
            "Set sets the value of a key.\n\n"
            "   When <value> begins with '-', <value> is interpreted as a flag.\n"
            "   Insert '--' for workaround:\n\n"
            "   $ set -- <key> <value>"
        ),
        flags=(
            _TTL,
            _str("swap-with-value", "previous value"),
            _int("swap-with-index", "previous index"),
        ),
    ),
    Command(
        "setdir",
        "create a new directory or update an existing directory TTL",
        "<key>",
        flags=(_TTL,),
    ),
    Command("update", "update an existing key with a given value", "<key> <value>", flags=(_TTL,)),
    Command("updatedir", "update an existing directory", "<key> <value>", flags=(_TTL,)),
    Command(
        "watch",
        "watch a key for changes",
        "<key>",
        flags=(
            _bool("forever, f", "forever watch a key until CTRL+C"),
            _AFTER_INDEX,
            _bool("recursive, r", "returns all values for key and child keys"),
        ),
    ),
    Command(
        "exec-watch",
        "watch a key for changes and exec an executable",
        "<key> <command> [args...]",
        flags=(_AFTER_INDEX, _bool("recursive, r", "watch all values for key and child keys")),
    ),
    Command(
        "member",
        "member add, remove and list subcommands",
        subcommands=(
            Command("list", "enumerate existing cluster members", " "),
            Command("add", "add a new member to the etcd cluster", "<name> <peerURL>"),
            Command("remove", "remove an existing member from the etcd cluster", "<memberID>"),
            Command(
                "update", "update an existing member in the etcd cluster", "<memberID> <peerURLs>"
            ),
        ),
    ),
    Command(
        "user",
        "user add, grant and revoke subcommands",
        subcommands=(
            Command("add", "add a new user for the etcd cluster", "<user>"),
            Command("get", "get details for a user", "<user>"),
            Command("list", "list all current users", "<user>"),
            Command("remove", "remove a user for the etcd cluster", "<user>"),
            Command("grant", "grant roles to an etcd user", "<user>", flags=(_ROLES,)),
            Command("revoke", "revoke roles for an etcd user", "<user>", flags=(_ROLES,)),
            Command("passwd", "change password for a user", "<user>"),
        ),
    ),
    Command(
        "role",
        "role add, grant and revoke subcommands",
        subcommands=(
            Command("add", "add a new role for the etcd cluster", "<role> "),
            Command("get", "get details for a role", "<role>"),
            Command("list", "list all roles", " "),
            Command("remove", "remove a role from the etcd cluster", "<role>"),
            Command(
                "grant",
                "grant path matches to an etcd role",
                "<role>",
                flags=(
                    _str("path", "Path granted for the role to access"),
                    _bool("read", "Grant read-only access"),
                    _bool("write", "Grant write-only access"),
                    _bool("readwrite, rw", "Grant read-write access"),
                ),
            ),
            Command(
                "revoke",
                "revoke path matches for an etcd role",
                "<role>",
                flags=(
                    _str("path", "Path revoked for the role to access"),
                    _bool("read", "Revoke read access"),
                    _bool("write", "Revoke write access"),
                    _bool("readwrite, rw", "Revoke read-write access"),
                ),
            ),
        ),
    ),
    Command(
        "auth",
        "overall auth controls",
        subcommands=(
            Command("enable", "enable auth access controls", " "),
            Command("disable", "disable auth access controls", " "),
        ),
    ),
)


def find(commands: tuple[Command, ...], name: str) -> Command | None:
    for cmd in commands:
        if name == cmd.name or name in cmd.aliases:
            return cmd
    return None
