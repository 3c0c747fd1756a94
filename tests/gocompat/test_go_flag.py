"""Go's flag package rules, from one table: syntax, booleans, stopping, and Go's error texts.

The error texts are the ones /usr/bin/etcd 3.4.23 (Go 1.19) prints for the same arguments.
"""

from __future__ import annotations

import pytest

from shoal.gocompat.flag import (
    FlagError,
    FlagSet,
    HelpRequested,
    Kind,
    convert,
    flag,
    parse_float,
    print_defaults,
)
from shoal.gocompat.strconv import NumError

TABLE = (
    flag("name", Kind.STRING, "default", "Human-readable name."),
    flag("count", Kind.UINT, 5, "How many."),
    flag("delta", Kind.INT, 0, "A signed number."),
    flag("ratio", Kind.FLOAT, 1.0, "A float."),
    flag("timeout", Kind.DURATION, 2.0, "How long."),
    flag("mode", Kind.CHOICE, "off", "off or on.", choices=("off", "on")),
    flag("verbose, v", Kind.BOOL, False, "Say more."),
    flag("role", Kind.LIST, [], "Repeatable."),
)


def parse(*args: str) -> FlagSet:
    fs = FlagSet(TABLE)
    fs.parse(args)
    return fs


@pytest.mark.parametrize(
    "args",
    [("-name", "x"), ("--name", "x"), ("-name=x",), ("--name=x",)],
)
def test_four_spellings_of_a_value_flag(args: tuple[str, ...]) -> None:
    assert parse(*args).values["name"] == "x"


def test_defaults_come_from_the_table_and_given_lists_what_was_set() -> None:
    fs = parse("--count", "7")
    assert fs.values == {
        "name": "default", "count": 7, "delta": 0, "ratio": 1.0, "timeout": 2.0,
        "mode": "off", "verbose": False, "role": [],
    }  # fmt: skip
    assert fs.given == ["count"]


def test_a_bare_boolean_does_not_take_the_next_argument() -> None:
    fs = parse("--verbose", "false", "rest")
    assert fs.values["verbose"] is True
    assert fs.args == ["false", "rest"]


def test_a_boolean_takes_a_value_only_after_equals() -> None:
    assert parse("-verbose=false").values["verbose"] is False
    assert parse("-v=T").values["verbose"] is True


def test_a_value_flag_takes_the_next_argument_even_if_it_looks_like_a_flag() -> None:
    assert parse("--name", "-x").values["name"] == "-x"
    assert parse("--delta", "-5").values["delta"] == -5


def test_parsing_stops_at_the_first_non_flag_and_after_double_dash() -> None:
    assert parse("--count=1", "arg", "--name", "x").args == ["arg", "--name", "x"]
    fs = parse("--count=1", "--", "--name", "x")
    assert fs.args == ["--name", "x"] and fs.values["name"] == "default"
    assert parse("-", "x").args == ["-", "x"]


def test_list_flags_accumulate() -> None:
    assert parse("--role", "a", "--role=b").values["role"] == ["a", "b"]


def test_spelled_names_are_kept_in_order_of_first_use() -> None:
    assert parse("-v", "--verbose", "--name=x").spelled == ["v", "verbose", "name"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--foo",), "flag provided but not defined: -foo"),
        (("-foo=1",), "flag provided but not defined: -foo"),
        (("--name",), "flag needs an argument: -name"),
        (("---x",), "bad flag syntax: ---x"),
        (("-=x",), "bad flag syntax: -=x"),
        (("--verbose=yes",), 'invalid boolean value "yes" for -verbose: parse error'),
        (("-v=on",), 'invalid boolean value "on" for -v: parse error'),
        (("--count", "abc"), 'invalid value "abc" for flag -count: parse error'),
        (("--count=-1",), 'invalid value "-1" for flag -count: parse error'),
        (("--count", "0x"), 'invalid value "0x" for flag -count: parse error'),
        (("--count=",), 'invalid value "" for flag -count: parse error'),
        (("--count", "18446744073709551616"),
         'invalid value "18446744073709551616" for flag -count: value out of range'),
        (("--delta", "9223372036854775808"),
         'invalid value "9223372036854775808" for flag -delta: value out of range'),
        (("--timeout", "5"), 'invalid value "5" for flag -timeout: parse error'),
        (("--ratio", "x"), 'invalid value "x" for flag -ratio: parse error'),
        (("--ratio", "1e999"), 'invalid value "1e999" for flag -ratio: value out of range'),
        (("--mode", "maybe"), 'invalid value "maybe" for flag -mode: invalid value'),
    ],
)  # fmt: skip
def test_errors_are_gos(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(FlagError) as e:
        parse(*args)
    assert e.value.message == message


@pytest.mark.parametrize("arg", ["-h", "--help", "-help=x"])
def test_help_is_asked_for_when_not_defined(arg: str) -> None:
    with pytest.raises(HelpRequested):
        parse(arg)


def test_a_failed_parse_keeps_what_came_before() -> None:
    fs = FlagSet(TABLE)
    with pytest.raises(FlagError):
        fs.parse(["--name", "x", "--bogus"])
    assert fs.values["name"] == "x" and fs.spelled == ["name"]


def test_numbers_take_gos_prefixes() -> None:
    fs = parse("--count=0x10", "--delta", "-010")
    assert (fs.values["count"], fs.values["delta"]) == (16, -8)


def test_durations_are_seconds() -> None:
    assert parse("--timeout", "1m30s").values["timeout"] == 90.0


def test_normalize_lets_dashes_mean_underscores() -> None:
    fs = FlagSet(
        (flag("disable_watches", Kind.BOOL, False),), normalize=lambda n: n.replace("-", "_")
    )
    fs.parse(["--disable-watches", "x"])
    assert fs.values["disable_watches"] is True and fs.args == ["x"]


def test_convert_names_the_flag_as_spelled() -> None:
    with pytest.raises(FlagError, match="for -v: parse error"):
        convert(TABLE[6], "maybe", "v")


@pytest.mark.parametrize(
    ("text", "value"),
    [("1.5", 1.5), ("-2", -2.0), ("1e3", 1000.0), ("0x1p-2", 0.25), ("inf", float("inf")),
     ("+Infinity", float("inf"))],
)  # fmt: skip
def test_parse_float(text: str, value: float) -> None:
    assert parse_float(text) == value


@pytest.mark.parametrize("text", ["", " 1", "1_0", "abc", "1.5x"])
def test_parse_float_refusals(text: str) -> None:
    with pytest.raises(NumError):
        parse_float(text)


def test_print_defaults_is_gos_layout() -> None:
    table = (
        flag("version", Kind.BOOL, False, "Print the version and exit"),
        flag("config", Kind.STRING, "", "Path to config file."),
        flag("ttl", Kind.DURATION, 30.0, "TTL."),
        flag("n", Kind.INT, 3, "Count."),
        flag("x", Kind.BOOL, True, "One letter."),
    )
    assert print_defaults(table) == (
        "  -config string\n    \tPath to config file.\n"
        "  -n int\n    \tCount. (default 3)\n"
        "  -ttl duration\n    \tTTL. (default 30s)\n"
        "  -version\n    \tPrint the version and exit\n"
        "  -x\tOne letter. (default true)\n"
    )
