"""time.ParseDuration and Duration.String, checked against the cases Go's own tests list."""

from __future__ import annotations

import pytest

from shoal.gocompat.duration import (
    HOUR,
    MICROSECOND,
    MILLISECOND,
    MINUTE,
    SECOND,
    DurationError,
    format_duration,
    format_seconds,
    parse_duration,
    parse_seconds,
)

MAX = 2**63 - 1


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("0", 0), ("5s", 5 * SECOND), ("30s", 30 * SECOND), ("1478s", 1478 * SECOND),
        ("-5s", -5 * SECOND), ("+5s", 5 * SECOND), ("-0", 0), ("+0", 0),
        ("5.0s", 5 * SECOND), ("5.6s", 5 * SECOND + 600 * MILLISECOND), ("5.s", 5 * SECOND),
        (".5s", 500 * MILLISECOND), ("1.004s", SECOND + 4 * MILLISECOND),
        ("100.00100s", 100 * SECOND + MILLISECOND),
        ("10ns", 10), ("11us", 11 * MICROSECOND), ("12\u00b5s", 12 * MICROSECOND),
        ("12\u03bcs", 12 * MICROSECOND), ("13ms", 13 * MILLISECOND), ("15m", 15 * MINUTE),
        ("16h", 16 * HOUR), ("3h30m", 3 * HOUR + 30 * MINUTE),
        ("10.5s4m", 4 * MINUTE + 10 * SECOND + 500 * MILLISECOND),
        ("-2m3.4s", -(2 * MINUTE + 3 * SECOND + 400 * MILLISECOND)),
        ("1h2m3s4ms5us6ns", HOUR + 2 * MINUTE + 3 * SECOND + 4 * MILLISECOND + 5000 + 6),
        ("39h9m14.425s", 39 * HOUR + 9 * MINUTE + 14 * SECOND + 425 * MILLISECOND),
        ("52763797000ns", 52763797000), ("0.3333333333333333333h", 20 * MINUTE),
        ("9007199254740993ns", (1 << 53) + 1), ("9223372036854775807ns", MAX),
        ("9223372036854775.807us", MAX), ("9223372036s854ms775us807ns", MAX),
        ("-9223372036854775808ns", -(2**63)), ("-2562047h47m16.854775808s", -(2**63)),
        ("0.100000000000000000000h", 6 * MINUTE),
        ("0.830103483285477580700h", 49 * MINUTE + 48 * SECOND + 372539827),
        ("000000000000000000000001s", SECOND),
    ],
)  # fmt: skip
def test_parse_duration_accepts_gos_grammar(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize(
    "text",
    ["", "-", "s", ".", "-.", ".s", "+.s", "9223372036854775808ns",
     "9223372036854775.808us", "9223372036854ms775us808ns", "-9223372036854775809ns", " 1s"],
)  # fmt: skip
def test_parse_duration_refuses_with_invalid_duration(text: str) -> None:
    with pytest.raises(DurationError) as e:
        parse_duration(text)
    assert str(e.value) == f'time: invalid duration "{text}"'


def test_a_bare_number_is_missing_its_unit() -> None:
    with pytest.raises(DurationError, match=r'^time: missing unit in duration "3"$'):
        parse_duration("3")
    with pytest.raises(DurationError, match=r'^time: missing unit in duration "1.5.s"$'):
        parse_duration("1.5.s")


def test_an_unknown_unit_is_named() -> None:
    with pytest.raises(DurationError, match=r'^time: unknown unit "d" in duration "1d"$'):
        parse_duration("1d")
    with pytest.raises(DurationError, match=r'^time: unknown unit "S" in duration "2S"$'):
        parse_duration("2S")
    # A unit runs to the next digit or point, so a sign or a space becomes part of it.
    with pytest.raises(DurationError, match=r'^time: unknown unit "m-" in duration "3m-2s"$'):
        parse_duration("3m-2s")
    with pytest.raises(DurationError, match=r'^time: unknown unit "s " in duration "1s "$'):
        parse_duration("1s ")


def test_non_ascii_input_is_quoted_as_bytes() -> None:
    with pytest.raises(DurationError) as e:
        parse_duration("é")
    assert str(e.value) == 'time: invalid duration "\\xc3\\xa9"'


def test_seconds_helper() -> None:
    assert parse_seconds("1m30s") == 90.0
    assert parse_seconds("500ms") == 0.5


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"), (1, "1ns"), (1100, "1.1\u00b5s"), (2200 * MICROSECOND, "2.2ms"),
        (3300 * MILLISECOND, "3.3s"), (500 * MILLISECOND, "500ms"),
        (1500 * MILLISECOND, "1.5s"), (2 * MINUTE, "2m0s"), (HOUR, "1h0m0s"),
        (4 * MINUTE + 5 * SECOND, "4m5s"), (4 * MINUTE + 5001 * MILLISECOND, "4m5.001s"),
        (5 * HOUR + 6 * MINUTE + 7001 * MILLISECOND, "5h6m7.001s"),
        (8 * MINUTE + 1, "8m0.000000001s"), (MAX, "2562047h47m16.854775807s"),
        (-(2**63), "-2562047h47m16.854775808s"), (-1500 * MILLISECOND, "-1.5s"),
    ],
)  # fmt: skip
def test_duration_string_is_gos(ns: int, text: str) -> None:
    assert format_duration(ns) == text


def test_format_seconds_rounds_to_the_nanosecond() -> None:
    assert format_seconds(1.5) == "1.5s"
    assert format_seconds(3723.25) == "1h2m3.25s"
    assert format_seconds(0.25) == "250ms"
