"""The cloud-config validator: every problem as `line N: error|warning|info: message`.

coreos-cloudinit's validator (config/validate) decides the kinds, and shoal keeps them:
- error: a first line that is not `#cloud-config`, YAML errors (at the parser's line), a value
  failing its pattern (`invalid value X`), content that cannot be decoded, a file under /usr;
- warning: `unrecognized key "x"`, `incorrect type for "x" (want T)`, `deprecated key`, an invalid
  discovery URL;
- info: write_files placed under coreos.

shoal adds what would otherwise fail only once the machine runs: etcd2 settings etcd refuses
(`etcd2`), unit contents systemd would misread (bad lines; a `#` after a value, which
systemd keeps as part of the value), units that have no content and are not provided by the machine,
a `$public_ipv4` with no value, duplicate keys, and paths that leave the machine's root.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from shoal.cloudinit import schema
from shoal.cloudinit.decode import DecodeError, decode_content
from shoal.cloudinit.etcd2 import check_etcd2
from shoal.cloudinit.report import Report
from shoal.cloudinit.substitute import substitute
from shoal.cloudinit.yamltree import WeakKind, YamlError, YNode, load
from shoal.gocompat.duration import DurationError, parse_duration
from shoal.systemd.directives import unknown_lvalue
from shoal.systemd.service import read_unit
from shoal.systemd.timespan import TimespanError
from shoal.systemd.unitfile import (
    UnitFile,
    UnitFileError,
    inline_comment,
    merge,
    parse_unit_name,
    parse_unit_text,
)

# Units a shoal machine has without the cloud-config defining them (CoreOS shipped these); a
# unit named in coreos.units with no content must be one of them (or be written by write_files).
KNOWN_UNITS = frozenset(
    {
        "etcd2.service",
        "etcd.service",
        "fleet.service",
        "fleet.socket",
        "docker.service",
        "docker.socket",
        "flanneld.service",
        "locksmithd.service",
        "update-engine.service",
        "systemd-networkd.service",
        "systemd-timesyncd.service",
        "sshd.socket",
    }
)

# Files whose lines systemd reads as KEY=VALUE (EnvironmentFile=): an inline `#` is not a comment
# there either. /etc/environment is the one CoreOS units read.
_ENV_FILE_PATHS = ("/etc/environment",)


def validate(
    text: str,
    substitutions: Mapping[str, str] | None = None,
    known_units: frozenset[str] | None = None,
    require_values: bool = True,
) -> Report:
    """Every finding about `text`. With `substitutions` (even empty), variables are substituted
    first and, if `require_values`, any used without a value is an error; with None they are all
    left as written (validating a template before its machine exists)."""
    return validate_tree(text, substitutions, known_units, require_values)[0]


def validate_tree(
    text: str,
    substitutions: Mapping[str, str] | None = None,
    known_units: frozenset[str] | None = None,
    require_values: bool = True,
    for_apply: bool = False,
) -> tuple[Report, YNode | None]:
    """The report and the (substituted) YAML tree, None when the YAML could not be read.

    `for_apply`: a value of the wrong type (other than empty) is an error, not a warning.
    coreos-cloudinit's validator only warns, but its parser then fails to read the config, so
    such a config was never applied; shoal says so before writing anything."""
    report = Report()
    if text == "":
        return report, None
    first = text.split("\n", 1)[0].rstrip()
    if first != schema.HEADER:
        if first.startswith("#!"):
            report.error(
                1, 'user-data scripts ("#!") are not supported by shoal; use a "#cloud-config"'
            )
        elif text.lstrip().startswith("{"):
            report.error(1, 'Ignition configs are not supported by shoal; use a "#cloud-config"')
        else:
            report.error(1, 'must be "#cloud-config" or begin with "#!"')
        return report, None
    if substitutions is not None:
        text, missing = substitute(text, substitutions)
        for m in missing if require_values else []:
            var = schema.SUBSTITUTIONS[m.name]
            report.error(
                m.line,
                f"{m.name} is used but has no value (give --{m.name[1:].replace('_', '-')} or "
                f"set {var})",
            )
    try:
        root = load(text)
    except YamlError as e:
        report.error(e.line, e.message)
        return report, None
    if root is None:
        return report, None
    if root.kind != "map":
        report.error(root.line, f"a cloud-config is a mapping of keys, not a {_human(root.kind)}")
        return report, None
    _check_structure(root, schema.CLOUD_CONFIG, report, "", for_apply)
    _check_write_files(root, report)
    _check_users(root, report)
    coreos = root.get("coreos")
    if coreos is not None and coreos.kind == "map":
        # Validating only, units also get the node's own checks (it refuses such a unit at boot
        # and starts the others); applying, they are left to the node so one bad unit does not
        # stop the machine's other units.
        _check_coreos(root, coreos, report, known_units or KNOWN_UNITS, not for_apply)
    return report, root


# --- structure: keys, types, patterns ------------------------------------------------------------


def _human(kind: WeakKind) -> str:
    return {"map": "mapping", "slice": "list", "null": "empty value"}.get(kind, kind)


def _compatible(have: WeakKind, want: schema.Kind) -> bool:
    # coreos-cloudinit's isCompatible: a string field takes any scalar, a float an int.
    if want == "string":
        return have in ("string", "int", "float64", "bool")
    if want == "struct":
        return have == "map"
    if want == "float64":
        return have in ("float64", "int")
    if want in ("[]string", "[]struct"):
        return have == "slice"
    return have == want


def _check_structure(
    node: YNode, f: schema.Field, report: Report, name: str, for_apply: bool
) -> None:
    if not _compatible(node.kind, f.kind):
        message = f'incorrect type for "{name}" (want {f.kind})'
        if for_apply and node.kind != "null":
            report.error(node.line, f"{message}: cannot be applied")
        else:
            report.warning(node.line, message)
        return
    if f.kind == "struct":
        seen: dict[str, str] = {}
        for key, line, child in node.entries:
            norm = schema.normalize_key(key)
            if norm in seen:
                # YAML keeps only the last; `reboot-strategy` and `reboot_strategy` collide too.
                report.warning(line, f'duplicate key "{key}" (the last one wins)')
            seen[norm] = key
            cf = f.children.get(norm)
            if cf is None:
                report.warning(line, f'unrecognized key "{key}"')
                continue
            if cf.deprecated:
                report.warning(line, f'deprecated key "{key}" ({cf.deprecated})')
            _check_structure(child, cf, report, key, for_apply)
    elif f.kind in ("[]string", "[]struct"):
        elem = (
            schema.Field("struct", children=f.children)
            if f.kind == "[]struct"
            else schema.Field("string")
        )
        for i, child in enumerate(node.elems):
            _check_structure(child, elem, report, f"{name}[{i}]", for_apply)
    elif f.valid and node.text and not re.search(f.valid, node.text):
        report.error(node.line, f"invalid value {node.text}")


# --- write_files and users ---------------------------------------------------------------------


def _maps(node: YNode | None) -> list[YNode]:
    if node is None or node.kind != "slice":
        return []
    return [e for e in node.elems if e.kind == "map"]


def _text(node: YNode, key: str) -> str:
    v = node.get(key)
    return v.text if v is not None and v.kind not in ("map", "slice", "null") else ""


def _escapes_root(path: str) -> bool:
    depth = 0
    for part in path.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def _check_write_files(root: YNode, report: Report) -> None:
    for f in _maps(root.get("write_files")):
        path = _text(f, "path")
        if not path:
            report.error(f.line, "write_files entry has no path")
        elif _escapes_root(path):
            report.error(f.key_line("path"), f"path {path} leaves the machine's root directory")
        else:
            d = path.rsplit("/", 1)[0] if "/" in path else ""
            if d.startswith(schema.READ_ONLY_PREFIX):
                report.error(f.key_line("path"), "file cannot be written to a read-only filesystem")
        encoding = _text(f, "encoding")
        content = f.get("content")
        if encoding and re.search(schema.WRITE_FILE["encoding"].valid or "", encoding):
            try:
                decode_content(
                    content.binary
                    if content is not None and content.binary is not None
                    else _text(f, "content"),
                    encoding,
                )
            except DecodeError:
                line = content.line if content is not None else f.line
                report.error(line, f'content cannot be decoded as "{encoding}"')
        elif not encoding and content is not None and path in _ENV_FILE_PATHS:
            _check_inline_comments(content, report, _env_file_message(path))


def _env_file_message(path: str) -> Callable[[str], str]:
    def message(key: str) -> str:
        return (
            f"{path}: '#' does not start a comment after a value; {key} gets it as part of its "
            "value (put the comment on a line of its own)"
        )

    return message


def _check_users(root: YNode, report: Report) -> None:
    for u in _maps(root.get("users")):
        if not _text(u, "name"):
            report.warning(u.line, "user has no name and is skipped")


# --- coreos -----------------------------------------------------------------------------------


def _check_coreos(
    root: YNode, coreos: YNode, report: Report, known: frozenset[str], as_node: bool
) -> None:
    if coreos.get("write_files") is not None:
        report.info(coreos.key_line("write_files"), "write_files doesn't belong under coreos")
    for section in ("etcd", "etcd2"):
        e = coreos.get(section)
        if e is None or e.kind != "map":
            continue
        disc = e.get("discovery")
        if disc is not None and disc.text and not _is_request_uri(disc.text):
            report.warning(e.key_line("discovery"), "discovery URL is not valid")
        if section == "etcd2":
            for line, msg in check_etcd2(e):
                report.error(line, msg)
    fleet = coreos.get("fleet")
    if fleet is not None and fleet.kind == "map":
        _check_fleet(fleet, report)
    written = {
        _text(f, "path").rstrip("/").rsplit("/", 1)[-1]
        for f in _maps(root.get("write_files"))
        if "/systemd/" in _text(f, "path")
    }
    for u in _maps(coreos.get("units")):
        _check_unit(u, report, known | written, as_node)


def _is_request_uri(u: str) -> bool:
    # Go's url.ParseRequestURI: an absolute URI (scheme + something) or an absolute path.
    if u.startswith("/"):
        return True
    try:
        p = urlsplit(u)
    except ValueError:
        return False
    return bool(p.scheme) and bool(p.netloc or p.path)


def _check_fleet(fleet: YNode, report: Report) -> None:
    md = fleet.get("metadata")
    if md is not None and md.kind == "string" and md.text:
        for pair in md.text.split(","):
            if "=" not in pair or not pair.split("=", 1)[0].strip():
                # fleet logs "Ignoring invalid metadata pair" and drops it.
                report.warning(
                    fleet.key_line("metadata"), f"metadata pair {pair.strip()!r} is not key=value"
                )
    ttl = fleet.get("agent_ttl")
    if ttl is not None and ttl.text:
        try:
            parse_duration(ttl.text)  # fleetd reads agent_ttl with Go's time.ParseDuration
        except DurationError:
            report.error(
                fleet.key_line("agent_ttl"), f"invalid value {ttl.text} (a duration like 30s)"
            )


def _check_unit(u: YNode, report: Report, known: frozenset[str], as_node: bool) -> None:
    name = _text(u, "name")
    if not name:
        report.error(u.line, "unit has no name")
        return
    name_line = u.key_line("name")
    try:
        n = parse_unit_name(name)
    except ValueError as e:
        report.error(name_line, str(e))
        return
    content = u.get("content")
    has_content = content is not None and bool(content.text)
    mask = u.get("mask")
    masked = mask is not None and mask.as_bool()
    command = _text(u, "command")
    if n.is_template and command:
        report.error(
            u.key_line("command"),
            f"cannot {command} template unit {name}; name an instance such as "
            f"{n.prefix}@1.{n.type}",
        )
    if not has_content and not masked and name not in known and n.template not in known:
        report.error(
            name_line,
            f"unit {name} has no content and is not a unit this machine provides "
            f"({', '.join(sorted(k for k in known if k.endswith('.service')))})",
        )
    parsed = (
        _check_unit_text(content, name, report) if content is not None and has_content else None
    )
    drop_ins: list[UnitFile] = []
    for d in _maps(u.get("drop_ins")):
        dname = _text(d, "name")
        dcontent = d.get("content")
        if not dname:
            report.error(d.line, f"drop-in of {name} has no name")
        elif not dname.endswith(".conf"):
            report.warning(d.key_line("name"), f"drop-in {dname} of {name} is ignored: not *.conf")
        if dcontent is not None and dcontent.text:
            dparsed = _check_unit_text(dcontent, f"{name}.d/{dname}", report)
            if dparsed is not None and dname.endswith(".conf"):
                drop_ins.append(dparsed)
    if as_node and parsed is not None and n.type == "service" and content is not None:
        _check_as_the_node(parsed, drop_ins, content, report)


def _check_as_the_node(
    unit: UnitFile, drop_ins: list[UnitFile], content: YNode, report: Report
) -> None:
    """What the node's unit manager refuses (no ExecStart=, a bad Type=, ...), and the lines
    systemd would ignore as unknown, reported at the cloud-config's lines. (The node's milder
    warnings, such as a directive systemd knows and shoal does not act on, stay the node's.)"""
    base = content.content_first_line - 1
    for a in unit.assignments:
        if unknown_lvalue(a.section, a.key):
            report.warning(
                base + a.line, f"{unit.name}: Unknown lvalue '{a.key}' in section '{a.section}'"
            )
    try:
        read_unit(merge(unit, drop_ins) if drop_ins else unit)
    except UnitFileError as e:
        for p in e.problems:
            # With drop-ins, a line may be the drop-in's: report those at the unit's name.
            line = base + p.line if not drop_ins else content.line
            report.error(line, f"{unit.name}: {p.message}")


def _check_unit_text(content: YNode, name: str, report: Report) -> UnitFile | None:
    base = content.content_first_line - 1
    try:
        parsed = parse_unit_text(content.text, name)
    except UnitFileError as e:
        for p in e.problems:
            report.error(base + p.line, f"{name}: {p.message}")
        parsed = None
    except TimespanError as e:  # pragma: no cover - the parser itself reads no time spans
        report.error(content.line, f"{name}: {e}")
        parsed = None
    if parsed is not None:
        for w in parsed.warnings:
            report.warning(base + w.line, f"{name}: {w.message}")
    _check_inline_comments(
        content,
        report,
        lambda key: (
            f"{name}: '#' does not start a comment after a value; systemd reads it as part of "
            f"{key}= (put the comment on a line of its own)"
        ),
    )
    return parsed


def _check_inline_comments(content: YNode, report: Report, message: Callable[[str], str]) -> None:
    # Only block scalars map one to one onto lines of the cloud-config; others are reported at
    # the content's first line.
    block = content.style == "|"
    for i, line in enumerate(content.text.splitlines()):
        if inline_comment(line) is None:
            continue
        key = line.split("=", 1)[0].strip()
        at = content.content_first_line + i if block else content.line
        report.warning(at, message(key))
