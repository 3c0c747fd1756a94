"""Log lines in etcd 3.4's capnslog shape: `2006-01-02 15:04:05.000000 I | pkg: message`."""

from __future__ import annotations

import sys
import time

LEVELS = {"debug": 0, "info": 1, "warn": 2, "warning": 2, "error": 3, "panic": 4, "fatal": 4}
_level = 1


def set_level(name: str) -> None:
    global _level
    _level = LEVELS.get(name.lower(), 1)


def _emit(letter: str, level: int, pkg: str, msg: str) -> None:
    if level < _level:
        return
    t = time.time()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1e6):06d}"
    sys.stderr.write(f"{stamp} {letter} | {pkg}: {msg}\n")
    sys.stderr.flush()


def debug(pkg: str, msg: str) -> None:
    _emit("D", 0, pkg, msg)


def info(pkg: str, msg: str) -> None:
    _emit("I", 1, pkg, msg)


def warning(pkg: str, msg: str) -> None:
    _emit("W", 2, pkg, msg)


def error(pkg: str, msg: str) -> None:
    _emit("E", 3, pkg, msg)


def critical(pkg: str, msg: str) -> None:
    _emit("C", 4, pkg, msg)
