"""etcd's capnslog line format as a logging.Formatter, and the one log setup every daemon uses.

etcd 3.4 (with its default `--logger=capnslog`) prints `2006-01-02 15:04:05.000000 I | pkg: msg`:
local time to the microsecond, one level letter, and the package that logged. Here the package is
the logger's name without its `shoal.` prefix: `shoal.wal` logs as `wal`, `shoal.rafthttp` as
`rafthttp`. A message therefore never repeats its package, and an exception adds its text to the
line (`msg: connection refused`), with Python's traceback only at debug level.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Final, TextIO

# capnslog's NOTICE sits between INFO and WARNING; etcd's discovery reports progress with it.
NOTICE: Final = 25
logging.addLevelName(NOTICE, "NOTICE")
# capnslog's level letters (capnslog/logmap.go's LogLevel.Char).
_LETTERS: Final = {
    logging.DEBUG: "D",
    logging.INFO: "I",
    NOTICE: "N",
    logging.WARNING: "W",
    logging.ERROR: "E",
    logging.CRITICAL: "C",
}
# etcd's --log-level names (and capnslog's) -> Python's levels.
LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": NOTICE,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "panic": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}
ROOT: Final = "shoal"


def level_of(name: str) -> int:
    """An etcd log-level name as a logging level (unknown names mean info, as in etcd)."""
    return LEVELS.get(name.lower(), logging.INFO)


def logger(pkg: str) -> logging.Logger:
    """The logger whose lines carry `pkg` (`logger("etcdserver")` is `shoal.etcdserver`)."""
    return logging.getLogger(f"{ROOT}.{pkg}")


def package_of(name: str) -> str:
    """The capnslog package a logger's lines show: its name without the `shoal.` prefix."""
    if name.startswith(ROOT + "."):
        return name[len(ROOT) + 1 :]
    return name


def stamp(t: float) -> str:
    """capnslog's timestamp: local time, microseconds."""
    micros = int(t % 1 * 1e6)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) + f".{micros:06d}"


class CapnslogFormatter(logging.Formatter):
    """Formats a record as one capnslog line (without the newline)."""

    def format(self, record: logging.LogRecord) -> str:
        letter = _LETTERS.get(record.levelno) or _LETTERS[_nearest(record.levelno)]
        msg = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            msg = f"{msg}: {exc}" if str(exc) else f"{msg}: {type(exc).__name__}"
            if logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
                msg += "\n" + self.formatException(record.exc_info)
        return f"{stamp(record.created)} {letter} | {package_of(record.name)}: {msg}"


def _nearest(levelno: int) -> int:
    return max((lv for lv in _LETTERS if lv <= levelno), default=logging.DEBUG)


class _Handler(logging.Handler):
    """The handler `setup` installs (so a second setup replaces it instead of doubling lines).
    Without a stream of its own it writes to whatever `sys.stderr` is at the time."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            out = self.stream if self.stream is not None else sys.stderr
            out.write(self.format(record) + "\n")
            out.flush()
        except Exception:  # a log line must never take the daemon down
            self.handleError(record)


def setup(level: str | int = "info", stream: TextIO | None = None) -> None:
    """Send every log record of this process, shoal's and its libraries', to `stream` (stderr)
    as capnslog lines at `level` and above. Idempotent: one handler, on the root logger."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, _Handler):
            root.removeHandler(h)
    handler = _Handler(stream)
    handler.setFormatter(CapnslogFormatter())
    root.addHandler(handler)
    set_level(level)
    # aiohttp logs each access and client disconnect at info; etcd prints neither.
    logging.getLogger("aiohttp").setLevel(logging.WARNING)


def ensure_setup() -> None:
    """`setup("info")` unless a capnslog handler is already installed: library code that logs
    etcd's lines (a member run in-process, e.g. by a test) prints them without an entry point."""
    if not any(isinstance(h, _Handler) for h in logging.getLogger().handlers):
        setup("info")


def set_level(level: str | int) -> None:
    """Change the level of shoal's loggers (etcd's --log-level / --debug)."""
    lv = level_of(level) if isinstance(level, str) else level
    logging.getLogger().setLevel(lv)
    logging.getLogger(ROOT).setLevel(lv)
