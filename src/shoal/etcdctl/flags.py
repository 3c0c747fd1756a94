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

from dataclasses import dataclass

from shoal.gocompat.flag import Flag, FlagError, FlagSet, Value


class UsageError(Exception):
    """Bad flags: the caller prints etcdctl's "Incorrect Usage" and exits 1."""


class TwoFormsError(UsageError):
    """Two names of one flag used together (`-o x --output y`): urfave reports this without
    the "Incorrect Usage" prefix at the top level."""


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


def parse(flags: tuple[Flag, ...], args: list[str]) -> Parsed:
    """Go's FlagSet.Parse: flags first, stopping at the first non-flag or after `--`; then
    urfave's check that no flag was given under two of its names."""
    fs = FlagSet(flags)
    try:
        fs.parse(args)
    except FlagError as e:
        raise UsageError(e.message) from None
    finally:  # urfave checks the names even when parsing failed part way
        _check_one_form(flags, fs.spelled)
    return Parsed(fs.values, set(fs.given), fs.args)


def _check_one_form(flags: tuple[Flag, ...], used: list[str]) -> None:
    for f in flags:
        seen = [n for n in f.names if n in used]
        if len(f.names) > 1 and len(seen) > 1:
            raise TwoFormsError(f"Cannot use two forms of the same flag: {seen[1]} {seen[0]}")


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
