"""Units as fleet sees them: options, the unit hash, names, and the [X-Fleet] requirements.

fleet identifies a unit's content by the SHA-1 of its *serialized* options (go-systemd's
`unit.Serialize`), not of the file the user wrote, so comments and spacing do not change the hash.
Everything here is pure: parsing, serializing, hashing, validating.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from shoal.fleet import facts


class UnitFileError(ValueError):
    """The text is not a unit file go-systemd's parser would accept."""


@dataclass(frozen=True)
class UnitOption:
    section: str
    name: str
    value: str

    def to_json(self) -> dict[str, str]:
        return {"section": self.section, "name": self.name, "value": self.value}


def parse_unit_file(text: str) -> tuple[UnitOption, ...]:
    """Parse unit-file text into options in file order (go-systemd's `unit.Deserialize`)."""
    lines = text.split("\n")
    opts: list[UnitOption] = []
    section: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i].removesuffix("\r")
        if len(line.encode()) >= facts.SYSTEMD_LINE_MAX:
            raise UnitFileError(f"line too long (max {facts.SYSTEMD_LINE_MAX} bytes)")
        stripped = line.strip()
        i += 1
        if not stripped:
            continue
        if stripped[0] in "#;":
            # A comment continues onto the next line when it ends with a backslash.
            while line.rstrip(" ").endswith("\\") and i < len(lines):
                line = lines[i].removesuffix("\r")
                i += 1
            continue
        if stripped[0] == "[":
            end = stripped.find("]")
            if end < 0:
                raise UnitFileError("unable to find end of section")
            garbage = stripped[end + 1 :].strip()
            if garbage:
                raise UnitFileError(f"found garbage after section name {section or ''}: {garbage}")
            section = stripped[1:end]
            continue
        if section is None:
            continue  # text before the first section is ignored, as go-systemd does
        if "=" not in line:
            raise UnitFileError("unexpected newline encountered while parsing option name")
        name, _, rest = line.partition("=")
        value = rest
        # A value ending in a backslash continues on the next non-blank line (backslash kept).
        while value.endswith("\\") and i < len(lines) and lines[i].strip():
            value += "\n" + lines[i].removesuffix("\r")
            i += 1
        opts.append(UnitOption(section, name.strip(), value.strip()))
    return tuple(opts)


def serialize(options: Iterable[UnitOption]) -> str:
    """Options grouped by section in first-seen order (go-systemd's `unit.Serialize`)."""
    order: list[str] = []
    by_section: dict[str, list[UnitOption]] = {}
    for opt in options:
        if opt.section not in by_section:
            order.append(opt.section)
            by_section[opt.section] = []
        by_section[opt.section].append(opt)
    parts = []
    for sect in order:
        body = "".join(f"{o.name}={o.value}\n" for o in by_section[sect])
        parts.append(f"[{sect}]\n{body}")
    return "\n".join(parts)


def unit_hash(options: Iterable[UnitOption]) -> str:
    """fleet's unit hash: hex SHA-1 of the serialized options (unit/unit.go Hash)."""
    return hashlib.sha1(serialize(options).encode()).hexdigest()


def options_from_json(items: object) -> tuple[UnitOption, ...]:
    """API `options` list -> options; raises ValueError on a malformed list."""
    if not isinstance(items, list):
        raise ValueError("options must be a list")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("each option must be an object")
        sect, name, value = item.get("section", ""), item.get("name", ""), item.get("value", "")
        if not all(isinstance(v, str) for v in (sect, name, value)):
            raise ValueError("option section, name and value must be strings")
        out.append(UnitOption(sect, name, value))
    return tuple(out)


def description(options: Iterable[UnitOption]) -> str:
    for o in options:
        if o.section == "Unit" and o.name == "Description":
            return o.value
    return ""


# ---- names -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitNameInfo:
    """unit/unit.go UnitNameInfo: foo@bar.service -> prefix foo, template foo@.service, instance
    bar."""

    full_name: str
    name: str
    prefix: str
    template: str
    instance: str

    @property
    def is_instance(self) -> bool:
        return bool(self.instance)

    @property
    def is_template(self) -> bool:
        return bool(self.template) and not self.instance


def name_info(unit_name: str) -> UnitNameInfo | None:
    dot = unit_name.rfind(".")
    if dot < 0:
        return None
    name, suffix = unit_name[:dot], unit_name[dot:]
    at = name.find("@")
    if at < 0:
        return UnitNameInfo(unit_name, name, name, "", "")
    return UnitNameInfo(unit_name, name, name[:at], f"{name[:at]}@{suffix}", name[at + 1 :])


