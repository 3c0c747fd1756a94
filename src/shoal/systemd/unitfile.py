"""systemd unit files: parsing, drop-in merging, templates and specifiers.

What a unit file means follows systemd.syntax(7) and systemd.unit(5):
- `[Section]` headers, `Key=Value` assignments (whitespace around both trimmed), keys repeated in
  order; a line ending in a backslash continues on the next one (the backslash becomes a space);
- a line whose first non-blank character is `#` or `;` is a comment. Anywhere else `#` is part of
  the value: systemd has no inline comments, which is why the cloud-config validator warns about
  them (see `inline_comment`);
- drop-ins (`foo.service.d/*.conf`) are read after the unit, in file-name order, so their
  assignments come later and win; an empty assignment (`ExecStart=`) resets a list option;
- `foo@1.service` is made from `foo@.service` when it has no file of its own, and specifiers
  (`%n %N %p %P %i %I %f %H %m %%` ...) are resolved when a unit is loaded.

A `UnitFile` keeps the raw assignments, in order, with their line numbers; typed views of the
[Unit]/[Service]/[Install] options live in `service`. [X-Fleet] is kept raw for fleet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

# Unit types systemd knows (systemd.unit(5)) plus systemd-networkd's .network/.netdev/.link files,
# which coreos-cloudinit hands to networkd instead of systemd.
UNIT_TYPES = frozenset(
    {
        "automount",
        "busname",
        "device",
        "mount",
        "path",
        "scope",
        "service",
        "slice",
        "snapshot",
        "socket",
        "swap",
        "target",
        "timer",
    }
)
NETWORK_UNIT_TYPES = frozenset({"network", "netdev", "link"})

# Sections systemd reads in the unit types shoal manages; others are reported as unknown unless
# they start with "X-" (systemd ignores X- sections silently; fleet reads [X-Fleet]).
KNOWN_SECTIONS = frozenset(
    {
        "Unit",
        "Install",
        "Service",
        "Socket",
        "Timer",
        "Path",
        "Mount",
        "Automount",
        "Swap",
        "Slice",
        "Scope",
        # systemd-networkd files
        "Match",
        "Link",
        "Network",
        "Address",
        "Route",
        "DHCP",
        "NetDev",
        "Bridge",
        "Bond",
        "VLAN",
        "VXLAN",
        "Tunnel",
        "Peer",
        "Tun",
        "Tap",
        "MACVLAN",
        "IPVLAN",
        "BridgePort",
    }
)

# systemd's unit name alphabet and length limit (unit-name.c: VALID_CHARS, UNIT_NAME_MAX).
_NAME_CHARS = re.compile(r"^[A-Za-z0-9:_.@\-\\]+$")
UNIT_NAME_MAX = 256


class UnitFileError(ValueError):
    """A unit file systemd would refuse. `problems` lists every `line N: ...` found."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        where = f"{source}: " if source else ""
        super().__init__("\n".join(f"{where}{p}" for p in self.problems))


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about a unit file; `line` is 1-based within the file it came from."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Assignment:
    section: str
    key: str
    value: str
    line: int
    source: str = ""  # the file (unit or drop-in) it came from, for messages


@dataclass(frozen=True, slots=True)
class UnitFile:
    """A parsed unit (maybe with drop-ins merged): assignments in the order systemd reads them."""

    name: str
    assignments: tuple[Assignment, ...] = ()
    warnings: tuple[Problem, ...] = ()
    sources: tuple[str, ...] = ()

    def sections(self) -> list[str]:
        seen: list[str] = []
        for a in self.assignments:
            if a.section not in seen:
                seen.append(a.section)
        return seen

    def all(self, section: str, key: str) -> list[Assignment]:
        """Every assignment of `key` in `section`, in order (empty ones included)."""
        return [a for a in self.assignments if a.section == section and a.key == key]

    def last(self, section: str, key: str) -> Assignment | None:
        """The assignment that wins for a single-valued option (the last one), or None."""
        found = self.all(section, key)
        return found[-1] if found else None

    def get(self, section: str, key: str, default: str | None = None) -> str | None:
        a = self.last(section, key)
        return default if a is None else a.value

    def effective(self, section: str, key: str) -> list[Assignment]:
        """A list option's assignments after resets: an empty value drops everything before it."""
        out: list[Assignment] = []
        for a in self.all(section, key):
            if a.value == "":
                out.clear()
            else:
                out.append(a)
        return out

    def options(self, section: str | None = None) -> list[tuple[str, str, str]]:
        """(section, key, value) triples in order, as fleet's API lists a unit's options."""
        return [
            (a.section, a.key, a.value)
            for a in self.assignments
            if section is None or a.section == section
        ]


