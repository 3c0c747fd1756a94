"""The cloud-config schema: keys, types, value patterns and environment names.

Every fact here is coreos-cloudinit's (config/*.go at f1f0405): the yaml keys, their Go types (named
as its validator names them: string, int, float64, bool, struct, []string, []struct), the `valid:`
patterns and the `env:` variable each key becomes in a unit drop-in. Dashes and underscores in
keys are equivalent (`reboot-strategy` = `reboot_strategy`), as coreos-cloudinit's key transform
makes them.

Differences on purpose: coreos-cloudinit's last release marks coreos.etcd2 and coreos.fleet
"deprecated" because Container Linux stopped shipping them; shoal ships both, so they are not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["string", "int", "float64", "bool", "struct", "[]string", "[]struct"]


@dataclass(frozen=True, slots=True)
class Field:
    kind: Kind
    children: Mapping[str, Field] = field(default_factory=dict)  # for struct and []struct
    valid: str | None = None  # regular expression the value's text must match (when not empty)
    env: str | None = None  # variable name in the unit drop-in / env file
    deprecated: str | None = None


def _s(env: str | None = None, valid: str | None = None, deprecated: str | None = None) -> Field:
    return Field("string", valid=valid, env=env, deprecated=deprecated)


def _i(env: str | None = None, deprecated: str | None = None) -> Field:
    return Field("int", env=env, deprecated=deprecated)


def _b(env: str | None = None) -> Field:
    return Field("bool", env=env)


def _f(env: str | None = None) -> Field:
    return Field("float64", env=env)


def _struct(children: Mapping[str, Field], deprecated: str | None = None) -> Field:
    return Field("struct", children=children, deprecated=deprecated)


_ETCD_GONE = "etcd 0.4 (coreos.etcd) is not supported by shoal; use coreos.etcd2"
_IMPORT_GONE = "trying to fetch from a remote endpoint introduces too many intermittent errors"

# config/etcd2.go, in its field order (which is the order of the drop-in's Environment= lines).
ETCD2: Mapping[str, Field] = {
    "advertise_client_urls": _s("ETCD_ADVERTISE_CLIENT_URLS"),
    "ca_file": _s(
        "ETCD_CA_FILE", deprecated="ca_file obsoleted by trusted_ca_file and client_cert_auth"
    ),
    "cert_file": _s("ETCD_CERT_FILE"),
    "client_cert_auth": _b("ETCD_CLIENT_CERT_AUTH"),
    "cors": _s("ETCD_CORS"),
    "data_dir": _s("ETCD_DATA_DIR"),
    "debug": _b("ETCD_DEBUG"),
    "discovery": _s("ETCD_DISCOVERY"),
    "discovery_fallback": _s("ETCD_DISCOVERY_FALLBACK"),
    "discovery_srv": _s("ETCD_DISCOVERY_SRV"),
    "discovery_proxy": _s("ETCD_DISCOVERY_PROXY"),
    "election_timeout": _i("ETCD_ELECTION_TIMEOUT"),
    "enable_pprof": _b("ETCD_ENABLE_PPROF"),
    "force_new_cluster": _b("ETCD_FORCE_NEW_CLUSTER"),
    "heartbeat_interval": _i("ETCD_HEARTBEAT_INTERVAL"),
    "initial_advertise_peer_urls": _s("ETCD_INITIAL_ADVERTISE_PEER_URLS"),
    "initial_cluster": _s("ETCD_INITIAL_CLUSTER"),
    "initial_cluster_state": _s("ETCD_INITIAL_CLUSTER_STATE"),
    "initial_cluster_token": _s("ETCD_INITIAL_CLUSTER_TOKEN"),
    "key_file": _s("ETCD_KEY_FILE"),
    "listen_client_urls": _s("ETCD_LISTEN_CLIENT_URLS"),
    "listen_peer_urls": _s("ETCD_LISTEN_PEER_URLS"),
    "log_package_levels": _s("ETCD_LOG_PACKAGE_LEVELS"),
    "max_snapshots": _i("ETCD_MAX_SNAPSHOTS"),
    "max_wals": _i("ETCD_MAX_WALS"),
    "name": _s("ETCD_NAME"),
    "peer_ca_file": _s(
        "ETCD_PEER_CA_FILE",
        deprecated="peer_ca_file obsoleted peer_trusted_ca_file and peer_client_cert_auth",
    ),
    "peer_cert_file": _s("ETCD_PEER_CERT_FILE"),
    "peer_key_file": _s("ETCD_PEER_KEY_FILE"),
    "peer_client_cert_auth": _b("ETCD_PEER_CLIENT_CERT_AUTH"),
    "peer_trusted_ca_file": _s("ETCD_PEER_TRUSTED_CA_FILE"),
    "proxy": _s("ETCD_PROXY", valid=r"^(on|off|readonly)$"),
    "proxy_dial_timeout": _i("ETCD_PROXY_DIAL_TIMEOUT"),
    "proxy_failure_wait": _i("ETCD_PROXY_FAILURE_WAIT"),
    "proxy_read_timeout": _i("ETCD_PROXY_READ_TIMEOUT"),
    "proxy_refresh_interval": _i("ETCD_PROXY_REFRESH_INTERVAL"),
    "proxy_write_timeout": _i("ETCD_PROXY_WRITE_TIMEOUT"),
    "snapshot_count": _i("ETCD_SNAPSHOT_COUNT"),
    "strict_reconfig_check": _b("ETCD_STRICT_RECONFIG_CHECK"),
    "trusted_ca_file": _s("ETCD_TRUSTED_CA_FILE"),
    "wal_dir": _s("ETCD_WAL_DIR"),
}

# config/etcd.go (etcd 0.4): accepted so old configs parse, but reported as unsupported.
ETCD_V1_KEYS = (
    "addr",
    "advertise_client_urls",
    "bind_addr",
    "ca_file",
    "cert_file",
    "cluster_active_size",
    "cluster_remove_delay",
    "cluster_sync_interval",
    "cors",
    "data_dir",
    "discovery",
    "discovery_fallback",
    "discovery_srv",
    "discovery_proxy",
    "election_timeout",
    "force_new_cluster",
    "graphite_host",
    "heartbeat_interval",
    "http_read_timeout",
    "http_write_timeout",
    "initial_advertise_peer_urls",
    "initial_cluster",
    "initial_cluster_state",
    "initial_cluster_token",
    "key_file",
    "listen_client_urls",
    "listen_peer_urls",
    "max_result_buffer",
    "max_retry_attempts",
    "max_snapshots",
    "max_wals",
    "name",
    "peer_addr",
    "peer_bind_addr",
    "peer_ca_file",
    "peer_cert_file",
    "peer_election_timeout",
    "peer_heartbeat_interval",
    "peer_key_file",
    "peers",
    "peers_file",
    "proxy",
    "retry_interval",
    "snapshot",
    "snapshot_count",
    "trace",
    "verbose",
    "very_verbose",
    "very_very_verbose",
)
_ETCD_V1_INT = {
    "cluster_active_size",
    "election_timeout",
    "heartbeat_interval",
    "max_result_buffer",
    "max_retry_attempts",
    "max_snapshots",
    "max_wals",
    "peer_election_timeout",
    "peer_heartbeat_interval",
    "snapshot_count",
}
_ETCD_V1_FLOAT = {
    "cluster_remove_delay",
    "cluster_sync_interval",
    "http_read_timeout",
    "http_write_timeout",
    "retry_interval",
}
_ETCD_V1_BOOL = {"force_new_cluster", "snapshot", "verbose", "very_verbose", "very_very_verbose"}
ETCD_V1: Mapping[str, Field] = {
    k: Field(
        "int"
        if k in _ETCD_V1_INT
        else "float64"
        if k in _ETCD_V1_FLOAT
        else "bool"
        if k in _ETCD_V1_BOOL
        else "string"
    )
    for k in ETCD_V1_KEYS
}

# config/fleet.go
FLEET: Mapping[str, Field] = {
    "agent_ttl": _s("FLEET_AGENT_TTL"),
    "authorized_keys_file": _s("FLEET_AUTHORIZED_KEYS_FILE"),
    "disable_engine": _b("FLEET_DISABLE_ENGINE"),
    "engine_reconcile_interval": _f("FLEET_ENGINE_RECONCILE_INTERVAL"),
    "etcd_cafile": _s("FLEET_ETCD_CAFILE"),
    "etcd_certfile": _s("FLEET_ETCD_CERTFILE"),
    "etcd_keyfile": _s("FLEET_ETCD_KEYFILE"),
    "etcd_key_prefix": _s("FLEET_ETCD_KEY_PREFIX"),
    "etcd_request_timeout": _f("FLEET_ETCD_REQUEST_TIMEOUT"),
    "etcd_servers": _s("FLEET_ETCD_SERVERS"),
    "etcd_username": _s("FLEET_ETCD_USERNAME"),
    "etcd_password": _s("FLEET_ETCD_PASSWORD"),
    "metadata": _s("FLEET_METADATA"),
    "public_ip": _s("FLEET_PUBLIC_IP"),
    "token_limit": _i("FLEET_TOKEN_LIMIT"),
    "verbosity": _i("FLEET_VERBOSITY"),
    "verify_units": _b("FLEET_VERIFY_UNITS"),
}

# config/flannel.go
FLANNEL: Mapping[str, Field] = {
    "etcd_endpoints": _s("FLANNELD_ETCD_ENDPOINTS"),
    "etcd_cafile": _s("FLANNELD_ETCD_CAFILE"),
    "etcd_certfile": _s("FLANNELD_ETCD_CERTFILE"),
    "etcd_keyfile": _s("FLANNELD_ETCD_KEYFILE"),
    "etcd_prefix": _s("FLANNELD_ETCD_PREFIX"),
    "etcd_username": _s("FLANNELD_ETCD_USERNAME"),
    "etcd_password": _s("FLANNELD_ETCD_PASSWORD"),
    "ip_masq": _s("FLANNELD_IP_MASQ"),
    "subnet_file": _s("FLANNELD_SUBNET_FILE"),
    "interface": _s("FLANNELD_IFACE"),
    "public_ip": _s("FLANNELD_PUBLIC_IP"),
}

# config/locksmith.go
LOCKSMITH: Mapping[str, Field] = {
    "endpoint": _s("LOCKSMITHD_ENDPOINT"),
    "etcd_cafile": _s("LOCKSMITHD_ETCD_CAFILE"),
    "etcd_certfile": _s("LOCKSMITHD_ETCD_CERTFILE"),
    "etcd_keyfile": _s("LOCKSMITHD_ETCD_KEYFILE"),
    "etcd_username": _s("LOCKSMITHD_ETCD_USERNAME"),
    "etcd_password": _s("LOCKSMITHD_ETCD_PASSWORD"),
    "group": _s("LOCKSMITHD_GROUP"),
    "window_start": _s(
        "REBOOT_WINDOW_START",
        valid=r"^((?i:sun|mon|tue|wed|thu|fri|sat|sun) )?"
        r"0*([0-9]|1[0-9]|2[0-3]):0*([0-9]|[1-5][0-9])$",
    ),
    "window_length": _s("REBOOT_WINDOW_LENGTH", valid=r"^[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+$"),
}

# config/update.go
REBOOT_STRATEGIES = ("etcd-lock", "reboot", "off")
UPDATE: Mapping[str, Field] = {
    "reboot_strategy": _s("REBOOT_STRATEGY", valid=r"^(etcd-lock|reboot|off)$"),
    "group": _s("GROUP"),
    "server": _s("SERVER"),
}

# config/oem.go
OEM: Mapping[str, Field] = {
    "id": _s(),
    "name": _s(),
    "version_id": _s(),
    "home_url": _s(),
    "bug_report_url": _s(),
}

# config/unit.go
UNIT_COMMANDS = (
    "start",
    "stop",
    "restart",
    "reload",
    "try-restart",
    "reload-or-restart",
    "reload-or-try-restart",
)
DROP_IN: Mapping[str, Field] = {"name": _s(), "content": _s()}
UNIT: Mapping[str, Field] = {
    "name": _s(),
    "mask": _b(),
    "enable": _b(),
    "runtime": _b(),
    "content": _s(),
    "command": _s(valid="^(" + "|".join(UNIT_COMMANDS) + ")$"),
    "drop_ins": Field("[]struct", children=DROP_IN),
}

# config/file.go
ENCODINGS = ("base64", "b64", "gz", "gzip", "gz+base64", "gzip+base64", "gz+b64", "gzip+b64")
PERMISSIONS_PATTERN = r"^0?[0-7]{3,4}$"
WRITE_FILE: Mapping[str, Field] = {
    "encoding": _s(valid=r"^(base64|b64|gz|gzip|gz\+base64|gzip\+base64|gz\+b64|gzip\+b64)$"),
    "content": _s(),
    "owner": _s(),
    "path": _s(),
    "permissions": _s(valid=PERMISSIONS_PATTERN),
}

# config/user.go
USER: Mapping[str, Field] = {
    "name": _s(),
    "passwd": _s(),
    "ssh_authorized_keys": Field("[]string"),
    "coreos_ssh_import_github": _s(deprecated=_IMPORT_GONE),
    "coreos_ssh_import_github_users": Field("[]string", deprecated=_IMPORT_GONE),
    "coreos_ssh_import_url": _s(deprecated=_IMPORT_GONE),
    "gecos": _s(),
    "homedir": _s(),
    "no_create_home": _b(),
    "primary_group": _s(),
    "groups": Field("[]string"),
    "no_user_group": _b(),
    "system": _b(),
    "no_log_init": _b(),
    "shell": _s(),
}

# config/config.go
COREOS: Mapping[str, Field] = {
    "etcd": _struct(ETCD_V1, deprecated=_ETCD_GONE),
    "etcd2": _struct(ETCD2),
    "flannel": _struct(FLANNEL),
    "fleet": _struct(FLEET),
    "locksmith": _struct(LOCKSMITH),
    "oem": _struct(OEM),
    "update": _struct(UPDATE),
    "units": Field("[]struct", children=UNIT),
}
CLOUD_CONFIG = _struct(
    {
        "ssh_authorized_keys": Field("[]string"),
        "coreos": _struct(COREOS),
        "write_files": Field("[]struct", children=WRITE_FILE),
        "hostname": _s(),
        "users": Field("[]struct", children=USER),
        "manage_etc_hosts": _s(valid=r"^localhost$"),
    }
)

HEADER = "#cloud-config"
SSH_KEY_NAME = "coreos-cloudinit"  # initialize.DefaultSSHKeyName: the authorized_keys.d entry
DROP_IN_NAME = "20-cloudinit.conf"  # the drop-in coreos-cloudinit writes for etcd2/fleet/locksmith
# Read-only on CoreOS (config/validate/rules.go checkWriteFiles).
READ_ONLY_PREFIX = "/usr"
# Substitution variables (initialize/env.go), each also read from the COREOS_* variable.
SUBSTITUTIONS = {
    "$public_ipv4": "COREOS_PUBLIC_IPV4",
    "$private_ipv4": "COREOS_PRIVATE_IPV4",
    "$public_ipv6": "COREOS_PUBLIC_IPV6",
    "$private_ipv6": "COREOS_PRIVATE_IPV6",
}


def normalize_key(key: str) -> str:
    """coreos-cloudinit reads `-` in keys as `_`."""
    return key.replace("-", "_")
