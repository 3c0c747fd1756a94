"""Go's `flag` package: command-line syntax and error texts, driven by one table of `Flag`s.

Syntax (FlagSet.Parse): `-flag`, `--flag`, `-flag=value`, `--flag=value`, and `-flag value` for
flags that are not booleans; a value flag takes the next argument even when it starts with `-`.
A boolean alone means true and takes a value only as `-flag=value`, so `--disable_watches unit`
leaves `unit` as an argument. Parsing stops at the first non-flag (`-` counts as one) and after
`--`, which is dropped. `-h` / `-help`, when the table does not define them, ask for help.

Errors are Go's (Go 1.15 and later, which etcd 3.4 and etcdctl are built with):
    flag provided but not defined: -x
    flag needs an argument: -x
    bad flag syntax: ---x
    invalid boolean value "x" for -x: parse error
    invalid value "x" for flag -x: parse error         (also `value out of range`)

A program's table gives each flag once (name, kind, default, usage); its help text and its
configuration are both read from it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from shoal.gocompat import strconv
from shoal.gocompat.duration import DurationError, format_seconds, parse_seconds


class Kind(Enum):
    BOOL = "bool"
    STRING = "string"
    INT = "int"  # strconv.ParseInt(s, 0, 64)
    UINT = "uint"  # strconv.ParseUint(s, 0, 64)
    FLOAT = "float"  # strconv.ParseFloat(s, 64)
    DURATION = "duration"  # time.ParseDuration; the value is in seconds
    CHOICE = "choice"  # one of `choices` (etcd's SelectiveStringValue)
    LIST = "list"  # a string flag that may repeat; values accumulate (urfave's StringSlice)


Value = bool | str | int | float | list[str]


@dataclass(frozen=True, slots=True, eq=False)
class Flag:
    """One row of a program's flag table. `names[0]` is the canonical name, the rest aliases.
    Compared and hashed by identity (a LIST flag's default is a list)."""

    names: tuple[str, ...]
    kind: Kind
    default: Value
    usage: str = ""
    choices: tuple[str, ...] = ()
    placeholder: str = "value"  # the word after the flag in help (`--ttl value`)
    show_default: bool = False  # help appends the default (urfave's `(default: ...)`)
    # A custom flag.Value's Set check for a STRING flag: the reason it refuses a value, or None.
    check: Callable[[str], str | None] | None = None

    @property
    def name(self) -> str:
        return self.names[0]


def flag(
    name: str,
    kind: Kind,
    default: Value,
    usage: str = "",
    *,
    choices: Iterable[str] = (),
    placeholder: str = "value",
    show_default: bool = False,
) -> Flag:
    """A table row from urfave-style names: "output, o" is `--output` with the alias `-o`."""
    names = tuple(n.strip() for n in name.split(","))
    return Flag(names, kind, default, usage, tuple(choices), placeholder, show_default)


class FlagError(Exception):
    """Parsing failed; `message` is the text Go prints (before the usage), `reason` the value's
    own error when a value was refused (`parse error`, `value out of range`, a check's text)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class HelpRequested(FlagError):
    """`-h` or `-help` was given and the table does not define it (Go's flag.ErrHelp)."""

    def __init__(self) -> None:
        super().__init__("flag: help requested")


def convert(f: Flag, raw: str, spelled: str | None = None) -> Value:
    """One value as flag.Value.Set converts it; FlagError with Go's text names the flag as
    the user spelled it (`spelled`, else the canonical name). A LIST value is one element."""
    name = spelled or f.name
    if f.kind is Kind.STRING or f.kind is Kind.LIST:
        problem = f.check(raw) if f.check is not None else None
        if problem is None:
            return raw
        raise FlagError(f"invalid value {strconv.quote(raw)} for flag -{name}: {problem}", problem)
    if f.kind is Kind.BOOL:
        try:
            return strconv.parse_bool(raw)
        except ValueError:
            raise FlagError(
                f"invalid boolean value {strconv.quote(raw)} for -{name}: parse error",
                "parse error",
            ) from None
    reason = "parse error"
    try:
        if f.kind is Kind.INT:
            return strconv.parse_int(raw, 0, 64)
        if f.kind is Kind.UINT:
            return strconv.parse_uint(raw, 0, 64)
        if f.kind is Kind.FLOAT:
            return parse_float(raw)
        if f.kind is Kind.DURATION:
            return parse_seconds(raw)
        if raw in f.choices:
            return raw
        reason = "invalid value"
    except strconv.NumError as e:
        reason = "value out of range" if e.err == strconv.RANGE else "parse error"
    except (DurationError, ValueError):
        pass
    raise FlagError(f"invalid value {strconv.quote(raw)} for flag -{name}: {reason}", reason)


def parse_float(s: str) -> float:
    """strconv.ParseFloat(s, 64) for the forms a flag sees: decimal and exponent, `inf`,
    `infinity`, `nan` in any case, hex floats (`0x1p-2`); no spaces, `_` only after a base
    prefix. ValueError (a NumError) otherwise; a finite value too big is out of range."""
    body = s[1:] if s[:1] in "+-" else s
    if not s or s != s.strip() or ("_" in s and not body[:2].lower() == "0x"):
        raise strconv.NumError("ParseFloat", s, strconv.SYNTAX)
    try:
        if body[:2].lower() == "0x":
            v = float.fromhex(s.replace("_", ""))
        else:
            v = float(s)
    except (ValueError, OverflowError):
        raise strconv.NumError("ParseFloat", s, strconv.SYNTAX) from None
    if math.isinf(v) and body.lower() not in ("inf", "infinity"):
        raise strconv.NumError("ParseFloat", s, strconv.RANGE)
    return v


def default_values(flags: Iterable[Flag]) -> dict[str, Value]:
    """canonical name -> default (a fresh list for LIST flags)."""
    return {f.name: list(f.default) if isinstance(f.default, list) else f.default for f in flags}


@dataclass
class FlagSet:
    """flag.FlagSet over a table. After `parse`: `values` (defaults filled in), `given` (the
    canonical names set, in order), `spelled` (the names as typed, in order of first use) and
    `args` (what follows the flags). Like Go's, it keeps what it parsed when it fails."""

    flags: tuple[Flag, ...]
    normalize: Callable[[str], str] = str  # e.g. fleet's "dashes are underscores"
    values: dict[str, Value] = field(init=False)
    given: list[str] = field(init=False, default_factory=list)
    spelled: list[str] = field(init=False, default_factory=list)
    args: list[str] = field(init=False, default_factory=list)
    _by_name: Mapping[str, Flag] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.values = default_values(self.flags)
        self._by_name = {self.normalize(n): f for f in self.flags for n in f.names}

    def lookup(self, name: str) -> Flag | None:
        return self._by_name.get(self.normalize(name))

    def parse(self, args: Iterable[str]) -> list[str]:
        """Parse flags off the front of `args`; returns (and keeps in `args`) the rest."""
        rest = list(args)
        while rest:
            s = rest[0]
            if len(s) < 2 or s[0] != "-":
                break
            minuses = 2 if s[1] == "-" else 1
            if minuses == 2 and len(s) == 2:
                rest.pop(0)
                break
            name = s[minuses:]
            if not name or name[0] in "-=":
                self.args = rest
                raise FlagError(f"bad flag syntax: {s}")
            rest.pop(0)
            name, eq, raw = name.partition("=")
            f = self.lookup(name)
            if f is None:
                self.args = rest
                if name in ("help", "h"):
                    raise HelpRequested()
                raise FlagError(f"flag provided but not defined: -{name}")
            if f.kind is Kind.BOOL:
                value = convert(f, raw, name) if eq else True
            else:
                if not eq:
                    if not rest:
                        self.args = rest
                        raise FlagError(f"flag needs an argument: -{name}")
                    raw = rest.pop(0)
                value = convert(f, raw, name)
            self.set(f, value)
            if name not in self.spelled:
                self.spelled.append(name)
        self.args = rest
        return rest

    def set(self, f: Flag, value: Value) -> None:
        """Record a converted value (a LIST flag appends it)."""
        if f.kind is Kind.LIST:
            previous = self.values.get(f.name)
            items = previous if isinstance(previous, list) else []
            value = [*items, str(value)]
        self.values[f.name] = value
        if f.name not in self.given:
            self.given.append(f.name)


def print_defaults(flags: Iterable[Flag]) -> str:
    """flag.PrintDefaults: `  -name type` then the usage on the next line, indented by a tab;
    the default in parentheses when it is not the kind's zero value."""
    lines: list[str] = []
    for f in sorted(flags, key=lambda f: f.name):
        kind_word = {
            Kind.BOOL: "",
            Kind.INT: "int",
            Kind.UINT: "uint",
            Kind.FLOAT: "float",
            Kind.DURATION: "duration",
        }.get(f.kind, "string" if f.placeholder == "value" else f.placeholder)
        head = f"  -{f.name}" + (f" {kind_word}" if kind_word else "")
        # Go puts a one-letter bool flag's usage on the same line.
        sep = "\t" if len(head) <= 4 else "\n    \t"
        text = f.usage.replace("\n", "\n    \t")
        if f.default not in ("", False, 0, 0.0, []):
            text += f" (default {_shown(f)})"
        lines.append(head + sep + text)
    return "\n".join(lines) + "\n" if lines else ""


def _shown(f: Flag) -> str:
    # How Go prints a default: strings quoted, booleans in lower case, durations as Go's.
    d = f.default
    if isinstance(d, bool):
        return "true" if d else "false"
    if isinstance(d, str):
        return strconv.quote(d)
    if f.kind is Kind.DURATION and isinstance(d, int | float):
        return format_seconds(float(d))
    if isinstance(d, float):
        return repr(d).removesuffix(".0")  # %v of a float64: 1, 0.5
    return str(d)
