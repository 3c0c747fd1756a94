"""The journal keeps every unit's lines in order, filters by unit, and caps its size."""

from __future__ import annotations

from pathlib import Path

from shoal.systemd.journal import Journal, follow, read


def test_read_filters_by_unit_and_keeps_the_last_n(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    for i in range(5):
        j.write("a.service", 10, f"a{i}")
        j.write("b.service", 11, f"b{i}\twith tab")
    j.close()
    assert [e.message for e in read(tmp_path, frozenset({"a.service"}))] == [
        f"a{i}" for i in range(5)
    ]
    last = read(tmp_path, frozenset(), last=3)
    assert [e.message for e in last] == ["b3 with tab", "a4", "b4 with tab"]
    assert last[-1].short("box").endswith("box b[11]: b4 with tab")


def test_rotation_keeps_one_previous_file_and_reads_across_it(tmp_path: Path) -> None:
    j = Journal(tmp_path, max_size=2000)
    for i in range(100):
        j.write("x.service", 1, f"line {i:03d}")
    j.close()
    files = sorted(p.name for p in (tmp_path / "var/log/journal").iterdir())
    assert files == ["journal.log", "journal.log.1"]
    got = [e.message for e in read(tmp_path, frozenset({"x.service"}))]
    assert got[-1] == "line 099" and got == sorted(got) and len(got) < 100


def test_follow_sees_new_lines(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    j.write("x.service", 1, "old")
    gen = follow(tmp_path, frozenset({"x.service"}), poll=0.01, stop_after=2.0)
    j.write("y.service", 1, "other unit")
    j.write("x.service", 1, "new")
    assert next(gen).message == "new"
    j.close()
