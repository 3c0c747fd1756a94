"""Members' wall clocks under the harness's control: libfaketime (Debian's `faketime`) preloaded
into each member, reading its offset from a file of its own, so `clock-jump` can move one
member's clock forward or back while it runs.

Only the wall clock moves (CLOCK_REALTIME: what NTP stepping a clock does); the monotonic clock,
which raft's ticks and every timeout run on, is left alone (FAKETIME_DONT_FAKE_MONOTONIC), as a
real clock step leaves it. The offset file is read again at most once a second. (libfaketime
breaks Python's time.sleep under these settings, EINVAL; the member never calls it.)
"""

from __future__ import annotations

import os
from pathlib import Path

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def available() -> str | None:
    """None when members can run with a fake clock here, else why not."""
    if not os.path.exists(LIBFAKETIME):
        return f"no {LIBFAKETIME} (apt-get install faketime)"
    return None


def set_offset(clock_file: Path, seconds: float) -> None:
    """Move the member's wall clock to real time + `seconds` (within a second)."""
    clock_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = clock_file.with_suffix(".tmp")
    tmp.write_text(f"{seconds:+.0f}\n")
    os.replace(tmp, clock_file)  # never a half-written offset


def faketime_env(clock_file: Path) -> dict[str, str]:
    set_offset(clock_file, 0)
    return {
        "LD_PRELOAD": LIBFAKETIME,
        "FAKETIME_TIMESTAMP_FILE": str(clock_file),
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_CACHE_DURATION": "1",
        # Without this libfaketime 0.9.10 rewrites every pthread_cond_timedwait, which Python's
        # GIL hand-off uses: a thread round trip took ~90 ms instead of 0.1 ms, and a member
        # answered ten times slower (measured: 200 PUTs in 20 s instead of 2 s).
        "FAKETIME_FORCE_MONOTONIC_FIX": "0",
    }
