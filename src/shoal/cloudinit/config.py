"""A cloud-config as typed values: what `shoal node` and `shoal cloudinit` act on.

`load(text, substitutions)` is the one entry point: it substitutes `$public_ipv4` & co, validates
(`validate`) and, when nothing is an error, returns a `CloudConfig` plus the report
(which may still hold warnings). Invalid input raises `CloudConfigInvalid` carrying every finding.

The shape is coreos-cloudinit's `config.CloudConfig`. Values of the coreos.etcd2/fleet/flannel/
locksmith/update sections are kept as the text the unit will see (`Settings`), in coreos-cloudinit's
field order, because their only use is to become `ETCD_*`/`FLEET_*`/... variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from shoal.cloudinit import schema
from shoal.cloudinit.decode import decode_content, parse_permissions
from shoal.cloudinit.report import CloudConfigInvalid, Report
from shoal.cloudinit.yamltree import YNode


@dataclass(frozen=True, slots=True)
class Setting:
    key: str  # normalized (underscores)
    value: str  # as the unit sees it (Go's %v of the typed value)
    env: str  # ETCD_NAME, FLEET_PUBLIC_IP, ...
    line: int


@dataclass(frozen=True, slots=True)
class Settings:
    """One coreos.<section>: its non-zero settings in coreos-cloudinit's field order."""

    items: tuple[Setting, ...] = ()

    def get(self, key: str, default: str | None = None) -> str | None:
        want = schema.normalize_key(key)
        for s in self.items:
            if s.key == want:
                return s.value
        return default

    def env(self) -> list[tuple[str, str]]:
        return [(s.env, s.value) for s in self.items]

    def __bool__(self) -> bool:
        return bool(self.items)


@dataclass(frozen=True, slots=True)
class WriteFile:
    path: str
    content: bytes  # decoded
    permissions: int
    owner: str
    encoding: str
    line: int


@dataclass(frozen=True, slots=True)
class User:
    name: str
    passwd: str = ""
    ssh_authorized_keys: tuple[str, ...] = ()
    gecos: str = ""
    homedir: str = ""
    no_create_home: bool = False
    primary_group: str = ""
    groups: tuple[str, ...] = ()
    no_user_group: bool = False
    system: bool = False
    no_log_init: bool = False
    shell: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class DropIn:
    name: str
    content: str


@dataclass(frozen=True, slots=True)
class Unit:
    name: str
    content: str = ""
    command: str = ""
    enable: bool = False
    mask: bool = False
    runtime: bool = False
    drop_ins: tuple[DropIn, ...] = ()
    line: int = 0

    @property
    def is_network(self) -> bool:
        """.network/.netdev/.link units go to systemd-networkd, not to a unit command."""
        return self.name.rpartition(".")[2] in ("network", "netdev", "link")


@dataclass(frozen=True, slots=True)
class OEM:
    id: str = ""
    name: str = ""
    version_id: str = ""
    home_url: str = ""
    bug_report_url: str = ""


@dataclass(frozen=True, slots=True)
class CoreOS:
    etcd2: Settings = Settings()
    fleet: Settings = Settings()
    flannel: Settings = Settings()
    locksmith: Settings = Settings()
    update: Settings = Settings()
    oem: OEM = OEM()
    units: tuple[Unit, ...] = ()


@dataclass(frozen=True, slots=True)
class CloudConfig:
    hostname: str = ""
    ssh_authorized_keys: tuple[str, ...] = ()
    users: tuple[User, ...] = ()
    write_files: tuple[WriteFile, ...] = ()
    manage_etc_hosts: str = ""
    coreos: CoreOS = field(default_factory=CoreOS)


def load(
    text: str,
    substitutions: Mapping[str, str] | None = None,
    known_units: frozenset[str] | None = None,
) -> tuple[CloudConfig, Report]:
    """Validate and read a cloud-config. `substitutions` maps `$public_ipv4` (...) to values; a
    variable used without a value is an error. Raises CloudConfigInvalid on any error."""
    from shoal.cloudinit.validate import validate_tree  # the validator imports this module

    report, tree = validate_tree(text, substitutions or {}, known_units, for_apply=True)
    if report.has_errors:
        raise CloudConfigInvalid(report)
    return (from_tree(tree) if tree is not None else CloudConfig()), report


# --- building the typed form from a validated tree -----------------------------------------------


def go_value(node: YNode, kind: schema.Kind) -> str:
    """A scalar as coreos-cloudinit formats it into an environment variable (`%v`)."""
    if kind == "string":
        return node.text
    if kind == "bool":
        return "true" if node.as_bool() else "false"
    value = yaml.safe_load(node.text)
    if kind == "int":
        return str(int(value))
    f = float(value)
    return str(int(f)) if f.is_integer() and abs(f) < 1e21 else repr(f)


