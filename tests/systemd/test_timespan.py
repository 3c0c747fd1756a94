"""systemd time spans, as systemd.time(7) defines them."""

from __future__ import annotations

import math

import pytest

from shoal.systemd.timespan import TimespanError, format_timespan, parse_timespan


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5", 5.0),
        ("0", 0.0),
        ("90s", 90.0),
        ("5min 20s", 320.0),
        ("5min20s", 320.0),
        ("1h30min", 5400.0),
        ("2 h", 7200.0),
        ("100ms", 0.1),
        ("100msec", 0.1),
        ("1.5s", 1.5),
        ("500us", 0.0005),
        ("1d", 86400.0),
        ("1w", 604800.0),
        ("1M", 30.44 * 86400),
        ("1y", 365.25 * 86400),
        ("1m", 60.0),  # m is minutes, M months
        (" 3 seconds ", 3.0),
        ("2minutes 1second", 121.0),
        ("5s 3", 8.0),  # a unit-less component takes the default unit anywhere
    ],
)
def test_parse_timespan(text: str, seconds: float) -> None:
    assert parse_timespan(text) == pytest.approx(seconds)


def test_infinity() -> None:
    assert parse_timespan("infinity") == math.inf


def test_bare_number_uses_the_default_unit() -> None:
    assert parse_timespan("250", default_unit="ms") == pytest.approx(0.25)


@pytest.mark.parametrize("text", ["", "abc", "5 parsecs", "-5s", "1.2.3s", "5mins"])
def test_invalid_timespans(text: str) -> None:
    with pytest.raises(TimespanError):
        parse_timespan(text)


def test_format_timespan() -> None:
    assert format_timespan(90) == "1min 30s"
    assert format_timespan(0.1) == "100ms"
    assert format_timespan(math.inf) == "infinity"