def validate_name(name: str) -> str | None:
    """api/units.go ValidateName: the error message, or None when the name is valid."""
    if not name:
        return "unit name cannot be empty"
    if len(name) > facts.UNIT_NAME_MAX:
        return f"unit name exceeds maximum length ({facts.UNIT_NAME_MAX})"
    dot = name.rfind(".")
    if dot < 0:
        return 'unit name must contain "."'
    if dot == len(name) - 1:
        return 'unit name cannot end in "."'
    suffix = name[dot + 1 :]
    if suffix not in facts.VALID_UNIT_TYPES:
        return f'invalid unit type: "{suffix}"'
    if "@" in name and suffix not in facts.VALID_TEMPLATE_TYPES:
        return f'invalid unit type for template: "{suffix}"'
    for ch in name[:dot]:
        if ch not in facts.UNIT_NAME_CHARS:
            return f"invalid character {ch!r} in unit name"
    if name.startswith("@"):
        return 'unit name cannot start in "@"'
    return None


def mangle_name(arg: str) -> str:
    """fleetctl's unitNameMangle: basename, with `.service` added to unrecognized types."""
    base = arg.rstrip("/").rsplit("/", 1)[-1]
    if not any(base.endswith("." + t) for t in facts.RECOGNIZED_UNIT_TYPES):
        base += ".service"
    return base


# ---- [X-Fleet] ---------------------------------------------------------------------------------

# shoal: MachineMetadata operators beyond fleet's `=` (asked for in fleet#1143, never merged).
_OPS = ("!=", "<=", ">=", "=", "<", ">")
_OP_RE = re.compile(r"!=|<=|>=|=|<|>")


@dataclass(frozen=True)
class MetadataCondition:
    key: str
    op: str
    value: str

    def __str__(self) -> str:
        return f"{self.key}{self.op}{self.value}"


