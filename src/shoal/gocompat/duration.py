"""Go's time.ParseDuration and time.Duration.String, on integer nanoseconds as Go keeps them.

The grammar is `[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+` with units ns, us, µs (U+00B5), μs (U+03BC), ms,
s, m, h; a lone "0" needs no unit; the total must fit in an int64 of nanoseconds. Error texts are
Go's (Go 1.15 and later quote the input): `time: invalid duration "x"`, `time: missing unit in
duration "1"`, `time: unknown unit "d" in duration "1d"`.
"""

from __future__ import annotations

from typing import Final

NANOSECOND: Final = 1
MICROSECOND: Final = 1000
MILLISECOND: Final = 1000 * MICROSECOND
SECOND: Final = 1000 * MILLISECOND
MINUTE: Final = 60 * SECOND
HOUR: Final = 60 * MINUTE

_UNITS: Final = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "\u00b5s": MICROSECOND,  # micro sign
    "\u03bcs": MICROSECOND,  # Greek mu
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}
_MAX: Final = 1 << 63


class DurationError(ValueError):
    """ParseDuration refused its input; `str()` is Go's error text."""


def parse_duration(s: str) -> int:
    """time.ParseDuration: the duration in nanoseconds, or DurationError with Go's text."""
    orig = s
    invalid = DurationError(f"time: invalid duration {_quote(orig)}")
    neg = False
    if s and s[0] in "+-":
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise invalid
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise invalid
        i = _digits(s, 0)
        pre = i > 0
        whole = s[:i].lstrip("0")
        if len(whole) > 19:
            raise invalid  # Go's leadingInt overflows (leading zeros do not count)
        v = int(whole or "0")
        if v > _MAX:
            raise invalid
        s = s[i:]
        frac, scale, post = 0, 1.0, False
        if s and s[0] == ".":
            s = s[1:]
            j = _digits(s, 0)
            post = j > 0
            frac, scale = _leading_fraction(s[:j])
            s = s[j:]
        if not pre and not post:
            raise invalid  # no digits at all, e.g. ".s"
        k = 0
        while k < len(s) and not (s[k] == "." or "0" <= s[k] <= "9"):
            k += 1
        if k == 0:
            raise DurationError(f"time: missing unit in duration {_quote(orig)}")
        unit_name, s = s[:k], s[k:]
        unit = _UNITS.get(unit_name)
        if unit is None:
            raise DurationError(
                f"time: unknown unit {_quote(unit_name)} in duration {_quote(orig)}"
            )
        if v > _MAX // unit:
            raise invalid
        v *= unit
        if frac > 0:
            # Go computes the fraction's share in float64, truncating toward zero.
            v += int(float(frac) * (float(unit) / scale))
            if v > _MAX:
                raise invalid
        total += v
        if total > _MAX:
            raise invalid
    if neg:
        return -total
    if total > _MAX - 1:
        raise invalid
    return total


def _digits(s: str, i: int) -> int:
    while i < len(s) and "0" <= s[i] <= "9":
        i += 1
    return i


def _leading_fraction(digits: str) -> tuple[int, float]:
    # Go keeps the digits that fit below 2**63 and ignores the rest (they cannot matter).
    x, scale = 0, 1.0
    for c in digits:
        y = x * 10 + ord(c) - ord("0")
        if x > (_MAX - 1) // 10 or y > _MAX:
            break
        x, scale = y, scale * 10
    return x, scale


def _quote(s: str) -> str:
    # The time package's own quoting: non-ASCII and control bytes as \xHH, in UTF-8.
    out = ['"']
    for ch in s:
        if ord(ch) >= 0x80 or ch < " ":
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogateescape"))
        else:
            if ch in '"\\':
                out.append("\\")
            out.append(ch)
    out.append('"')
    return "".join(out)


def parse_seconds(s: str) -> float:
    """ParseDuration in seconds, for callers that keep time as float seconds."""
    return parse_duration(s) / SECOND


def format_duration(ns: int) -> str:
    """time.Duration.String: `1h2m3.5s`, `2m0s`, `1.5s`, `500ms`, `1.2µs`, `0s`; under a second
    in the largest unit that keeps an integer part, no trailing zeros after the point."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = -ns if ns < 0 else ns
    if u < SECOND:
        if u < MICROSECOND:
            return f"{sign}{u}ns"
        if u < MILLISECOND:
            return f"{sign}{_frac(u, 3)}\u00b5s"
        return f"{sign}{_frac(u, 6)}ms"
    secs = _frac(u % MINUTE, 9)
    minutes, hours = u // MINUTE % 60, u // HOUR
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if u >= MINUTE:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


def format_seconds(seconds: float) -> str:
    """Duration.String of a float number of seconds (rounded to the nanosecond)."""
    return format_duration(round(seconds * SECOND))


def _frac(v: int, prec: int) -> str:
    # v / 10**prec with the fraction's trailing zeros (and a bare point) left out.
    whole, frac = divmod(v, 10**prec)
    digits = f"{frac:0{prec}d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)
