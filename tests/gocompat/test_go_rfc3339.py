"""time.RFC3339 / RFC3339Nano as Go's Time.Format prints them."""

from __future__ import annotations

import time

import pytest

from shoal.gocompat.rfc3339 import rfc3339, rfc3339nano, unix_ns

T = 1_500_000_000  # 2017-07-14T02:40:00Z


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (T * 10**9, "2017-07-14T02:40:00Z"),
        (T * 10**9 + 120_000_000, "2017-07-14T02:40:00.12Z"),
        (T * 10**9 + 1, "2017-07-14T02:40:00.000000001Z"),
        (0, "1970-01-01T00:00:00Z"),
    ],
)
def test_rfc3339nano_trims_the_fraction(ns: int, text: str) -> None:
    assert rfc3339nano(ns) == text


def test_rfc3339_has_whole_seconds_only() -> None:
    assert rfc3339(T * 10**9 + 999_999_999) == "2017-07-14T02:40:00Z"


def test_local_zone_prints_its_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert rfc3339nano(T * 10**9 + 5 * 10**8, local=True) == "2017-07-14T08:10:00.5+05:30"
        assert rfc3339(T * 10**9 + 1, local=True) == "2017-07-14T08:10:00+05:30"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_negative_offsets_and_utc_as_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert rfc3339((T + 1) * 10**9, local=True) == "2017-07-13T22:40:01-04:00"
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()
        assert rfc3339((T + 2) * 10**9, local=True) == "2017-07-14T02:40:02Z"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_unix_ns_of_a_float_time() -> None:
    assert unix_ns(1.5) == 1_500_000_000
