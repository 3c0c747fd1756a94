"""fleetd's configuration: defaults, then a fleet.conf file, then FLEET_* variables, then flags.

Option names, kinds and defaults are fleet's (fleetd/fleetd.go). `FleetConfig` holds each default
once; `OPTIONS` gives each option its Go kind and usage, and from it come the conversion of every
source, the command line and the help. Values are converted as fleet's flag.Values convert them
(strconv.ParseBool for booleans, so `yes`/`on` are refused, Go's ParseInt/ParseFloat for numbers);
where fleet's globalconf silently kept the default after a bad value, shoal refuses it with Go's
message. cloud-config's `coreos.fleet` keys become FLEET_* variables, and dashes and underscores
are equivalent everywhere (`public-ip` = `public_ip`). A few options are shoal's own and say so:
where the API listens and which unit runner to use, since fleet got those from systemd.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from shoal.fleet import facts
from shoal.gocompat import flag as goflag
from shoal.gocompat.duration import DurationError, parse_seconds
from shoal.gocompat.flag import Flag, Kind
from shoal.gocompat.strconv import quote


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class FleetConfig:
    etcd_servers: tuple[str, ...] = facts.DEFAULT_ETCD_SERVERS
    etcd_key_prefix: str = facts.DEFAULT_KEY_PREFIX
    etcd_request_timeout: float = facts.DEFAULT_ETCD_REQUEST_TIMEOUT
    etcd_username: str = ""
    etcd_password: str = ""
    etcd_keyfile: str = ""
    etcd_certfile: str = ""
    etcd_cafile: str = ""
    engine_reconcile_interval: float = facts.DEFAULT_ENGINE_RECONCILE_INTERVAL
    public_ip: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    agent_ttl: float = parse_seconds(facts.DEFAULT_AGENT_TTL)
    disable_engine: bool = False
    disable_watches: bool = False
    token_limit: int = facts.DEFAULT_TOKEN_LIMIT
    verbosity: int = 0
    units_directory: str = facts.DEFAULT_UNITS_DIRECTORY
    # shoal: fleet was socket-activated by systemd's fleet.socket; here fleetd opens these itself.
    api_socket: str = "/var/run/fleet.sock"
    api_tcp: str = ""  # host:port, off when empty
    # shoal: where /etc/machine-id is read from (fleet read the host's), and an explicit override.
    root_dir: str = "/"
    machine_id: str = ""
    # shoal: how units run: "auto" (shoal node's manager when its control socket is under
    # root_dir, else plain processes), "process", or "node[:SOCKET]".
    unit_runner: str = "auto"


_DEFAULTS: Final = FleetConfig()
_S, _B, _I, _F = Kind.STRING, Kind.BOOL, Kind.INT, Kind.FLOAT


def _opt(name: str, kind: Kind, usage: str) -> Flag:
    default = getattr(_DEFAULTS, name, False if kind is Kind.BOOL else "")
    if isinstance(default, tuple):
        default = ",".join(default)
    elif isinstance(default, Mapping):
        default = ",".join(f"{k}={v}" for k, v in default.items())
    elif name == "agent_ttl":
        default = facts.DEFAULT_AGENT_TTL  # fleet keeps it as the string it parses later
    return Flag((name,), kind, default, usage)


# fleetd/fleetd.go's cfgset (kinds and usage), then shoal's own options.
OPTIONS: Final = (
    _opt("verbosity", _I, "Logging level"),
    _opt("etcd_servers", _S, "List of etcd endpoints"),
    _opt("etcd_keyfile", _S, "SSL key file used to secure etcd communication"),
    _opt("etcd_certfile", _S, "SSL certification file used to secure etcd communication"),
    _opt("etcd_cafile", _S, "SSL Certificate Authority file used to secure etcd communication"),
    _opt("etcd_username", _S, "Username for etcd authentication"),
    _opt("etcd_password", _S, "Password for etcd authentication"),
    _opt("etcd_key_prefix", _S, "Keyspace for fleet data in etcd"),
    _opt(
        "etcd_request_timeout", _F,
        "Amount of time in seconds to allow a single etcd request before considering it failed.",
    ),
    _opt(
        "engine_reconcile_interval", _F,
        "Interval at which the engine should reconcile the cluster schedule in etcd.",
    ),
    _opt("public_ip", _S, "IP address that fleet machine should publish"),
    _opt("metadata", _S, "List of key-value metadata to assign to the fleet machine"),
    _opt("agent_ttl", _S, "TTL in seconds of fleet machine state in etcd"),
    _opt("token_limit", _I, "Maximum number of entries per page returned from API requests"),
    _opt("disable_engine", _B, "Disable the engine entirely, use with care"),
    _opt("disable_watches", _B, "Disable the use of etcd watches. Increases scheduling latency"),
    _opt("verify_units", _B, "DEPRECATED - This option is ignored"),
    _opt("authorized_keys_file", _S, "DEPRECATED - This option is ignored"),
    _opt("units_directory", _S, "shoal: where unit files are written for the unit runner"),
    _opt("api_socket", _S, "shoal: the unix socket of the fleet API (fleet.socket's)"),
    _opt("api_tcp", _S, "shoal: host:port for the fleet API over TCP (off when empty)"),
    _opt("root_dir", _S, "shoal: the machine's root, where etc/machine-id is read"),
    _opt("machine_id", _S, "shoal: this machine's ID (else <root_dir>/etc/machine-id)"),
    _opt("unit_runner", _S, "shoal: auto, process, or node[:SOCKET]"),
)  # fmt: skip
_BY_NAME: Final = {f.name: f for f in OPTIONS}
# fleetd's own flags (its `userset`), only on the command line.
COMMAND_LINE: Final = (
    Flag(("version",), Kind.BOOL, False, "Print the version and exit"),
    Flag(
        ("config",), Kind.STRING, "",
        "Path to config file. Fleet will look for a config at /etc/fleet/fleet.conf by default.",
    ),
)  # fmt: skip


def parse_duration(text: str) -> float:
    """agent_ttl as seconds: Go's time.ParseDuration ("30s", "1m30s", "500ms"), and shoal also
    takes a bare number as seconds (fleet's docs call the option "TTL in seconds")."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_seconds(text)
    except DurationError as e:
        raise ConfigError(str(e)) from None


def parse_metadata(raw: str) -> dict[str, str]:
    """config/config.go Metadata: split on ",", then the first "=", trimmed; bad pairs dropped."""
    out: dict[str, str] = {}
    for pair in raw.split(","):
        key, eq, val = pair.partition("=")
        if eq:
            out[key.strip()] = val.strip()
    return out


def _norm(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def read_conf_file(path: str) -> dict[str, str]:
    """fleet.conf: `key=value` lines (globalconf's INI without sections), `#`/`;` comments."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"Unable to use config file {path}: {e.strerror}") from e
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s[0] in "#;" or (s.startswith("[") and s.endswith("]")):
            continue
        key, eq, val = s.partition("=")
        if not eq:
            raise ConfigError(f"{path}:{n}: expected key=value, got {s!r}")
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
            val = val[1:-1]
        out[_norm(key)] = val
    return out


def load_config(
    conf_file: str | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, str] | None = None,
) -> FleetConfig:
    """Layered as globalconf does: defaults < file < FLEET_* environment < explicit flags."""
    raw: dict[str, str] = {}
    if conf_file:
        raw.update(read_conf_file(conf_file))
    for k, v in (os.environ if env is None else env).items():
        if k.upper().startswith("FLEET_"):
            raw[_norm(k[len("FLEET_") :])] = v
    for k, v in (flags or {}).items():
        raw[_norm(k)] = v
    return build_config(raw)


def build_config(raw: Mapping[str, str]) -> FleetConfig:
    """Settings as text (from any source) -> a checked FleetConfig."""
    kw: dict[str, object] = {}
    for name, value in raw.items():
        opt = _BY_NAME.get(name)
        if opt is None or not hasattr(_DEFAULTS, name):
            continue  # fleet ignores unknown settings too (and the deprecated ones)
        if opt.kind is Kind.BOOL and value == "":
            continue  # globalconf does not apply an empty value: the default stays
        if name == "etcd_servers":
            kw[name] = tuple(s.strip() for s in value.split(",") if s.strip())
        elif name == "metadata":
            kw[name] = parse_metadata(value)
        elif name == "agent_ttl":
            try:
                kw[name] = parse_duration(value)
            except ConfigError as e:
                raise ConfigError(f"invalid value {quote(value)} for {name}: {e}") from None
        else:
            try:
                kw[name] = goflag.convert(opt, value)
            except goflag.FlagError as e:
                raise ConfigError(e.message) from None
    cfg = dataclasses.replace(_DEFAULTS, **kw)  # type: ignore[arg-type]
    if cfg.agent_ttl <= 0:
        raise ConfigError("agent_ttl must be positive")
    if cfg.engine_reconcile_interval <= 0:
        raise ConfigError("engine_reconcile_interval must be positive")
    if not cfg.etcd_servers:
        raise ConfigError("etcd_servers must name at least one endpoint")
    return cfg


def machine_id(cfg: FleetConfig) -> str:
    """The configured ID, else <root_dir>/etc/machine-id, else a new ID written there (so the same
    machine keeps its ID across restarts, as systemd's machine-id does)."""
    if cfg.machine_id:
        return cfg.machine_id.strip()
    path = Path(cfg.root_dir) / "etc" / "machine-id"
    try:
        existing = path.read_text().strip()
    except OSError:
        existing = ""
    if existing:
        return existing
    new = uuid.uuid4().hex
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new + "\n")
    except OSError:
        pass  # a read-only root: the ID lasts as long as this process
    return new


# On the command line (shoal's addition: fleet read options only from the file and FLEET_*), an
# option's text is kept for build_config, so only booleans are converted while parsing: that is
# what makes a bare `--disable_watches` mean true without taking the next argument.
_CLI_FLAGS: Final = COMMAND_LINE + tuple(
    f if f.kind is Kind.BOOL else dataclasses.replace(f, kind=Kind.STRING) for f in OPTIONS
)


def split_flags(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Go-style `--name=value` / `-name value` / bare boolean flags -> ({name: text}, the
    arguments after the flags). Raises gocompat's FlagError (HelpRequested for -h/--help)."""
    fs = goflag.FlagSet(_CLI_FLAGS, normalize=_norm)
    rest = fs.parse(argv)
    flags: dict[str, str] = {}
    for name in fs.given:
        v = fs.values[name]
        flags[name] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    return flags, rest


def usage() -> str:
    """fleetd's usage text: its description, then Go's PrintDefaults of every option."""
    return (
        "fleetd is the server component of fleet, a simple orchestration system for scheduling "
        "systemd units in a cluster.\nUsage: shoal fleetd [flags]\n"
        "Each option may also be set in the config file (option=value) or as FLEET_<OPTION>.\n"
        + goflag.print_defaults(COMMAND_LINE + OPTIONS)
    )
