"""Log lines in etcd's capnslog shape, once each, whatever logger wrote them."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest

from shoal.gocompat import capnslog

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} ([DINWEC]) \| ([\w./-]+): (.*)$")


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("shoal").level)
    out = io.StringIO()
    capnslog.setup("info", out)
    try:
        yield out
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("shoal").setLevel(saved[2])


def lines(out: io.StringIO) -> list[tuple[str, str, str]]:
    found = []
    for line in out.getvalue().splitlines():
        m = LINE.match(line)
        assert m, f"not a capnslog line: {line!r}"
        found.append((m.group(1), m.group(2), m.group(3)))
    return found


def test_a_line_names_its_package_once(stream: io.StringIO) -> None:
    capnslog.logger("wal").info("purged %s", "0000.wal")
    logging.getLogger("shoal.rafthttp").warning("peer %x became inactive", 0xAB)
    assert lines(stream) == [
        ("I", "wal", "purged 0000.wal"),
        ("W", "rafthttp", "peer ab became inactive"),
    ]


def test_the_level_filters_and_letters_follow_capnslog(stream: io.StringIO) -> None:
    log = capnslog.logger("etcdserver")
    log.debug("hidden")
    log.error("bad")
    log.critical("worse")
    assert [(lv, msg) for lv, _, msg in lines(stream)] == [("E", "bad"), ("C", "worse")]
    capnslog.set_level("debug")
    log.debug("shown")
    assert lines(stream)[-1] == ("D", "etcdserver", "shown")


def test_setup_twice_still_prints_each_line_once(stream: io.StringIO) -> None:
    capnslog.setup("info", stream)
    capnslog.logger("raft").info("elected")
    assert len(lines(stream)) == 1


def test_an_exception_adds_its_text_not_a_repr_or_traceback(stream: io.StringIO) -> None:
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except OSError:
        capnslog.logger("rafthttp").exception("dial failed")
    assert lines(stream) == [("E", "rafthttp", "dial failed: [Errno 111] Connection refused")]


def test_other_libraries_log_under_their_own_name(stream: io.StringIO) -> None:
    logging.getLogger("asyncio").error("Task exception was never retrieved")
    assert lines(stream) == [("E", "asyncio", "Task exception was never retrieved")]


def test_level_names_are_etcds() -> None:
    assert capnslog.level_of("warn") == logging.WARNING
    assert capnslog.level_of("fatal") == logging.CRITICAL
    assert capnslog.level_of("nonsense") == logging.INFO


def test_notice_has_its_own_letter(stream: io.StringIO) -> None:
    capnslog.logger("discovery").log(capnslog.NOTICE, "found peer")
    assert lines(stream) == [("N", "discovery", "found peer")]
