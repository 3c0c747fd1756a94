"""Applying a cloud-config to a machine's root directory, as coreos-cloudinit applies it to `/`.

Two steps so that bad input changes nothing: `plan()` reads the few files it merges with (account
files, update.conf, /etc/environment, authorized_keys.d) and computes every write, link and unit
command, raising `ApplyError` for anything it cannot do; `execute()` then writes, each file
atomically (temporary file + rename, as coreos-cloudinit's WriteFile does). `apply()` is both, after
validation.

What lands where (coreos-cloudinit's initialize/config.go and system/*.go):
- hostname -> etc/hostname; manage_etc_hosts: localhost -> etc/hosts;
- users -> etc/passwd, etc/group, etc/shadow; ssh keys -> home/<user>/.ssh/authorized_keys(.d/);
  top-level ssh_authorized_keys go to the `core` user;
- write_files -> their path under the root, with permissions (default 0644) and owner;
- coreos.etcd2 / fleet / locksmith -> run/systemd/system/<unit>.d/20-cloudinit.conf with one
  `Environment="ETCD_NAME=..."` line per setting; flannel -> run/flannel/options.env (FLANNELD_*);
  update -> etc/coreos/update.conf (REBOOT_STRATEGY=...) and a locksmithd command (stop + mask for
  `off`, restart otherwise), update-engine restarted when group/server are set;
- coreos.units -> etc/systemd/system (run/... when runtime; systemd/network for .network/.netdev/
  .link), drop-ins beside them, masks as links to /dev/null, `enable` as WantedBy links; commands
  are returned, in order, for the node's unit manager (after a daemon-reload when anything was
  written).
- without a write_files entry for /etc/environment, COREOS_PUBLIC_IPV4 (...) are merged into it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from shoal.cloudinit import schema
from shoal.cloudinit.config import CloudConfig, DropIn, Settings, Unit, load
from shoal.cloudinit.report import Report
from shoal.cloudinit.users import CORE_USER, Accounts, authorized_keys, home_of
from shoal.systemd.unitfile import UnitFileError, parse_unit_text

SYSTEM_DIR = "systemd/system"
NETWORK_DIR = "systemd/network"
ENV_FILE = "/etc/environment"
UPDATE_CONF = "etc/coreos/update.conf"
UPDATE_CONF_DEFAULT = "usr/share/coreos/update.conf"
FLANNEL_ENV = "run/flannel/options.env"
LOCKSMITHD = "locksmithd.service"
UPDATE_ENGINE = "update-engine.service"
NETWORKD = "systemd-networkd.service"


class ApplyError(RuntimeError):
    """The cloud-config is valid but cannot be applied to this root; nothing was written."""


@dataclass(frozen=True, slots=True)
class FileWrite:
    path: str  # relative to the root, no leading slash
    content: bytes
    mode: int = 0o644
    owner: tuple[int, int] | None = None  # uid, gid
    what: str = ""  # for the summary: "hostname", "write_files", "unit", "drop-in", ...


@dataclass(frozen=True, slots=True)
class Link:
    path: str  # relative to the root
    target: str  # what the link points to (as systemd would see it)
    what: str = ""


@dataclass(frozen=True, slots=True)
class UnitCommand:
    """A systemctl command for the node's unit manager: `start etcd2.service`."""

    command: str
    unit: str

    def __str__(self) -> str:
        return f"{self.command} {self.unit}"