def parse_unit_text(text: str, name: str = "", source: str = "") -> UnitFile:
    """Parse one unit or drop-in file. Raises UnitFileError naming every bad line."""
    src = source or name
    errors: list[Problem] = []
    warnings: list[Problem] = []
    assignments: list[Assignment] = []
    section: str | None = None
    for lineno, line in _logical_lines(text):
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3 or "]" in line[1:-1]:
                errors.append(Problem(lineno, f"invalid section header {line!r}"))
                section = None
                continue
            section = line[1:-1]
            if section not in KNOWN_SECTIONS and not section.startswith("X-"):
                warnings.append(Problem(lineno, f"unknown section [{section}], ignored"))
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep:
            errors.append(Problem(lineno, f"missing '=' in {line!r}"))
            continue
        if not key:
            errors.append(Problem(lineno, f"missing key before '=' in {line!r}"))
            continue
        if section is None:
            # systemd ignores these with a warning; so does shoal.
            warnings.append(Problem(lineno, f"assignment {key}= outside of any section, ignored"))
            continue
        assignments.append(Assignment(section, key, value.strip(), lineno, src))
    if errors:
        raise UnitFileError(src, errors)
    return UnitFile(name, tuple(assignments), tuple(warnings), (src,) if src else ())


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Lines with continuations joined, comments and blanks dropped; each with its first line."""
    pending: list[str] = []
    start = 0
    for i, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if pending:
            # Comment lines inside a continued value are skipped, as systemd does.
            if line.startswith(("#", ";")):
                continue
        elif not line or line.startswith(("#", ";")):
            continue
        if not pending:
            start = i
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        yield start, " ".join(pending).strip() if len(pending) > 1 else pending[0]
        pending = []
    if pending:
        yield start, " ".join(pending).strip()


def inline_comment(line: str) -> int | None:
    """Where a `#` that looks like a trailing comment starts in an assignment line, else None.

    systemd has no inline comments, so `Address=10.0.0.1/24 # public` gives networkd the address
    `10.0.0.1/24 # public`. A `#` counts when whitespace precedes it and it is outside quotes.
    """
    stripped = line.strip()
    if not stripped or stripped.startswith(("#", ";", "[")) or "=" not in stripped:
        return None
    eq = line.index("=")
    quote: str | None = None
    prev = "="
    for i in range(eq + 1, len(line)):
        c = line[i]
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#" and prev.isspace():
            return i
        prev = c
    return None


def merge(unit: UnitFile, dropins: Sequence[UnitFile]) -> UnitFile:
    """The unit as systemd sees it with its drop-ins applied after it, in the order given."""
    assignments = list(unit.assignments)
    warnings = list(unit.warnings)
    sources = list(unit.sources)
    for d in dropins:
        assignments.extend(d.assignments)
        warnings.extend(d.warnings)
        sources.extend(d.sources)
    return UnitFile(unit.name, tuple(assignments), tuple(warnings), tuple(sources))


# --- names -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitName:
    """`prefix@instance.type`; `instance` is None for a plain unit and "" for a template."""

    full: str
    prefix: str
    instance: str | None
    type: str

    @property
    def is_template(self) -> bool:
        return self.instance == ""

    @property
    def is_instance(self) -> bool:
        return bool(self.instance)

    @property
    def template(self) -> str:
        """`foo@.service` for `foo@1.service` (the name itself otherwise)."""
        return f"{self.prefix}@.{self.type}" if self.instance is not None else self.full

    @property
    def is_network(self) -> bool:
        return self.type in NETWORK_UNIT_TYPES


def parse_unit_name(name: str) -> UnitName:
    """Split and check a unit name as systemd does; raises ValueError saying what is wrong."""
    if not name:
        raise ValueError("unit name is empty")
    if len(name) > UNIT_NAME_MAX:
        raise ValueError(f"unit name {name[:40]!r}... is longer than {UNIT_NAME_MAX} characters")
    if not _NAME_CHARS.match(name):
        raise ValueError(f"unit name {name!r} has characters systemd does not allow")
    stem, dot, utype = name.rpartition(".")
    if not dot or utype not in UNIT_TYPES | NETWORK_UNIT_TYPES:
        raise ValueError(f"unit name {name!r} does not end in a known unit type (.service, ...)")
    if not stem or stem.startswith("@"):
        raise ValueError(f"unit name {name!r} has no name before the type")
    if "@" in stem:
        prefix, _, instance = stem.partition("@")
        if "@" in instance:
            raise ValueError(f"unit name {name!r} has more than one '@'")
        return UnitName(name, prefix, instance, utype)
    return UnitName(name, stem, None, utype)


def unescape_name(s: str) -> str:
    """systemd-escape's inverse: `-` is `/`, `\\xNN` is a byte (used by %I, %P, %f)."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "-":
            out += b"/"
        elif c == "\\" and i + 3 < len(s) and s[i + 1] == "x":
            try:
                out.append(int(s[i + 2 : i + 4], 16))
                i += 4
                continue
            except ValueError:
                out += c.encode()
        else:
            out += c.encode()
        i += 1
    return out.decode("utf-8", errors="replace")


# --- specifiers ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpecifierContext:
    """Machine facts some specifiers need (%H, %m, %b, %u, %h ...)."""

    hostname: str = "localhost"
    machine_id: str = ""
    boot_id: str = ""
    user: str = "root"
    uid: int = 0
    home: str = "/root"
    shell: str = "/bin/sh"
    runtime_dir: str = "/run"


