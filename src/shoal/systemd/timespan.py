"""systemd time spans (`5min 20s`, `1.5h`, `infinity`) as seconds.

The units and their sizes are systemd's (`parse_time()` in src/basic/time-util.c, documented in
systemd.time(7)): a month is 30.44 days and a year 365.25 days, as systemd defines them. Components
may be separated by spaces or written together (`1h30min`); a bare number uses the option's default
unit, which is seconds for every `...Sec=` option shoal reads.
"""

from __future__ import annotations

import math
import re

_USEC = 1e-6
_MINUTE = 60.0
_HOUR = 3600.0
_DAY = 86400.0

# Longest names first so `msec` is not read as `m` + `sec`.
_UNITS: dict[str, float] = {
    "usec": _USEC,
    "us": _USEC,
    "µs": _USEC,
    "μs": _USEC,
    "msec": 1e-3,
    "ms": 1e-3,
    "seconds": 1.0,
    "second": 1.0,
    "sec": 1.0,
    "s": 1.0,
    "minutes": _MINUTE,
    "minute": _MINUTE,
    "min": _MINUTE,
    "m": _MINUTE,
    "hours": _HOUR,
    "hour": _HOUR,
    "hr": _HOUR,
    "h": _HOUR,
    "days": _DAY,
    "day": _DAY,
    "d": _DAY,
    "weeks": 7 * _DAY,
    "week": 7 * _DAY,
    "w": 7 * _DAY,
    "months": 30.44 * _DAY,
    "month": 30.44 * _DAY,
    "M": 30.44 * _DAY,
    "years": 365.25 * _DAY,
    "year": 365.25 * _DAY,
    "y": 365.25 * _DAY,
}

_COMPONENT = re.compile(
    r"\s*(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<unit>"
    + "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
    + r")?(?![A-Za-z])"
)


class TimespanError(ValueError):
    """The text is not a systemd time span."""


def parse_timespan(text: str, default_unit: str = "s") -> float:
    """Seconds in `text`; `infinity` gives math.inf. Raises TimespanError with the text."""
    s = text.strip()
    if s == "infinity":
        return math.inf
    if not s:
        raise TimespanError(f"invalid time span {text!r}: empty")
    if s.startswith("-"):
        raise TimespanError(f"invalid time span {text!r}: negative")
    total = 0.0
    pos = 0
    while pos < len(s):
        m = _COMPONENT.match(s, pos)
        if m is None or m.end() == pos:
            raise TimespanError(f"invalid time span {text!r}")
        unit = m.group("unit")
        if unit is None:
            if m.end() < len(s) and not s[m.end()].isspace():
                raise TimespanError(f"invalid time span {text!r}")
            unit = default_unit
        total += float(m.group("num")) * _UNITS[unit]
        pos = m.end()
        while pos < len(s) and s[pos].isspace():
            pos += 1
    return total


def format_timespan(seconds: float) -> str:
    """A short human form (`1min 30s`, `100ms`, `infinity`) as `systemctl show` prints spans."""
    if math.isinf(seconds):
        return "infinity"
    if seconds == 0:
        return "0"
    parts: list[str] = []
    rest = seconds
    for name, size in (("d", _DAY), ("h", _HOUR), ("min", _MINUTE), ("s", 1.0)):
        if rest >= size:
            n = int(rest // size)
            parts.append(f"{n}{name}")
            rest -= n * size
    ms = round(rest * 1000)
    if ms:
        parts.append(f"{ms}ms")
    return " ".join(parts)
