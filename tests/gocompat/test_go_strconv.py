"""strconv's ParseBool, ParseInt, ParseUint and Quote behave as Go documents them."""

from __future__ import annotations

import pytest

from shoal.gocompat.strconv import (
    RANGE,
    SYNTAX,
    NumError,
    parse_bool,
    parse_int,
    parse_uint,
    quote,
)


@pytest.mark.parametrize("text", ["1", "t", "T", "TRUE", "true", "True"])
def test_parse_bool_accepts_exactly_six_spellings_of_true(text: str) -> None:
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["0", "f", "F", "FALSE", "false", "False"])
def test_parse_bool_accepts_exactly_six_spellings_of_false(text: str) -> None:
    assert parse_bool(text) is False


@pytest.mark.parametrize("text", ["", "yes", "no", "on", "off", "tRUE", "y", " true", "2"])
def test_parse_bool_refuses_everything_else_with_gos_text(text: str) -> None:
    with pytest.raises(NumError) as e:
        parse_bool(text)
    assert str(e.value) == f'strconv.ParseBool: parsing "{text}": invalid syntax'


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0), ("10", 10), ("010", 8), ("0o17", 15), ("0x1F", 31), ("0b101", 5),
        ("1_000", 1000), ("0x_1f", 31), ("18446744073709551615", 2**64 - 1),
    ],
)  # fmt: skip
def test_parse_uint_base_zero_reads_gos_prefixes(text: str, value: int) -> None:
    assert parse_uint(text, 0) == value


@pytest.mark.parametrize(
    ("text", "err"),
    [
        ("", SYNTAX), ("+1", SYNTAX), ("-1", SYNTAX), ("0x", SYNTAX), ("09", SYNTAX),
        ("1__0", SYNTAX), ("_1", SYNTAX), ("1_", SYNTAX), (" 1", SYNTAX),
        ("18446744073709551616", RANGE),
    ],
)  # fmt: skip
def test_parse_uint_refusals(text: str, err: str) -> None:
    with pytest.raises(NumError) as e:
        parse_uint(text, 0)
    assert e.value.err == err


def test_underscores_need_base_zero() -> None:
    with pytest.raises(NumError):
        parse_uint("1_000", 10)


@pytest.mark.parametrize(
    ("text", "value"),
    [("-5", -5), ("+5", 5), ("-0x10", -16), ("9223372036854775807", 2**63 - 1),
     ("-9223372036854775808", -(2**63))],
)  # fmt: skip
def test_parse_int_takes_a_sign(text: str, value: int) -> None:
    assert parse_int(text, 0) == value


@pytest.mark.parametrize(
    ("text", "err"),
    [("9223372036854775808", RANGE), ("-9223372036854775809", RANGE), ("--1", SYNTAX),
     ("-", SYNTAX), ("abc", SYNTAX)],
)  # fmt: skip
def test_parse_int_refusals_name_parseint(text: str, err: str) -> None:
    with pytest.raises(NumError) as e:
        parse_int(text, 0)
    assert e.value.err == err
    assert str(e.value).startswith(f"strconv.ParseInt: parsing {quote(text)}: ")


def test_bits_bound_the_range() -> None:
    assert parse_int("127", 10, 8) == 127
    with pytest.raises(NumError):
        parse_int("128", 10, 8)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("abc", '"abc"'), ('a"b\\', '"a\\"b\\\\"'), ("\n\t\x07", '"\\n\\t\\a"'),
        ("\x01\x7f", '"\\x01\\x7f"'), ("héllo ☺", '"héllo ☺"'), ("\u00a0", '"\\u00a0"'),
        (b"\xff".decode("utf-8", "surrogateescape"), '"\\xff"'),
    ],
)  # fmt: skip
def test_quote_escapes_what_go_escapes(text: str, quoted: str) -> None:
    assert quote(text) == quoted
