"""etcd's package loggers, as the member's code calls them: `log.info("etcdserver", msg)`.

A thin front over gocompat.capnslog (`capnslog.logger(pkg)`), so these lines and those of the
stdlib loggers (`shoal.wal`, `shoal.rafthttp`, ...) go through one handler and one format:
`2006-01-02 15:04:05.000000 I | pkg: message`. The entry points (`shoal etcd`, `shoal
discovery`) call `capnslog.setup`; code run without one (a member inside a test) gets the same
handler on its first line. `set_level` follows --log-level / --debug.
"""

from __future__ import annotations

import logging

from shoal.gocompat import capnslog


def set_level(name: str) -> None:
    capnslog.ensure_setup()
    capnslog.set_level(name)


def _logger(pkg: str) -> logging.Logger:
    capnslog.ensure_setup()
    return capnslog.logger(pkg)


def debug(pkg: str, msg: str) -> None:
    _logger(pkg).debug("%s", msg)


def info(pkg: str, msg: str) -> None:
    _logger(pkg).info("%s", msg)


def notice(pkg: str, msg: str) -> None:
    _logger(pkg).log(capnslog.NOTICE, "%s", msg)


def warning(pkg: str, msg: str) -> None:
    _logger(pkg).warning("%s", msg)


def error(pkg: str, msg: str) -> None:
    _logger(pkg).error("%s", msg)


def critical(pkg: str, msg: str) -> None:
    _logger(pkg).critical("%s", msg)