def resolve_specifiers(
    unit: UnitFile, name: str, ctx: SpecifierContext | None = None, raw_sections: Iterable[str] = ()
) -> UnitFile:
    """`unit` with `%` specifiers resolved for the unit `name`; sections in `raw_sections` are
    left as written (fleet resolves [X-Fleet] itself). Unknown specifiers are errors."""
    c = ctx or SpecifierContext()
    n = parse_unit_name(name)
    instance = n.instance or ""
    table = {
        "n": n.full,
        "N": n.full[: -len(n.type) - 1],
        "p": n.prefix,
        "P": unescape_name(n.prefix),
        "i": instance,
        "I": unescape_name(instance),
        "f": "/" + unescape_name(instance or n.prefix).lstrip("/"),
        "j": n.prefix.rsplit("-", 1)[-1],
        "J": unescape_name(n.prefix.rsplit("-", 1)[-1]),
        "H": c.hostname,
        "m": c.machine_id,
        "b": c.boot_id,
        "u": c.user,
        "U": str(c.uid),
        "h": c.home,
        "s": c.shell,
        "t": c.runtime_dir,
        "%": "%",
    }
    raw = set(raw_sections)
    problems: list[Problem] = []
    out: list[Assignment] = []
    for a in unit.assignments:
        if a.section in raw or "%" not in a.value:
            out.append(a)
            continue
        value, bad = _substitute(a.value, table)
        for spec in bad:
            where = f"{a.source}: " if a.source and a.source != unit.name else ""
            problems.append(
                Problem(a.line, f"{where}unknown specifier %{spec} in {a.key}= (write %% for a %)")
            )
        out.append(replace(a, value=value))
    if problems:
        raise UnitFileError(unit.name, problems)
    return replace(unit, name=name, assignments=tuple(out))


def _substitute(value: str, table: dict[str, str]) -> tuple[str, list[str]]:
    out: list[str] = []
    bad: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "%" and i + 1 < len(value):
            spec = value[i + 1]
            if spec in table:
                out.append(table[spec])
            else:
                bad.append(spec)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out), bad


# --- finding unit files on a machine ---------------------------------------------------------

# systemd's system unit search path, highest priority first (systemd.unit(5)), relative to a
# machine's root directory; coreos-cloudinit writes to etc/ (persistent) or run/ (runtime).
SYSTEM_UNIT_DIRS = ("etc/systemd/system", "run/systemd/system", "usr/lib/systemd/system")
NETWORK_UNIT_DIRS = ("etc/systemd/network", "run/systemd/network", "usr/lib/systemd/network")


@dataclass(frozen=True, slots=True)
class UnitPaths:
    """The unit search path under one machine's root directory."""

    root: Path
    dirs: tuple[str, ...] = SYSTEM_UNIT_DIRS
    extra: tuple[Path, ...] = field(default=())  # e.g. fleet's /run/fleet/units, searched last

    def _search(self) -> list[Path]:
        return [self.root / d for d in self.dirs] + list(self.extra)

    def find(self, name: str) -> Path | None:
        """The file that defines `name` (its template's for an instance without its own file).

        A file linked to /dev/null (or empty) means the unit is masked; that path is returned and
        `is_masked` says so."""
        n = parse_unit_name(name)
        for candidate in (name, n.template) if n.is_instance else (name,):
            for d in self._search():
                p = d / candidate
                if p.is_symlink() or p.exists():
                    return p
        return None

    def is_masked(self, name: str) -> bool:
        p = self.find(name)
        if p is None:
            return False
        if p.is_symlink() and str(p.readlink()) == "/dev/null":
            return True
        return p.is_file() and p.stat().st_size == 0

    def dropins(self, name: str) -> list[Path]:
        """`name.d/*.conf` (and the template's) across the search path: by file name, a file in a
        higher-priority directory hiding a same-named one below it, as systemd merges them."""
        n = parse_unit_name(name)
        names = [n.template, name] if n.is_instance else [name]
        chosen: dict[str, Path] = {}
        for d in reversed(self._search()):
            for nm in names:
                dd = d / f"{nm}.d"
                if dd.is_dir():
                    for p in dd.iterdir():
                        if p.name.endswith(".conf"):
                            chosen[p.name] = p
        return [chosen[k] for k in sorted(chosen)]

    def load(self, name: str, ctx: SpecifierContext | None = None) -> UnitFile:
        """The unit as systemd would load it: file + drop-ins + specifiers. Raises FileNotFoundError
        when no file defines it, ValueError for a bad name or a masked unit, UnitFileError for
        bad content."""
        n = parse_unit_name(name)
        if n.is_template:
            raise ValueError(
                f"{name} is a template; start an instance such as {n.prefix}@1.{n.type}"
            )
        p = self.find(name)
        dropins = self.dropins(name)
        if p is None:
            raise FileNotFoundError(f"unit {name} not found")
        if self.is_masked(name):
            raise ValueError(f"unit {name} is masked")
        main = parse_unit_text(p.read_text(encoding="utf-8"), name, str(p))
        parts = [parse_unit_text(d.read_text(encoding="utf-8"), name, str(d)) for d in dropins]
        return resolve_specifiers(merge(main, parts), name, ctx, raw_sections=("X-Fleet",))