def parse_metadata_condition(text: str) -> MetadataCondition | None:
    """`key=value` (or `key<=4` ...); None for what fleet silently ignored (no key or value)."""
    m = _OP_RE.search(text)
    if m is None:
        return None
    key, value = text[: m.start()].strip(), text[m.end() :].strip()
    if not key or not value or "=" in value:
        return None  # fleet skipped pairs that did not split into exactly two parts
    return MetadataCondition(key, m.group(0), value)


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def metadata_mismatch(metadata: Mapping[str, str], conds: Sequence[MetadataCondition]) -> str:
    """Why a machine's metadata fails the conditions, or "" when it satisfies them.

    fleet's rule (machine.HasMetadata): `=` values for the same key are ORed, keys are ANDed,
    and the machine must have every key. shoal's operators are ANDed with those; `!=` alone
    also accepts a machine without the key.
    """
    keys: dict[str, list[MetadataCondition]] = {}
    for c in conds:
        keys.setdefault(c.key, []).append(c)
    for key, group in keys.items():
        have = metadata.get(key)
        equals = [c.value for c in group if c.op == "="]
        if have is None:
            if all(c.op == "!=" for c in group):
                continue
            return f"machine has no metadata {key!r}"
        if equals and have not in equals:
            return f"metadata {key}={have} is not " + " or ".join(f"{key}={v}" for v in equals)
        for c in group:
            if c.op == "=":
                continue
            if c.op == "!=":
                if have == c.value:
                    return f"metadata {key}={have} fails {c}"
                continue
            a, b = _as_number(have), _as_number(c.value)
            if a is None or b is None:
                return f"metadata {key}={have} fails {c} (not a number)"
            ok = {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[c.op]
            if not ok:
                return f"metadata {key}={have} fails {c}"
    return ""


def _multivalue(line: str) -> list[str]:
    """unit/unit.go parseMultivalueLine: `"a=b" "c=d"` -> [a=b, c=d]; other lines stay whole."""
    if not (line.startswith('"') and line.endswith('"')):
        return [line]
    values: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
            continue
        if ch == " " and not quoted:
            values.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    values.append("".join(cur))
    return values


def _printf(value: str, info: UnitNameInfo | None) -> str:
    """job/job.go unitPrintf: the specifiers fleet substitutes in [X-Fleet] values."""
    if info is None:
        return value
    for spec, sub in (
        ("%n", info.full_name),
        ("%N", info.name),
        ("%p", info.prefix),
        ("%i", info.instance),
    ):
        value = value.replace(spec, sub)
    return value


def expand_specifiers(value: str, unit_name: str) -> str:
    """`%n %N %p %i` in `value` replaced as for the unit `unit_name` (systemd shows a
    template's Description so: "Web server %i" reads "Web server 2" for web@2.service)."""
    return _printf(value, name_info(unit_name))


@dataclass(frozen=True)
class Requirements:
    """What a unit's [X-Fleet] section asks of the machine that runs it (names substituted)."""

    machine_id: str = ""
    peers: tuple[str, ...] = ()
    metadata: tuple[MetadataCondition, ...] = ()
    conflicts: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()
    is_global: bool = False
    unknown: tuple[str, ...] = field(default=())

    @staticmethod
    def of(name: str, options: Iterable[UnitOption]) -> Requirements:
        info = name_info(name)
        raw: dict[str, list[str]] = {}
        for o in options:
            if o.section == facts.XF_SECTION:
                vals = [_printf(v, info) for v in _multivalue(o.value)]
                raw.setdefault(o.name, []).extend(vals)

        def get(*keys: str) -> list[str]:
            return [v for k in keys for v in raw.get(k, [])]

        ids = get(facts.XF_MACHINE_ID, *facts.DEPRECATED_MACHINE_ID)
        conflicts = [
            w for v in get(facts.DEPRECATED_CONFLICTS, facts.XF_CONFLICTS) for w in v.split()
        ]
        conds = [
            c
            for v in get(facts.DEPRECATED_MACHINE_METADATA, facts.XF_MACHINE_METADATA)
            if (c := parse_metadata_condition(v)) is not None
        ]
        glob = raw.get(facts.XF_GLOBAL, [])
        return Requirements(
            machine_id=ids[0] if ids else "",
            peers=tuple(get(facts.DEPRECATED_MACHINE_OF, facts.XF_MACHINE_OF)),
            metadata=tuple(conds),
            conflicts=tuple(conflicts),
            replaces=tuple(get(facts.XF_REPLACES)),
            is_global=bool(glob) and glob[-1].lower() in facts.TRUTHY,
            unknown=tuple(sorted(k for k in raw if k not in facts.VALID_REQUIREMENTS)),
        )


def glob_match(pattern: str, name: str) -> bool:
    """Go's path.Match for unit names (no '/' in them, so fnmatch's semantics agree)."""
    return fnmatch.fnmatchcase(name, pattern)


def validate_options(options: Sequence[UnitOption]) -> str | None:
    """api/units.go ValidateOptions: fleet's message for requirements that cannot hold together."""
    for o in options:
        if not o.name or "=" in o.name or "\n" in o.name or "\n" in o.section or "]" in o.section:
            return f"invalid option {o.name!r} in section {o.section!r}"
    req = Requirements.of("", options)
    for peer in dict.fromkeys(req.peers):
        for c in dict.fromkeys(req.conflicts):
            if glob_match(c, peer):
                return f'unresolvable requirements: peer "{peer}" matches conflict "{c}"'
        for r in dict.fromkeys(req.replaces):
            if glob_match(r, peer):
                return f'unresolvable requirements: peer "{peer}" matches replace "{r}"'
    has_target = bool(req.machine_id)
    checks = (
        (has_target and bool(req.peers), "MachineID cannot be used with Peers"),
        (has_target and bool(req.conflicts), "MachineID cannot be used with Conflicts"),
        (has_target and req.is_global, "MachineID cannot be used with Global"),
        (has_target and bool(req.replaces), "MachineID cannot be used with Replaces"),
        (req.is_global and bool(req.peers), "Global cannot be used with Peers"),
        (req.is_global and bool(req.replaces), "Global cannot be used with Replaces"),
        (bool(req.conflicts) and bool(req.replaces), "Conflicts cannot be used with Replaces"),
    )
    for bad, msg in checks:
        if bad:
            return msg
    return None


@dataclass(frozen=True)
class Unit:
    """A unit in the registry: its name, content and desired state."""

    name: str
    options: tuple[UnitOption, ...]
    target_state: str = facts.STATE_INACTIVE

    @property
    def hash(self) -> str:
        return _cached_hash(self.options)

    @property
    def requirements(self) -> Requirements:
        return _cached_requirements(self.name, self.options)

    @property
    def text(self) -> str:
        return serialize(self.options)


# The engine and agents look at every unit on every round; the same (name, content) always
# gives the same hash and requirements, so each is computed once.
@lru_cache(maxsize=1 << 14)
def _cached_hash(options: tuple[UnitOption, ...]) -> str:
    return unit_hash(options)


@lru_cache(maxsize=1 << 14)
def _cached_requirements(name: str, options: tuple[UnitOption, ...]) -> Requirements:
    return Requirements.of(name, options)
