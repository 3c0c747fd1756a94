"""Is a process alive, is it a zombie, reap it: answers from kill(2), /proc and waitpid(2).

A zombie (state `Z` in /proc/PID/stat) has exited and only waits for its parent to collect its
status; for a supervisor it is gone. Without /proc (not Linux) nothing counts as a zombie.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable


def state(pid: int) -> str | None:
    """The state letter of /proc/PID/stat (`R`, `S`, `Z`, ...), None when it cannot be read."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def is_zombie(pid: int) -> bool:
    return state(pid) == "Z"


def pid_alive(pid: int) -> bool:
    """The pid exists (another user's counts) and is not a zombie."""
    exists = _signal_zero(os.kill, pid)
    return exists if exists is not None else not is_zombie(pid)


def pgid_alive(pgid: int) -> bool:
    """Some process of the group exists and is not a zombie."""
    exists = _signal_zero(os.killpg, pgid)
    # Only zombies (children not yet reaped, e.g. by asyncio's watcher) left? Then it is gone.
    return exists if exists is not None else not _group_all_zombies(pgid)


def _signal_zero(kill: Callable[[int, int], None], target: int) -> bool | None:
    # kill(target, 0): False if nothing is there, True if it is someone else's (we may not ask
    # /proc about it), None if it is there and ours to look at.
    try:
        kill(target, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return None


def _group_all_zombies(pgid: int) -> bool:
    try:
        entries = os.listdir("/proc")
    except OSError:
        return False
    for e in entries:
        if not e.isdigit():
            continue
        fields = _stat_fields(int(e))
        if fields is not None and len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return False
    return True


def _stat_fields(pid: int) -> list[str] | None:
    # /proc/PID/stat is "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses,
    # so the fields start after the last ")".
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields or None


def reap(pid: int) -> int | None:
    """Collect our exited child without blocking: its wait status, or None (still running, or
    not our child)."""
    with contextlib.suppress(ChildProcessError, OSError):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return status
    return None


def wait_gone(pids: Iterable[int], timeout: float, poll: float = 0.05) -> bool:
    """Reap and poll until none of `pids` is alive (True) or `timeout` seconds pass (False)."""
    left = set(pids)
    deadline = time.monotonic() + timeout
    while True:
        for p in left:
            reap(p)
        left = {p for p in left if pid_alive(p)}
        if not left:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