def _is_zero(node: YNode, kind: schema.Kind) -> bool:
    # config.IsZero: "", 0, false and 0.0 are "not set" and produce no variable.
    if node.kind == "null":
        return True
    v = go_value(node, kind)
    return v in ("", "0", "false")


def settings(node: YNode | None, fields: Mapping[str, schema.Field]) -> Settings:
    if node is None or node.kind != "map":
        return Settings()
    items: list[Setting] = []
    for key, f in fields.items():
        v = node.get(key)
        if v is None or f.env is None or v.kind in ("map", "slice") or _is_zero(v, f.kind):
            continue
        items.append(Setting(key, go_value(v, f.kind), f.env, node.key_line(key)))
    return Settings(tuple(items))


def _str(node: YNode | None, key: str) -> str:
    if node is None:
        return ""
    v = node.get(key)
    return v.text if v is not None and v.kind not in ("map", "slice", "null") else ""


def _content(f: YNode) -> str | bytes:
    c = f.get("content")
    if c is not None and c.binary is not None:
        return c.binary
    return _str(f, "content")


def _bool(node: YNode | None, key: str) -> bool:
    v = node.get(key) if node is not None else None
    return v is not None and v.as_bool()


def _strs(node: YNode | None, key: str) -> tuple[str, ...]:
    v = node.get(key) if node is not None else None
    if v is None or v.kind != "slice":
        return ()
    return tuple(e.text for e in v.elems if e.kind not in ("map", "slice", "null"))


def _maps(node: YNode | None, key: str) -> list[YNode]:
    v = node.get(key) if node is not None else None
    if v is None or v.kind != "slice":
        return []
    return [e for e in v.elems if e.kind == "map"]


def from_tree(root: YNode) -> CloudConfig:
    """The typed config from a tree that validated without errors."""
    files = []
    for f in _maps(root, "write_files"):
        encoding = _str(f, "encoding")
        files.append(
            WriteFile(
                path=_str(f, "path"),
                content=decode_content(_content(f), encoding),
                permissions=parse_permissions(_str(f, "permissions")),
                owner=_str(f, "owner"),
                encoding=encoding,
                line=f.line,
            )
        )
    users = [
        User(
            name=_str(u, "name"),
            passwd=_str(u, "passwd"),
            ssh_authorized_keys=_strs(u, "ssh_authorized_keys"),
            gecos=_str(u, "gecos"),
            homedir=_str(u, "homedir"),
            no_create_home=_bool(u, "no_create_home"),
            primary_group=_str(u, "primary_group"),
            groups=_strs(u, "groups"),
            no_user_group=_bool(u, "no_user_group"),
            system=_bool(u, "system"),
            no_log_init=_bool(u, "no_log_init"),
            shell=_str(u, "shell"),
            line=u.line,
        )
        for u in _maps(root, "users")
    ]
    coreos = root.get("coreos")
    coreos = coreos if coreos is not None and coreos.kind == "map" else None
    units = [
        Unit(
            name=_str(u, "name"),
            content=_str(u, "content"),
            command=_str(u, "command"),
            enable=_bool(u, "enable"),
            mask=_bool(u, "mask"),
            runtime=_bool(u, "runtime"),
            drop_ins=tuple(
                DropIn(_str(d, "name"), _str(d, "content")) for d in _maps(u, "drop_ins")
            ),
            line=u.line,
        )
        for u in _maps(coreos, "units")
    ]
    oem = coreos.get("oem") if coreos is not None else None
    return CloudConfig(
        hostname=_str(root, "hostname"),
        ssh_authorized_keys=_strs(root, "ssh_authorized_keys"),
        users=tuple(users),
        write_files=tuple(files),
        manage_etc_hosts=_str(root, "manage_etc_hosts"),
        coreos=CoreOS(
            etcd2=settings(coreos.get("etcd2") if coreos else None, schema.ETCD2),
            fleet=settings(coreos.get("fleet") if coreos else None, schema.FLEET),
            flannel=settings(coreos.get("flannel") if coreos else None, schema.FLANNEL),
            locksmith=settings(coreos.get("locksmith") if coreos else None, schema.LOCKSMITH),
            update=settings(coreos.get("update") if coreos else None, schema.UPDATE),
            oem=OEM(
                *(_str(oem, k) for k in ("id", "name", "version_id", "home_url", "bug_report_url"))
            ),
            units=tuple(units),
        ),
    )
