"""`shoal etcd` flags, parsed as etcd 3.4 parses them (Go's flag package + ETCD_* variables).

Go's flag syntax: `-flag value`, `--flag value`, `-flag=value`, `--flag=value`; a boolean flag
alone means true and takes a value only with `=`. Every flag may instead come from the
environment as ETCD_<FLAG> (upper case, `-` -> `_`); both at once is fatal, as in etcd 3.4.
The messages are etcd's so scripts and people see what they know.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


class FlagError(Exception):
    """Bad command line: print the message (and usage when `usage`), exit with `code`."""

    def __init__(self, message: str, code: int = 2, usage: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.usage = usage


# name -> (kind, default). Kinds: str, uint, bool, choice:<a|b>. Defaults are etcd 3.4's.
FLAGS: dict[str, tuple[str, Any]] = {
    "name": ("str", "default"),
    "data-dir": ("str", ""),
    "wal-dir": ("str", ""),
    "snapshot-count": ("uint", 100000),
    "heartbeat-interval": ("uint", 100),
    "election-timeout": ("uint", 1000),
    "listen-peer-urls": ("str", "http://localhost:2380"),
    "listen-client-urls": ("str", "http://localhost:2379"),
    "initial-advertise-peer-urls": ("str", "http://localhost:2380"),
    "advertise-client-urls": ("str", "http://localhost:2379"),
    "initial-cluster": ("str", ""),
    "initial-cluster-state": ("choice:new|existing", "new"),
    "initial-cluster-token": ("str", "etcd-cluster"),
    "max-snapshots": ("uint", 5),
    "max-wals": ("uint", 5),
    "strict-reconfig-check": ("bool", True),
    "force-new-cluster": ("bool", False),
    "discovery": ("str", ""),
    "discovery-srv": ("str", ""),
    "discovery-srv-name": ("str", ""),
    "discovery-proxy": ("str", ""),
    "discovery-fallback": ("choice:exit|proxy", "proxy"),
    "enable-v2": ("bool", False),
    "debug": ("bool", False),
    "log-level": ("str", "info"),
    "logger": ("str", "capnslog"),
    "log-outputs": ("str", "default"),
    "max-request-bytes": ("uint", 1572864),
    "quota-backend-bytes": ("uint", 0),
    "proxy": ("choice:off|readonly|on", "off"),
    "cert-file": ("str", ""),
    "key-file": ("str", ""),
    "trusted-ca-file": ("str", ""),
    "client-cert-auth": ("bool", False),
    "peer-cert-file": ("str", ""),
    "peer-key-file": ("str", ""),
    "peer-trusted-ca-file": ("str", ""),
    "peer-client-cert-auth": ("bool", False),
    "auto-compaction-retention": ("str", "0"),
    "version": ("bool", False),
    "help": ("bool", False),
}
# Not settable from the environment (etcd ignores ETCD_VERSION etc. for these).
NO_ENV = {"version", "help"}

USAGE = """Usage:

  shoal etcd [flags]
    Start an etcd (v2 API) member.

  shoal etcd --version
    Show the version of etcd this member speaks, then shoal's.

Member:
  --name 'default'                        Human-readable name for this member.
  --data-dir '${name}.etcd'               Path to the data directory.
  --wal-dir ''                            Path to the dedicated wal directory.
  --snapshot-count '100000'               Committed transactions to trigger a snapshot to disk.
  --heartbeat-interval '100'              Time (in milliseconds) of a heartbeat interval.
  --election-timeout '1000'               Time (in milliseconds) for an election to timeout.
  --listen-peer-urls 'http://localhost:2380'
  --listen-client-urls 'http://localhost:2379'
  --max-snapshots '5'                     Maximum number of snapshot files to retain.
  --max-wals '5'                          Maximum number of wal files to retain.
  --max-request-bytes '1572864'           Maximum client request size in bytes.

Clustering:
  --initial-advertise-peer-urls 'http://localhost:2380'
  --initial-cluster 'default=http://localhost:2380'
  --initial-cluster-state 'new'           'new' or 'existing'.
  --initial-cluster-token 'etcd-cluster'  Initial cluster token for bootstrapping.
  --advertise-client-urls 'http://localhost:2379'
  --discovery ''                          Discovery URL used to bootstrap the cluster.
  --discovery-fallback 'proxy'            'exit' or 'proxy' when discovery fails.
  --discovery-proxy ''                    HTTP proxy to use for traffic to discovery service.
  --discovery-srv ''                      DNS srv domain used to bootstrap the cluster.
  --strict-reconfig-check 'true'          Reject reconfigurations that would cause quorum loss.
  --force-new-cluster 'false'             Force to create a new one member cluster.
  --enable-v2 'false'                     Accepted: the v2 API is always on in shoal.

