"""Go's time.Time.Format with time.RFC3339 and time.RFC3339Nano, from Unix nanoseconds.

RFC3339 is `2006-01-02T15:04:05Z07:00` (whole seconds); RFC3339Nano adds `.999999999`, the
fraction without trailing zeros and left out when zero. The zone prints `Z` at offset zero, else
`+hh:mm` / `-hh:mm`. etcd formats expirations in UTC and its stats' times in the local zone.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Final

NS_PER_SECOND: Final = 1_000_000_000


def rfc3339(ns: int, *, local: bool = False) -> str:
    """time.RFC3339 of Unix nanoseconds, in UTC (or the local zone)."""
    sec = ns // NS_PER_SECOND
    stamp, zone = _date_time(sec, local)
    return stamp + zone


def rfc3339nano(ns: int, *, local: bool = False) -> str:
    """time.RFC3339Nano of Unix nanoseconds, in UTC (or the local zone)."""
    sec, frac = divmod(ns, NS_PER_SECOND)
    stamp, zone = _date_time(sec, local)
    if frac:
        return f"{stamp}.{frac:09d}".rstrip("0") + zone
    return stamp + zone


def unix_ns(seconds: float) -> int:
    """A `time.time()` value as Unix nanoseconds."""
    return round(seconds * NS_PER_SECOND)


@lru_cache(maxsize=1024)
def _date_time(sec: int, local: bool) -> tuple[str, str]:
    # Cached: the store's expirations cluster around "now", and formatting is most of the cost.
    t = time.localtime(sec) if local else time.gmtime(sec)
    stamp = (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
        f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    )
    off = t.tm_gmtoff if local else 0
    if not off:
        return stamp, "Z"
    sign = "+" if off > 0 else "-"
    off = abs(off)
    return stamp, f"{sign}{off // 3600:02d}:{off % 3600 // 60:02d}"
