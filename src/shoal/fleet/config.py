"""fleetd's configuration: defaults, then a fleet.conf file, then FLEET_* variables, then flags.

Option names and defaults are fleet's (fleetd/fleetd.go). cloud-config's `coreos.fleet` keys become
FLEET_* variables, and dashes and underscores are equivalent everywhere (`public-ip` = `public_ip`).
A few options are shoal's own and say so: where the API listens and which unit runner to use,
since fleet got those from systemd.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shoal.fleet import facts


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
    agent_ttl: float = 30.0
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


_FIELDS = {f for f in FleetConfig.__dataclass_fields__}
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration ("30s", "1m30s", "500ms"); a bare number means seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    pos, total = 0, 0.0
    for m in _DURATION_RE.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise ConfigError(f'time: invalid duration "{text}"')
    return total


def parse_metadata(raw: str) -> dict[str, str]:
    """config/config.go Metadata: split on ",", then the first "=", trimmed; bad pairs dropped."""
    out: dict[str, str] = {}
    for pair in raw.split(","):
        key, eq, val = pair.partition("=")
        if eq:
            out[key.strip()] = val.strip()
    return out


def _bool(name: str, text: str) -> bool:
    low = text.strip().lower()
    if low in ("1", "t", "true", "yes", "on"):
        return True
    if low in ("0", "f", "false", "no", "off", ""):
        return False
    raise ConfigError(f"invalid boolean value {text!r} for {name}")


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
    kw: dict[str, object] = {}
    for name, value in raw.items():
        if name not in _FIELDS:
            continue  # fleet ignores unknown settings too (e.g. the deprecated ones)
        try:
            if name == "etcd_servers":
                kw[name] = tuple(s.strip() for s in value.split(",") if s.strip())
            elif name == "metadata":
                kw[name] = parse_metadata(value)
            elif name == "agent_ttl":
                kw[name] = parse_duration(value)
            elif name in ("etcd_request_timeout", "engine_reconcile_interval"):
                kw[name] = float(value)
            elif name in ("token_limit", "verbosity"):
                kw[name] = int(value)
            elif name in ("disable_engine", "disable_watches"):
                kw[name] = _bool(name, value)
            else:
                kw[name] = value
        except ValueError as e:
            raise ConfigError(f"invalid value {value!r} for {name}: {e}") from e
    cfg = FleetConfig(**kw)  # type: ignore[arg-type]
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


def split_flags(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """`--name=value` / `-name value` flags into a dict; returns (flags, leftover args)."""
    flags: dict[str, str] = {}
    rest: list[str] = []
    it = iter(argv)
    for a in it:
        if not a.startswith("-") or a in ("-", "--"):
            rest.append(a)
            continue
        body = a.lstrip("-")
        name, eq, value = body.partition("=")
        if not eq:
            if name in ("version", "help", "h", "disable_engine", "disable-engine"):
                value = "true"
            else:
                value = next(it, "")
        flags[_norm(name)] = value
    return flags, rest