Logging:
  --debug 'false'                         Enable debug-level logging.
  --log-level 'info'                      debug, info, warn, error, panic, or fatal.

Every flag can also be set as ETCD_<FLAG> in the environment (e.g. ETCD_NAME).
"""


def _parse_bool(s: str) -> bool | None:
    if s in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if s in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


def _convert(name: str, raw: str) -> Any:
    kind, _ = FLAGS[name]
    if kind == "str":
        return raw
    if kind == "uint":
        try:
            v = int(raw, 0) if raw.lower().startswith(("0x", "0o", "0b")) else int(raw)
        except ValueError:
            v = -1
        if v < 0 or raw.strip() != raw or raw.startswith("+"):
            raise FlagError(f'invalid value "{raw}" for flag -{name}: parse error')
        return v
    if kind == "bool":
        b = _parse_bool(raw)
        if b is None:
            raise FlagError(f'invalid boolean value "{raw}" for -{name}: parse error')
        return b
    choices = kind.split(":", 1)[1].split("|")
    if raw not in choices:
        raise FlagError(f'invalid value "{raw}" for flag -{name}: invalid value')
    return raw


def parse_args(argv: list[str]) -> dict[str, Any]:
    """The flags given on the command line, converted (absent flags are not in the result)."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("-") or arg in ("-", "--"):
            if arg == "--":
                rest = argv[i:]
                if rest:
                    raise FlagError(
                        f"error verifying flags, '{rest[0]}' is not a valid flag. "
                        "See 'etcd --help'.",
                        code=1,
                        usage=False,
                    )
                break
            raise FlagError(
                f"error verifying flags, '{arg}' is not a valid flag. See 'etcd --help'.",
                code=1,
                usage=False,
            )
        body = arg[2:] if arg.startswith("--") else arg[1:]
        if not body or body.startswith("-") or body.startswith("="):
            raise FlagError(f"bad flag syntax: {arg}")
        name, eq, value = body.partition("=")
        if name in ("h", "help"):
            raise FlagError("", code=0)
        if name not in FLAGS:
            raise FlagError(f"flag provided but not defined: -{name}")
        kind = FLAGS[name][0]
        if not eq:
            if kind == "bool":
                value = "true"
            else:
                if i >= len(argv):
                    raise FlagError(f"flag needs an argument: -{name}")
                value = argv[i]
                i += 1
        out[name] = _convert(name, value)
    return out


def env_name(flag: str) -> str:
    return "ETCD_" + flag.upper().replace("-", "_")


