"""A machine's journal: every unit's output, one timestamped line per entry, in one file on disk.

The node daemon is the only writer (it reads each unit's stdout/stderr pipe), so one append-only
file per machine keeps the entries of all units in the order they happened, as journald does,
and `shoal journal -u UNIT` filters by unit. Lines are tab-separated so a message may hold
anything but a newline:

    2026-11-25T20:15:01.123456+00:00<TAB>etcd2.service<TAB>1234<TAB>message

(pid 0 for the unit manager's own messages: "Started ...", "Stopped ..."). Readers print them
the way `journalctl` does by default ("short"): `Nov 25 20:15:01 coreos-01 etcd2[1234]: message`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

JOURNAL_FILE = "var/log/journal/journal.log"  # under the machine's root directory
MANAGER_PID = 0
# journald caps its files too; past this size the file becomes journal.log.1 (one generation
# kept, so a machine's journal never takes more than twice this).
MAX_SIZE = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Entry:
    time: dt.datetime
    unit: str
    pid: int
    message: str

    def encode(self) -> str:
        msg = self.message.replace("\n", " ").replace("\t", " ")
        return f"{self.time.isoformat()}\t{self.unit}\t{self.pid}\t{msg}\n"

    @staticmethod
    def decode(line: str) -> Entry | None:
        parts = line.rstrip("\n").split("\t", 3)
        if len(parts) != 4:
            return None
        try:
            return Entry(dt.datetime.fromisoformat(parts[0]), parts[1], int(parts[2]), parts[3])
        except ValueError:
            return None

    def short(self, hostname: str) -> str:
        """journalctl's default output: the identifier is the unit name without `.service`."""
        local = self.time.astimezone()
        ident = self.unit.removesuffix(".service") if self.pid else "systemd"
        pid = f"[{self.pid}]" if self.pid else "[1]"
        return f"{local.strftime('%b %d %H:%M:%S')} {hostname} {ident}{pid}: {self.message}"


def journal_path(root: Path) -> Path:
    return root / JOURNAL_FILE


class Journal:
    """The writer (the node daemon). Each write is one line appended and flushed at once, so a
    reader following the file, or a machine killed the next instant, sees every line written."""

    def __init__(self, root: Path, max_size: int = MAX_SIZE) -> None:
        self.path = journal_path(root)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_size = max_size
        self._open()

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self._size = os.fstat(self._fd).st_size

    def write(self, unit: str, pid: int, message: str) -> None:
        entry = Entry(dt.datetime.now(dt.UTC), unit, pid, message)
        data = entry.encode().encode("utf-8", "replace")
        if self._size + len(data) > self.max_size and self._size > 0:
            os.close(self._fd)
            os.replace(self.path, _previous(self.path))
            self._open()
        os.write(self._fd, data)
        self._size += len(data)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _matches(e: Entry, units: frozenset[str]) -> bool:
    return not units or e.unit in units


def read(root: Path, units: frozenset[str] = frozenset(), last: int | None = None) -> list[Entry]:
    """The entries of `units` (all when empty), oldest first; only the last `last` when given."""
    path = journal_path(root)
    keep: deque[Entry] = deque(maxlen=last)
    if last == 0:
        return []
    for p in (_previous(path), path):
        try:
            with p.open(encoding="utf-8", errors="replace") as f:
                for line in f:
                    e = Entry.decode(line)
                    if e is not None and _matches(e, units):
                        keep.append(e)
        except FileNotFoundError:
            continue
    return list(keep)


def _previous(path: Path) -> Path:
    return path.with_name(path.name + ".1")


def follow(
    root: Path, units: frozenset[str], poll: float = 0.25, stop_after: float | None = None
) -> Iterator[Entry]:
    """Entries appended from now on (the end is taken when this is called), until interrupted
    or `stop_after` seconds."""
    path = journal_path(root)
    start = path.stat().st_size if path.exists() else 0
    return _follow(path, units, start, poll, stop_after)


def _follow(
    path: Path, units: frozenset[str], pos: int, poll: float, stop_after: float | None
) -> Iterator[Entry]:
    import time

    deadline = None if stop_after is None else time.monotonic() + stop_after
    buf = ""
    while deadline is None or time.monotonic() < deadline:
        try:
            if path.stat().st_size < pos:  # rotated: the new file starts from its beginning
                pos = 0
            with path.open(encoding="utf-8", errors="replace") as f:
                f.seek(pos)
                chunk = f.read()
                pos = f.tell()
        except FileNotFoundError:
            chunk = ""
        if chunk:
            buf += chunk
            *lines, buf = buf.split("\n")
            for line in lines:
                e = Entry.decode(line)
                if e is not None and _matches(e, units):
                    yield e
        else:
            time.sleep(poll)


def hostname_of(root: Path) -> str:
    try:
        return (root / "etc" / "hostname").read_text(encoding="utf-8").strip() or "localhost"
    except OSError:
        return "localhost"
