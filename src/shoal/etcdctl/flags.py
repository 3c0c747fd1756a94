"""Flag parsing as etcdctl's stack does it: Go's `flag` package under urfave/cli v1.22.

What users rely on (checked against /usr/bin/etcdctl 3.4.23):
- `-flag`, `--flag`, `-flag=v`, `--flag=v`, and `--flag v` for non-boolean flags; a value flag
  takes the next argument even when it starts with `-` (`--ttl -5`).
- Global flags go before the command and stop at the first non-flag.
- Command flags may come after positional arguments: urfave moves known flags (and the value
  after a value flag) to the front; `--` ends flags and is dropped; an unknown flag after a
  positional argument is a positional argument (`get /a --bogus` gets /a).
- Error texts are Go's: `flag provided but not defined: -x`, `flag needs an argument: -x`,
  `invalid value "v" for flag -x: parse error`, `invalid boolean value "v" for -x: parse error`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from shoal.etcdctl.spec import Flag, Kind


class UsageError(Exception):
    """Bad flags: the caller prints etcdctl's "Incorrect Usage" and exits 1."""


class TwoFormsError(UsageError):
    """Two names of one flag used together (`-o x --output y`): urfave reports this without
    the "Incorrect Usage" prefix at the top level."""


Value = bool | str | int | float | list[str]


@dataclass
class Parsed:
    values: dict[str, Value]  # canonical flag name -> value (defaults filled in)
    given: set[str]  # canonical names the user set
    args: list[str]

    def get_bool(self, name: str) -> bool:
        return bool(self.values[name])

    def get_str(self, name: str) -> str:
        return str(self.values[name])

    def get_list(self, name: str) -> list[str]:
        v = self.values[name]
        assert isinstance(v, list)
        return v

    def get_int(self, name: str) -> int:
        v = self.values[name]
        assert isinstance(v, int)
        return v

    def get_seconds(self, name: str) -> float:
        v = self.values[name]
        assert isinstance(v, float)
        return v


def go_quote(s: str) -> str:
    """Go's %q for the strings that show up in flag errors."""
    return json.dumps(s, ensure_ascii=False)


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_go_bool(raw: str) -> bool | None:
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    return None


def parse_go_int(raw: str) -> int | None:
    """strconv.ParseInt(raw, 0, 64): sign, 0x/0o/0b prefixes, a leading 0 means octal."""
    m = re.fullmatch(r"([+-]?)(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]*|0[bB][01_]+|[1-9][0-9]*)", raw)
    if m is None:
        return None
    sign, body = m.groups()
    digits = body.replace("_", "")
    if "_" in body and not re.match(r"0[xXoObB]?", body):
        return None
    if digits[:2].lower() in ("0x", "0o", "0b"):
        base = {"x": 16, "o": 8, "b": 2}[digits[1].lower()]
        value = int(digits[2:], base) if digits[2:] else None
    elif len(digits) > 1 and digits[0] == "0":
        value = int(digits[1:], 8)
    else:
        value = int(digits)
    if value is None:
        return None
    value = -value if sign == "-" else value
    if not -(2**63) <= value < 2**63:
        return None
    return value


_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(raw: str) -> float | None:
    """time.ParseDuration, in seconds: `2s`, `1m30s`, `500ms`, `0`; a bare number is invalid."""
    s = raw
    sign = 1.0
    if s[:1] in "+-" and s:
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        return None
    total = 0.0
    pos = 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if m is None:
            return None
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return sign * total


def _convert(flag: Flag, raw: str, name: str) -> Value:
    if flag.kind is Kind.STRING:
        return raw
    if flag.kind is Kind.INT:
        value: Value | None = parse_go_int(raw)
    else:
        value = parse_go_duration(raw)
    if value is None:
        raise UsageError(f"invalid value {go_quote(raw)} for flag -{name}: parse error")
    return value


def defaults(flags: tuple[Flag, ...]) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for f in flags:
        if f.kind is Kind.BOOL:
            out[f.name] = False
        elif f.kind is Kind.STRING:
            out[f.name] = f.default
        elif f.kind is Kind.LIST:
            out[f.name] = []
        else:
            converted = _convert(f, f.default, f.name)
            out[f.name] = converted
    return out


def parse(flags: tuple[Flag, ...], args: list[str]) -> Parsed:
    """Go's FlagSet.Parse: flags first, stopping at the first non-flag or after `--`; then
    urfave's check that no flag was given under two of its names."""
    used: list[str] = []
    parsed = Parsed(defaults(flags), set(), [])
    try:
        _parse_into(flags, args, parsed, used)
    finally:  # urfave checks the names even when parsing failed part way
        _check_one_form(flags, used)
    return parsed


def _check_one_form(flags: tuple[Flag, ...], used: list[str]) -> None:
    for f in flags:
        seen = [n for n in f.names if n in used]
        if len(f.names) > 1 and len(seen) > 1:
            raise TwoFormsError(f"Cannot use two forms of the same flag: {seen[1]} {seen[0]}")


def _parse_into(flags: tuple[Flag, ...], args: list[str], parsed: Parsed, used: list[str]) -> None:
    by_name = {n: f for f in flags for n in f.names}
    i = 0
    while i < len(args):
        s = args[i]
        if len(s) < 2 or s[0] != "-":
            break
        minuses = 2 if s[1] == "-" else 1
        if minuses == 2 and len(s) == 2:
            i += 1
            break
        name = s[minuses:]
        if not name or name[0] in "-=":
            raise UsageError(f"bad flag syntax: {s}")
        i += 1
        raw: str | None = None
        if "=" in name:
            name, raw = name.split("=", 1)
        flag = by_name.get(name)
        if flag is None:
            raise UsageError(f"flag provided but not defined: -{name}")
        if flag.kind is Kind.BOOL:
            value: Value = True
            if raw is not None:
                b = parse_go_bool(raw)
                if b is None:
                    raise UsageError(
                        f"invalid boolean value {go_quote(raw)} for -{name}: parse error"
                    )
                value = b
        else:
            if raw is None:
                if i >= len(args):
                    raise UsageError(f"flag needs an argument: -{name}")
                raw = args[i]
                i += 1
            if flag.kind is Kind.LIST:
                previous = parsed.values[flag.name]
                value = [*previous, raw] if isinstance(previous, list) else [raw]
            else:
                value = _convert(flag, raw, name)
        parsed.values[flag.name] = value
        parsed.given.add(flag.name)
        if name not in used:
            used.append(name)
    parsed.args = args[i:]


def _is_flag(flags: tuple[Flag, ...], arg: str) -> bool:
    if arg in ("-", "--") or not arg.startswith("-"):
        return False
    name = arg[2:] if arg.startswith("--") else arg[1:]
    name = name.split("=", 1)[0]
    return any(name == n for f in flags for n in f.names)


def reorder(flags: tuple[Flag, ...], args: list[str]) -> list[str]:
    """urfave/cli's reorderArgs: known flags (and a following value) first, `--` kept in front
    of what follows it so Go's parser drops it."""
    moved: list[str] = []
    rest: list[str] = []
    value_may_follow = False
    for i, arg in enumerate(args):
        if value_may_follow and not _is_flag(flags, arg):
            value_may_follow = False
            moved.append(arg)
        elif arg == "--":
            rest = ["--", *rest, *args[i + 1 :]]
            break
        elif _is_flag(flags, arg):
            moved.append(arg)
            value_may_follow = "=" not in arg
        else:
            rest.append(arg)
    return moved + rest


def parse_command(flags: tuple[Flag, ...], args: list[str]) -> Parsed:
    return parse(flags, reorder(flags, args))
