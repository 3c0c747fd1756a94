"""Command lines: prefixes, quoting, `;` separators and variable expansion."""

from __future__ import annotations

import pytest

from shoal.systemd.execline import ExecSyntaxError, parse_exec


def test_quotes_and_escapes() -> None:
    (c,) = parse_exec("""/bin/sh -c "echo \\"hi there\\"" 'single $X' a\\ b""")
    assert c.argv == ("/bin/sh", "-c", 'echo "hi there"', "single $X", "a b")


def test_prefixes() -> None:
    (c,) = parse_exec("-/bin/false")
    assert c.ignore_failure and c.path == "/bin/false"
    (c,) = parse_exec("@/bin/sleep mysleep 5")
    assert c.path == "/bin/sleep" and c.argv == ("mysleep", "5")
    (c,) = parse_exec("-+/bin/x")
    assert c.ignore_failure and c.privileged
    (c,) = parse_exec(":/bin/echo $X")
    assert c.expanded({"X": "1"}) == ["/bin/echo", "$X"]


def test_semicolon_separates_commands() -> None:
    cs = parse_exec("/bin/a 1 ; /bin/b 2 \\; 3")
    assert [c.argv for c in cs] == [("/bin/a", "1"), ("/bin/b", "2", ";", "3")]


def test_variable_expansion() -> None:
    (c,) = parse_exec("/bin/etcd --name ${ETCD_NAME} $FLAGS x${A}y $$HOME $UNSET")
    env = {"ETCD_NAME": "coreos-01", "FLAGS": "--a 1  --b", "A": "-"}
    assert c.expanded(env) == [
        "/bin/etcd",
        "--name",
        "coreos-01",
        "--a",
        "1",
        "--b",
        "x-y",
        "$HOME",
    ]


@pytest.mark.parametrize("text", ["", "-", "/bin/sh -c 'unterminated", "@/bin/x"])
def test_bad_command_lines(text: str) -> None:
    with pytest.raises(ExecSyntaxError):
        parse_exec(text)