def parse_env(env: Mapping[str, str], given: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in FLAGS:
        if name in NO_ENV:
            continue
        key = env_name(name)
        if key not in env:
            continue
        if name in given:
            raise FlagError(
                f'conflicting environment variable "{key}" is shadowed by corresponding '
                "command-line flag (either unset environment variable or disable flag)",
                code=1,
                usage=False,
            )
        try:
            out[name] = _convert(name, env[key])
        except FlagError as e:
            raise FlagError(
                f'invalid value "{env[key]}" for {key}: {e.message.rsplit(": ", 1)[-1]}',
                code=1,
                usage=False,
            ) from None
    return out


def _urls(flag: str, raw: str) -> list[str]:
    urls = [u.strip() for u in raw.split(",") if u.strip()]
    for u in urls:
        p = urlsplit(u)
        if p.scheme not in ("http", "https", "unix", "unixs"):
            raise FlagError(
                f"error verifying flags, URL scheme must be http, https, unix, or unixs: {u}",
                code=1,
                usage=False,
            )
        if p.path not in ("", "/"):
            raise FlagError(
                f"error verifying flags, URL must not contain a path: {u}", code=1, usage=False
            )
        if p.hostname is None or p.port is None:
            raise FlagError(
                f'error verifying flags, URL address does not have the form "host:port": {u}',
                code=1,
                usage=False,
            )
    return urls


def parse_initial_cluster(raw: str) -> list[tuple[str, str]]:
    """`a=http://h:2380,b=...` -> [(name, peer url)] (a name may appear with several URLs)."""
    out = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        name, eq, url = part.partition("=")
        if not eq or not name:
            raise FlagError(
                f"error setting up initial cluster: {part!r} is not of the form name=url",
                code=1,
                usage=False,
            )
        _urls("initial-cluster", url)
        out.append((name, url))
    return out


@dataclass
class EtcdConfig:
    name: str = "default"
    data_dir: str = ""
    wal_dir: str = ""
    snapshot_count: int = 100000
    heartbeat_ms: int = 100
    election_ms: int = 1000
    listen_peer_urls: list[str] = field(default_factory=list)
    listen_client_urls: list[str] = field(default_factory=list)
    advertise_peer_urls: list[str] = field(default_factory=list)
    advertise_client_urls: list[str] = field(default_factory=list)
    initial_cluster: list[tuple[str, str]] = field(default_factory=list)
    initial_cluster_state: str = "new"
    initial_cluster_token: str = "etcd-cluster"
    max_snapshots: int = 5
    max_wals: int = 5
    strict_reconfig_check: bool = True
    force_new_cluster: bool = False
    discovery: str = ""
    discovery_srv: str = ""
    discovery_proxy: str = ""
    discovery_fallback: str = "proxy"
    max_request_bytes: int = 1572864
    log_level: str = "info"
    version: bool = False
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def request_timeout(self) -> float:
        """etcd's v2 request timeout: 5 s + 2 x election timeout."""
        return 5.0 + 2 * self.election_ms / 1000.0

    def initial_peer_urls(self, name: str) -> list[str]:
        return [u for n, u in self.initial_cluster if n == name]


def load_config(argv: list[str], env: Mapping[str, str] | None = None) -> EtcdConfig:
    """Flags + environment -> a validated configuration, or FlagError with etcd's message."""
    env = os.environ if env is None else env
    given = parse_args(argv)
    values: dict[str, Any] = {n: d for n, (_, d) in FLAGS.items()}
    values.update(parse_env(env, given))
    values.update(given)
    set_explicitly = set(given) | {n for n in FLAGS if env_name(n) in env and n not in NO_ENV}
    c = EtcdConfig(raw=values)
    c.version = bool(values["version"])
    if c.version:
        return c
    c.name = values["name"]
    c.data_dir = values["data-dir"] or f"{c.name}.etcd"
    c.wal_dir = values["wal-dir"]
    c.snapshot_count = values["snapshot-count"]
    c.heartbeat_ms = values["heartbeat-interval"]
    c.election_ms = values["election-timeout"]
    c.initial_cluster_state = values["initial-cluster-state"]
    c.initial_cluster_token = values["initial-cluster-token"]
    c.max_snapshots = values["max-snapshots"]
    c.max_wals = values["max-wals"]
    c.strict_reconfig_check = values["strict-reconfig-check"]
    c.force_new_cluster = values["force-new-cluster"]
    c.discovery = values["discovery"]
    c.discovery_srv = values["discovery-srv"]
    c.discovery_proxy = values["discovery-proxy"]
    c.discovery_fallback = values["discovery-fallback"]
    c.max_request_bytes = values["max-request-bytes"]
    c.log_level = "debug" if values["debug"] else values["log-level"]

    def fail(msg: str) -> FlagError:
        return FlagError(f"error verifying flags, {msg}. See 'etcd --help'.", code=1, usage=False)

    bootstrap = [
        f
        for f in ("initial-cluster", "discovery", "discovery-srv")
        if f in set_explicitly and values[f]
    ]
    if len(bootstrap) > 1:
        raise fail(
            'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", '
            '"discovery" or "discovery-srv"'
        )
    if "listen-client-urls" in set_explicitly and "advertise-client-urls" not in set_explicitly:
        raise fail(
            "--advertise-client-urls is required when --listen-client-urls is set explicitly"
        )
    if c.heartbeat_ms <= 0:
        raise fail(f"--heartbeat-interval[{c.heartbeat_ms}ms] must be positive")
    if 5 * c.heartbeat_ms > c.election_ms:
        raise fail(
            f"--election-timeout[{c.election_ms}ms] should be at least as 5 times as "
            f"--heartbeat-interval[{c.heartbeat_ms}ms]"
        )
    if c.election_ms > 50000:
        raise fail(
            f"--election-timeout[{c.election_ms}ms] is too long, and should be set less than "
            "50000ms"
        )
    c.listen_peer_urls = _urls("listen-peer-urls", values["listen-peer-urls"])
    c.listen_client_urls = _urls("listen-client-urls", values["listen-client-urls"])
    c.advertise_peer_urls = _urls(
        "initial-advertise-peer-urls", values["initial-advertise-peer-urls"]
    )
    c.advertise_client_urls = _urls("advertise-client-urls", values["advertise-client-urls"])
    ic = values["initial-cluster"]
    if not ic and not (c.discovery or c.discovery_srv):
        # etcd's default: this member alone at its advertised peer URLs.
        ic = ",".join(f"{c.name}={u}" for u in c.advertise_peer_urls)
    c.initial_cluster = parse_initial_cluster(ic)
    return c
