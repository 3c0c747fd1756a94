"""`shoal etcd` flags, parsed as etcd 3.4 parses them (Go's flag package + ETCD_* variables).

One table (`TABLE`) names every flag once with its kind, default and usage; the parser, the
environment, the help text (`USAGE`) and `EtcdConfig` all read it. Go's flag syntax is
gocompat's: `-flag value`, `--flag value`, `-flag=value`, `--flag=value`; a boolean flag alone
means true and takes a value only with `=`. Every flag may instead come from the environment as
ETCD_<FLAG> (upper case, `-` -> `_`); both at once is fatal, as in etcd 3.4. The messages are
etcd's (checked against /usr/bin/etcd 3.4.23) so scripts and people see what they know.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from shoal.client.urls import URLsError, new_urls
from shoal.etcd import facts
from shoal.gocompat import flag as goflag
from shoal.gocompat.flag import Flag, Kind
from shoal.gocompat.strconv import quote
from shoal.tls import TLSInfo


class FlagError(Exception):
    """Bad command line: print the message (and usage when `usage`), exit with `code`."""

    def __init__(self, message: str, code: int = 2, usage: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.usage = usage


@dataclass(frozen=True, slots=True)
class EtcdFlag:
    """A row of etcd's table: the Go flag, where help lists it (None: accepted, not listed),
    the default as help shows it when that is not the value itself, and whether ETCD_<FLAG>
    may set it."""

    flag: Flag
    section: str | None
    shown: str | None = None
    env: bool = True


def _row(
    name: str,
    kind: Kind,
    default: goflag.Value,
    usage: str,
    section: str | None,
    *,
    shown: str | None = None,
    choices: tuple[str, ...] = (),
    env: bool = True,
    urls: bool = False,
) -> EtcdFlag:
    check = _urls_check if urls else None
    f = Flag((name,), kind, default, usage, choices, check=check)
    return EtcdFlag(f, section, shown, env)


def _urls_check(raw: str) -> str | None:
    # etcd's URL flags are flags.UniqueURLs values that also allow "": Set runs types.NewURLs.
    if raw == "":
        return None
    try:
        new_urls(raw.split(","))
    except URLsError as e:
        return str(e)
    return None


_M, _C, _S, _L = "Member", "Clustering", "Security", "Logging"
_P = "v2 Proxy (to be deprecated in v4)"
_MON = "Profiling and Monitoring"
S, U, B = Kind.STRING, Kind.UINT, Kind.BOOL
# etcd 3.4's flags (etcdmain/config.go) and defaults (embed/config.go), in help order.
TABLE: Final = (
    _row("name", S, "default", "Human-readable name for this member.", _M),
    _row("data-dir", S, "", "Path to the data directory.", _M, shown="${name}.etcd"),
    _row("wal-dir", S, "", "Path to the dedicated wal directory.", _M),
    _row("snapshot-count", U, 100000, "Committed transactions to trigger a snapshot to disk.", _M),
    _row("heartbeat-interval", U, 100, "Time (in milliseconds) of a heartbeat interval.", _M),
    _row("election-timeout", U, 1000, "Time (in milliseconds) for an election to timeout.", _M),
    _row(
        "listen-peer-urls", S, "http://localhost:2380", "URLs to listen on for peer traffic.", _M,
        urls=True,
    ),
    _row(
        "listen-client-urls", S, "http://localhost:2379", "URLs to listen on for client traffic.",
        _M, urls=True,
    ),
    _row("max-snapshots", U, 5, "Maximum number of snapshot files to retain.", _M),
    _row("max-wals", U, 5, "Maximum number of wal files to retain.", _M),
    _row(
        "max-request-bytes", U, facts.MAX_REQUEST_BYTES, "Maximum client request size in bytes.",
        _M,
    ),
    _row(
        "initial-advertise-peer-urls", S, "http://localhost:2380",
        "Peer URLs to advertise to the rest of the cluster.", _C, urls=True,
    ),
    _row(
        "initial-cluster", S, "", "Initial cluster configuration for bootstrapping.", _C,
        shown="default=http://localhost:2380",
    ),
    _row(
        "initial-cluster-state", Kind.CHOICE, "new", "'new' or 'existing'.", _C,
        choices=("new", "existing"),
    ),
    _row(
        "initial-cluster-token", S, "etcd-cluster", "Initial cluster token for bootstrapping.", _C,
    ),
    _row(
        "advertise-client-urls", S, "http://localhost:2379",
        "Client URLs to advertise to the public.", _C, urls=True,
    ),
    _row("discovery", S, "", "Discovery URL used to bootstrap the cluster.", _C),
    _row(
        "discovery-fallback", Kind.CHOICE, "proxy", "'exit' or 'proxy' when discovery fails.", _C,
        choices=("exit", "proxy"),
    ),
    _row("discovery-proxy", S, "", "HTTP proxy to use for traffic to discovery service.", _C),
    _row("discovery-srv", S, "", "DNS srv domain used to bootstrap the cluster.", _C),
    _row(
        "strict-reconfig-check", B, True, "Reject reconfigurations that would cause quorum loss.",
        _C,
    ),
    _row("force-new-cluster", B, False, "Force to create a new one member cluster.", _C),
    _row("enable-v2", B, False, "Accepted: the v2 API is always on in shoal.", _C),
    # etcd's Security section (etcdmain/config.go); shoal.etcd.tlsconfig turns them into TLSInfos.
    _row("cert-file", S, "", "Path to the client server TLS cert file.", _S),
    _row("key-file", S, "", "Path to the client server TLS key file.", _S),
    _row("client-cert-auth", B, False, "Enable client cert authentication.", _S),
    _row("trusted-ca-file", S, "", "Path to the client server TLS trusted CA cert file.", _S),
    _row("auto-tls", B, False, "Client TLS using generated certificates.", _S),
    _row("peer-cert-file", S, "", "Path to the peer server TLS cert file.", _S),
    _row("peer-key-file", S, "", "Path to the peer server TLS key file.", _S),
    _row("peer-client-cert-auth", B, False, "Enable peer client cert authentication.", _S),
    _row("peer-trusted-ca-file", S, "", "Path to the peer server TLS trusted CA file.", _S),
    _row(
        "peer-cert-allowed-cn", S, "", "Required CN for client certs connecting to the peer "
        "endpoint.", _S,
    ),
    _row(
        "peer-auto-tls", B, False, "Peer TLS using self-generated certificates if "
        "--peer-key-file and --peer-cert-file are not provided.", _S,
    ),
    _row(
        "cipher-suites", S, "", "Comma-separated list of supported TLS cipher suites between "
        "client/server and peers (empty will be auto-populated by Go).", _S,
    ),
    _row(
        "metrics", S, "basic",
        "Set level of detail for exported metrics, specify 'extensive' to include histogram "
        "metrics.", _MON,
    ),
    _row(
        "listen-metrics-urls", S, "",
        "List of URLs to listen on for the metrics and health endpoints.", _MON, urls=True,
    ),
    _row("debug", B, False, "Enable debug-level logging.", _L),
    _row("log-level", S, "info", "debug, info, warn, error, panic, or fatal.", _L),
    _row(
        "proxy", Kind.CHOICE, "off", "Proxy mode setting ('off', 'readonly' or 'on').", _P,
        choices=("off", "readonly", "on"),
    ),
    _row(
        "proxy-failure-wait", U, 5000,
        "Time (in milliseconds) an endpoint will be held in a failed state.", _P,
    ),
    _row(
        "proxy-refresh-interval", U, 30000,
        "Time (in milliseconds) of the endpoints refresh interval.", _P,
    ),
    _row("proxy-dial-timeout", U, 1000, "Time (in milliseconds) for a dial to timeout.", _P),
    _row("proxy-write-timeout", U, 5000, "Time (in milliseconds) for a write to timeout.", _P),
    _row("proxy-read-timeout", U, 0, "Time (in milliseconds) for a read to timeout.", _P),
    # Accepted for compatibility; shoal does not act on these (so help does not list them).
    _row("discovery-srv-name", S, "", "Suffix to the DNS srv name queried for discovery.", None),
    _row("logger", S, "capnslog", "'zap' or 'capnslog'.", None),
    _row("log-outputs", S, "default", "Where to write the logs.", None),
    _row("quota-backend-bytes", Kind.INT, 0, "Raise alarms when backend size exceeds this.", None),
    _row("auto-compaction-retention", S, "0", "Auto compaction retention (v3 only).", None),
    _row("version", B, False, "Print the version and exit.", None, env=False),
)  # fmt: skip
FLAGS: Final = tuple(r.flag for r in TABLE)

# etcd's flags that shoal etcd accepts but does not act on yet. Given a value other than these
# (the default first), a flag is refused by name rather than silently ignored: a member asked for
# TLS must not serve plain HTTP, one asked to log elsewhere must not drop its logs. Whoever
# implements one removes its row (TLS: issue 14).
NOT_IMPLEMENTED: Final[dict[str, tuple[str, tuple[goflag.Value, ...]]]] = {
    "logger": ("the zap logger", ("capnslog",)),
    "log-outputs": ("log outputs other than stderr", ("default", "stderr")),
}
_ROWS: Final = {r.flag.name: r for r in TABLE}
_HELP_COLUMN = 42


def _usage() -> str:
    lines = [
        "Usage:",
        "",
        "  shoal etcd [flags]",
        "    Start an etcd (v2 API) member.",
        "",
        "  shoal etcd --version",
        "    Show the version of etcd this member speaks, then shoal's.",
    ]
    section = None
    for r in TABLE:
        if r.section is None:
            continue
        if r.section != section:
            section = r.section
            lines += ["", f"{section}:"]
        d = r.flag.default
        shown = r.shown if r.shown is not None else str(d).lower() if isinstance(d, bool) else d
        left = f"  --{r.flag.name} '{shown}'"
        if len(left) < _HELP_COLUMN - 1:
            lines.append(left.ljust(_HELP_COLUMN) + r.flag.usage)
        else:
            lines += [left, " " * _HELP_COLUMN + r.flag.usage]
    lines += [
        "",
        "Every flag can also be set as ETCD_<FLAG> in the environment (e.g. ETCD_NAME).",
        "",
    ]
    return "\n".join(lines)


USAGE: Final = _usage()


def parse_args(argv: list[str]) -> dict[str, Any]:
    """The flags given on the command line, converted (absent flags are not in the result)."""
    fs = goflag.FlagSet(FLAGS)
    try:
        rest = fs.parse(argv)
    except goflag.HelpRequested:
        raise FlagError("", code=0) from None
    except goflag.FlagError as e:
        raise FlagError(e.message) from None
    if rest:  # etcd refuses positional arguments (and whatever follows `--`)
        raise FlagError(
            f"error verifying flags, '{rest[0]}' is not a valid flag. See 'etcd --help'.",
            code=1,
            usage=False,
        )
    return {name: fs.values[name] for name in fs.given}


def env_name(flag: str) -> str:
    return "ETCD_" + flag.upper().replace("-", "_")


def parse_env(env: Mapping[str, str], given: Mapping[str, Any]) -> dict[str, Any]:
    """The flags set as ETCD_<FLAG> variables, converted; etcd refuses a flag set both ways."""
    out: dict[str, Any] = {}
    for r in TABLE:
        name, key = r.flag.name, env_name(r.flag.name)
        if not r.env or key not in env:
            continue
        if name in given:
            raise FlagError(
                f'conflicting environment variable "{key}" is shadowed by corresponding '
                "command-line flag (either unset environment variable or disable flag)",
                code=1,
                usage=False,
            )
        try:
            out[name] = goflag.convert(r.flag, env[key])
        except goflag.FlagError as e:
            reason = e.reason
            raise FlagError(
                f"error verifying flags, invalid value {quote(env[key])} for {key}: {reason}. "
                "See 'etcd --help'.",
                code=1,
                usage=False,
            ) from None
    return out


def _urls(raw: str) -> list[str]:
    # The flag's check has already run NewURLs over the value; keep the user's order.
    return [u.strip() for u in raw.split(",") if u.strip()]


def parse_initial_cluster(raw: str) -> list[tuple[str, str]]:
    """`a=http://h:2380,b=...` -> [(name, peer url)] as etcd's types.NewURLsMap reads it: parts
    split on `,`, then on the first `=` (a part without one is a name with an empty URL), every
    URL checked by NewURLs. A name may appear with several URLs."""
    out = []
    for part in raw.split(","):
        if not part:
            continue
        name, _, url = part.partition("=")
        try:
            new_urls([url])
        except URLsError as e:
            raise FlagError(f"error setting up initial cluster: {e}", code=1, usage=False) from None
        out.append((name, url.strip()))
    return out


@dataclass
class EtcdConfig:
    """The member's configuration, from `load_config` (defaults are TABLE's, not repeated)."""

    name: str
    data_dir: str
    wal_dir: str
    snapshot_count: int
    heartbeat_ms: int
    election_ms: int
    initial_cluster_state: str
    initial_cluster_token: str
    max_snapshots: int
    max_wals: int
    strict_reconfig_check: bool
    force_new_cluster: bool
    discovery: str
    discovery_srv: str
    discovery_proxy: str
    discovery_fallback: str
    proxy: str
    max_request_bytes: int
    log_level: str
    version: bool
    raw: dict[str, Any]
    listen_peer_urls: list[str] = field(default_factory=list)
    listen_client_urls: list[str] = field(default_factory=list)
    listen_metrics_urls: list[str] = field(default_factory=list)
    metrics: str = "basic"  # etcd takes any word; only "extensive" means more (gRPC, v3)
    advertise_peer_urls: list[str] = field(default_factory=list)
    advertise_client_urls: list[str] = field(default_factory=list)
    initial_cluster: list[tuple[str, str]] = field(default_factory=list)
    # Set by shoal.etcd.tlsconfig.configure from the Security flags (None: plain HTTP).
    client_tls: TLSInfo | None = None
    peer_tls: TLSInfo | None = None

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
    values: dict[str, Any] = goflag.default_values(FLAGS)
    from_env = parse_env(env, given)
    values.update(from_env)
    values.update(given)
    set_explicitly = set(given) | set(from_env)
    for name in sorted(set_explicitly & NOT_IMPLEMENTED.keys()):
        what, allowed = NOT_IMPLEMENTED[name]
        if values[name] not in allowed:
            value = values[name]
            flag = f"--{name}" if isinstance(value, bool) else f"--{name}={value}"
            how = flag if name in given else f"{env_name(name)} ({flag})"
            raise FlagError(
                f"error verifying flags, {how} is not implemented by shoal etcd yet ({what}): "
                "unset it. See 'etcd --help'.",
                code=1,
                usage=False,
            )
    c = EtcdConfig(
        name=values["name"],
        data_dir=values["data-dir"] or f"{values['name']}.etcd",
        wal_dir=values["wal-dir"],
        snapshot_count=values["snapshot-count"],
        heartbeat_ms=values["heartbeat-interval"],
        election_ms=values["election-timeout"],
        initial_cluster_state=values["initial-cluster-state"],
        initial_cluster_token=values["initial-cluster-token"],
        max_snapshots=values["max-snapshots"],
        max_wals=values["max-wals"],
        strict_reconfig_check=values["strict-reconfig-check"],
        force_new_cluster=values["force-new-cluster"],
        discovery=values["discovery"],
        discovery_srv=values["discovery-srv"],
        discovery_proxy=values["discovery-proxy"],
        discovery_fallback=values["discovery-fallback"],
        proxy=values["proxy"],
        max_request_bytes=values["max-request-bytes"],
        log_level="debug" if values["debug"] else values["log-level"],
        version=bool(values["version"]),
        raw=values,
    )
    if c.version:
        return c

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
    # etcd's mayBeProxy: a proxy (or a member that may fall back to one) advertises nothing,
    # so it need not be told what to advertise.
    may_be_proxy = c.proxy != "off" or (bool(c.discovery) and c.discovery_fallback == "proxy")
    if (
        "listen-client-urls" in set_explicitly
        and "advertise-client-urls" not in set_explicitly
        and not may_be_proxy
    ):
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
    c.listen_peer_urls = _urls(values["listen-peer-urls"])
    c.listen_client_urls = _urls(values["listen-client-urls"])
    c.listen_metrics_urls = _urls(values["listen-metrics-urls"])
    c.metrics = values["metrics"]
    c.advertise_peer_urls = _urls(values["initial-advertise-peer-urls"])
    c.advertise_client_urls = _urls(values["advertise-client-urls"])
    ic = values["initial-cluster"]
    if not ic and not (c.discovery or c.discovery_srv):
        # etcd's default: this member alone at its advertised peer URLs.
        ic = ",".join(f"{c.name}={u}" for u in c.advertise_peer_urls)
    c.initial_cluster = parse_initial_cluster(ic)
    return c
