"""fmt's %v of a slice, as etcd's log lines print URL lists."""

from __future__ import annotations

from shoal.gocompat.fmt import sprint_list


def test_a_slice_prints_as_go_prints_it() -> None:
    assert sprint_list(["http://a:1", "http://b:2"]) == "[http://a:1 http://b:2]"
    assert sprint_list([]) == "[]"