@dataclass(frozen=True, slots=True)
class Plan:
    writes: tuple[FileWrite, ...] = ()
    links: tuple[Link, ...] = ()
    unmask: tuple[str, ...] = ()  # relative paths of /dev/null links to remove (runtime units)
    dirs: tuple[tuple[str, int, tuple[int, int] | None], ...] = ()  # home directories
    daemon_reload: bool = False
    commands: tuple[UnitCommand, ...] = ()
    network_units: tuple[str, ...] = ()  # written for systemd-networkd, which shoal does not run
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What applying did, and what the node daemon must do next."""

    root: Path
    config: CloudConfig
    report: Report  # warnings/infos found by validation (no errors, or nothing was applied)
    plan: Plan
    written: tuple[Path, ...] = field(default=())

    @property
    def commands(self) -> tuple[UnitCommand, ...]:
        return self.plan.commands

    @property
    def daemon_reload(self) -> bool:
        return self.plan.daemon_reload


def apply(
    text: str,
    root: Path,
    substitutions: Mapping[str, str] | None = None,
    ssh_key_name: str = schema.SSH_KEY_NAME,
    chown: bool | None = None,
) -> ApplyResult:
    """Validate, plan and write. Raises CloudConfigInvalid (validation errors) or ApplyError
    before writing anything. `chown` defaults to "only when running as root"."""
    values = dict(substitutions or {})
    config, report = load(text, values)
    p = plan(config, root, values, ssh_key_name)
    written = execute(p, root, os.geteuid() == 0 if chown is None else chown)
    return ApplyResult(root, config, report, p, tuple(written))


# --- planning ----------------------------------------------------------------------------------


def _rel(path: str) -> str:
    """A config path as a path under the root (coreos-cloudinit joins it onto the root)."""
    parts: list[str] = []
    for part in PurePosixPath("/" + path).parts[1:]:
        if part == "..":
            if not parts:
                raise ApplyError(f"path {path} leaves the machine's root directory")
            parts.pop()
        elif part != ".":
            parts.append(part)
    if not parts:
        raise ApplyError(f"path {path!r} names the root directory itself")
    return "/".join(parts)


def _read(root: Path, rel: str) -> str | None:
    p = root / rel
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ApplyError(f"{p} is a directory") from None


def service_contents(settings: Settings) -> str:
    """system/env.go serviceContents: a [Service] section of Environment= lines, or ""."""
    if not settings:
        return ""
    lines = ["[Service]"]
    for env, value in settings.env():
        # coreos-cloudinit quotes without escaping; escaping keeps a `"` or `\` in a value intact.
        v = value.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'Environment="{env}={v}"')
    return "\n".join(lines) + "\n"


def _merge_env(old: str, pending: Mapping[str, str]) -> str:
    """system/env_file.go mergeEnvContents: replace KEY= lines, append the rest sorted."""
    todo = dict(pending)
    out: list[str] = []
    for line in old.splitlines():
        key = line.split("=", 1)[0] if "=" in line else None
        if key is not None and key in todo:
            out.append(f"{key}={todo.pop(key)}")
        else:
            out.append(line)
    out.extend(f"{k}={todo[k]}" for k in sorted(todo))
    return "".join(line + "\n" for line in out)


def _update_conf(old: str, settings: Settings) -> str:
    """system/update.go: replace the lines starting with a variable we set, append the others."""
    subs = {env: f"{env}={value}" for env, value in settings.env()}
    out: list[str] = []
    for line in old.splitlines():
        for env in list(subs):
            if line.startswith(env):
                line = subs.pop(env)
                break
        out.append(line)
    out.extend(subs[k] for k in sorted(subs))
    return "".join(line + "\n" for line in out)


def _unit_dir(u: Unit) -> str:
    top = "run" if u.runtime else "etc"
    return f"{top}/{NETWORK_DIR if u.is_network else SYSTEM_DIR}"


def plan(
    config: CloudConfig,
    root: Path,
    substitutions: Mapping[str, str] | None = None,
    ssh_key_name: str = schema.SSH_KEY_NAME,
) -> Plan:
    """Everything applying `config` under `root` will do; reads but never writes."""
    writes: list[FileWrite] = []
    links: list[Link] = []
    unmask: list[str] = []
    dirs: list[tuple[str, int, tuple[int, int] | None]] = []
    commands: list[UnitCommand] = []
    network: list[str] = []
    notes: list[str] = []
    reload = False

    if config.hostname:
        writes.append(FileWrite("etc/hostname", f"{config.hostname}\n".encode(), what="hostname"))

    # Users first: write_files owners may name them.
    accounts = Accounts.parse(
        _read(root, "etc/passwd"), _read(root, "etc/group"), _read(root, "etc/shadow")
    )
    key_sets: list[tuple[str, Sequence[str]]] = []
    for user in config.users:
        if not user.name:
            notes.append(f"line {user.line}: user without a name skipped")
            continue
        is_new = accounts.user(user.name) is None
        accounts.add_or_update(user)
        entry = accounts.user(user.name)
        assert entry is not None
        if is_new and not user.no_create_home:
            dirs.append((_rel(entry.home), 0o755, (entry.uid, entry.gid)))
        if user.ssh_authorized_keys:
            key_sets.append((user.name, user.ssh_authorized_keys))
    if config.ssh_authorized_keys:
        key_sets.append((CORE_USER, config.ssh_authorized_keys))
    for name, keys in key_sets:
        entry = accounts.user(name)
        owner = (entry.uid, entry.gid) if entry is not None else None
        ssh = _rel(str(home_of(accounts, name) / ".ssh"))
        existing: dict[str, str] = {}
        kd = root / ssh / "authorized_keys.d"
        if kd.is_dir():
            existing = {f.name: f.read_text(encoding="utf-8") for f in sorted(kd.iterdir())}
        mine, combined = authorized_keys(existing, ssh_key_name, keys)
        dirs.append((ssh, 0o700, owner))
        dirs.append((f"{ssh}/authorized_keys.d", 0o700, owner))
        writes.append(
            FileWrite(f"{ssh}/authorized_keys.d/{ssh_key_name}", mine.encode(), 0o600, owner, "ssh")
        )
        writes.append(FileWrite(f"{ssh}/authorized_keys", combined.encode(), 0o600, owner, "ssh"))
    if config.users or config.ssh_authorized_keys:
        for rel, text in accounts.files().items():
            mode = 0o640 if rel == "etc/shadow" else 0o644
            writes.append(FileWrite(rel, text.encode(), mode, what="accounts"))
        notes.extend(accounts.notes)

    wrote_env = False
    for f in config.write_files:
        rel = _rel(f.path)
        owner = None
        if f.owner:
            try:
                owner = accounts.resolve_owner(f.owner)
            except ValueError as e:
                raise ApplyError(f"line {f.line}: write_files {f.path}: {e}") from None
        writes.append(FileWrite(rel, f.content, f.permissions, owner, "write_files"))
        wrote_env = wrote_env or "/" + rel == ENV_FILE

    co = config.coreos
    if co.oem.id:
        o = co.oem
        text = (
            f"ID={o.id}\nVERSION_ID={o.version_id}\nNAME={_goquote(o.name)}\n"
            f"HOME_URL={_goquote(o.home_url)}\nBUG_REPORT_URL={_goquote(o.bug_report_url)}\n"
        )
        writes.append(FileWrite("etc/oem-release", text.encode(), what="oem"))
    if co.update:
        old = _read(root, UPDATE_CONF)
        if old is None:
            old = _read(root, UPDATE_CONF_DEFAULT) or ""
        writes.append(FileWrite(UPDATE_CONF, _update_conf(old, co.update).encode(), what="update"))
    if config.manage_etc_hosts == "localhost":
        host = config.hostname or "localhost"
        writes.append(FileWrite("etc/hosts", f"127.0.0.1 {host}\n".encode(), what="hosts"))
    if co.flannel:
        body = "".join(f"{env}={value}\n" for env, value in co.flannel.env())
        writes.append(FileWrite(FLANNEL_ENV, body.encode(), what="flannel"))
    if not wrote_env and substitutions:
        pending = {
            schema.SUBSTITUTIONS[k]: v
            for k, v in substitutions.items()
            if k in schema.SUBSTITUTIONS and v
        }
        if pending:
            old = _read(root, ENV_FILE[1:]) or ""
            merged = _merge_env(old, pending)
            if merged != old:
                writes.append(FileWrite(ENV_FILE[1:], merged.encode(), what="environment"))

    # Units: the user's, then the ones coreos-cloudinit makes from coreos.etcd2/fleet/...
    units = list(co.units)
    for unit_name, settings in (
        ("etcd2.service", co.etcd2),
        ("fleet.service", co.fleet),
        (LOCKSMITHD, co.locksmith),
    ):
        body = service_contents(settings)
        if body:
            units.append(Unit(unit_name, runtime=True, drop_ins=_dropin(body)))
    strategy = co.update.get("reboot_strategy")
    if strategy:
        stop = strategy == "off"
        units.append(
            Unit(LOCKSMITHD, runtime=True, mask=stop, command="stop" if stop else "restart")
        )
    if co.update.get("group") or co.update.get("server"):
        units.append(Unit(UPDATE_ENGINE, command="restart"))

    for u in units:
        if not u.name:
            continue
        base = _unit_dir(u)
        if u.content:
            writes.append(FileWrite(f"{base}/{u.name}", u.content.encode(), what="unit"))
            reload = True
        for d in u.drop_ins:
            if d.name and d.content:
                writes.append(
                    FileWrite(f"{base}/{u.name}.d/{d.name}", d.content.encode(), what="drop-in")
                )
                reload = True
        if u.mask:
            links.append(Link(f"{base}/{u.name}", "/dev/null", "mask"))
        elif u.runtime:
            unmask.append(f"{base}/{u.name}")
        if u.enable:
            if u.is_network:
                notes.append(f"enable skipped for network unit {u.name}")
            else:
                links.extend(_enable_links(u, root, notes))
        if u.is_network:
            network.append(u.name)
        elif u.command:
            commands.append(UnitCommand(u.command, u.name))

    p = Plan(
        tuple(writes),
        tuple(links),
        tuple(unmask),
        tuple(dirs),
        reload,
        tuple(commands),
        tuple(network),
        tuple(notes),
    )
    _check_targets(p, root)
    return p


def _goquote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dropin(body: str) -> tuple[DropIn, ...]:
    return (DropIn(schema.DROP_IN_NAME, body),)


def _enable_links(u: Unit, root: Path, notes: list[str]) -> list[Link]:
    """systemctl enable: a link in <target>.wants/ per WantedBy= (.requires/ per RequiredBy=)."""
    content = u.content
    if not content:
        for top in ("etc", "run", "usr/lib"):
            path = root / top / SYSTEM_DIR / u.name
            if path.is_file():
                content = path.read_text(encoding="utf-8")
                break
    if not content:
        notes.append(f"enable {u.name}: no unit file to read [Install] from")
        return []
    try:
        parsed = parse_unit_text(content, u.name)
    except UnitFileError as e:  # the validator reported it already; keep going without links
        notes.append(f"enable {u.name}: {e}")
        return []
    top = "run" if u.runtime else "etc"
    out = []
    for key, suffix in (("WantedBy", "wants"), ("RequiredBy", "requires")):
        for a in parsed.effective("Install", key):
            for target in a.value.split():
                out.append(
                    Link(f"{top}/{SYSTEM_DIR}/{target}.{suffix}/{u.name}", f"../{u.name}", "enable")
                )
    if not out:
        notes.append(f"enable {u.name}: no WantedBy= in [Install], nothing to link")
    return out


def _check_targets(p: Plan, root: Path) -> None:
    """Refuse, before writing, anything that would land outside the root or on a directory."""
    real_root = root.resolve()
    for rel in [w.path for w in p.writes] + [ln.path for ln in p.links] + [d[0] for d in p.dirs]:
        target = root / rel
        # The last component is replaced, never followed (rename and unlink act on a link
        # itself), so only the directories above it matter.
        probe = target.parent
        while not probe.exists() and probe != root and probe.parent != probe:
            probe = probe.parent
        resolved = probe.resolve()
        if resolved != real_root and real_root not in resolved.parents:
            raise ApplyError(f"{target} would be written outside {root} (through a symlink)")
    for w in p.writes:
        t = root / w.path
        if t.is_dir():
            raise ApplyError(f"cannot write {t}: it is a directory")
        for parent in t.parents:
            if parent == root:
                break
            if parent.exists() and not parent.is_dir():
                raise ApplyError(f"cannot write {t}: {parent} is not a directory")


# --- executing ---------------------------------------------------------------------------------


def execute(p: Plan, root: Path, chown: bool) -> list[Path]:
    """Carry out a plan under `root`; returns the paths written or linked, in order."""
    done: list[Path] = []
    root.mkdir(parents=True, exist_ok=True)
    for rel, mode, owner in p.dirs:
        d = root / rel
        if not d.is_dir():
            d.mkdir(parents=True, mode=0o755)
            os.chmod(d, mode)
            if chown and owner is not None:
                os.chown(d, *owner)
    for w in p.writes:
        done.append(_write_atomic(root / w.path, w.content, w.mode, w.owner if chown else None))
    for rel in p.unmask:
        t = root / rel
        masked = t.is_symlink() and os.readlink(t) == "/dev/null"
        if masked or (t.is_file() and t.stat().st_size == 0):
            t.unlink()
    for ln in p.links:
        t = root / ln.path
        t.parent.mkdir(parents=True, exist_ok=True)
        if t.is_symlink() or t.exists():
            t.unlink()
        t.symlink_to(ln.target)
        done.append(t)
    return done


def _write_atomic(path: Path, content: bytes, mode: int, owner: tuple[int, int] | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".cloudinit-temp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        # chmod after writing: the umask must not narrow the requested permissions.
        os.chmod(tmp, mode)
        if owner is not None:
            os.chown(tmp, *owner)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
