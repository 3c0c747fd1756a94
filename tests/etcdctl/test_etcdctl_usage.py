"""Help screens and bad input: shoal etcdctl must print what etcdctl 3.4 prints, byte for byte,
on the same streams and with the same exit status. No cluster needed."""

from __future__ import annotations

import pytest
from side_by_side import compare, run_real, run_shoal

GROUPS = ["member", "user", "role", "auth"]
LEAVES = [
    "backup", "cluster-health", "mk", "mkdir", "rm", "rmdir", "get", "ls", "set", "setdir",
    "update", "updatedir", "watch", "exec-watch",
    "member list", "member add", "member remove", "member update",
    "user add", "user get", "user list", "user remove", "user grant", "user revoke",
    "user passwd", "role add", "role get", "role list", "role remove", "role grant",
    "role revoke", "auth enable", "auth disable",
]  # fmt: skip


@pytest.mark.parametrize("args", [[], ["--help"], ["-h"], ["help"], ["h"], ["-v"], ["--version"]])
def test_app_help_and_version(args: list[str]) -> None:
    compare(args)


@pytest.mark.parametrize("cmd", LEAVES)
def test_each_command_help(cmd: str) -> None:
    words = cmd.split()
    compare([*words, "--help"])
    compare([*words, "-h"])


@pytest.mark.parametrize("cmd", ["get", "set", "cluster-health", "ls", "rmdir", *GROUPS])
def test_help_topic(cmd: str) -> None:
    compare(["help", cmd])


@pytest.mark.parametrize("group", GROUPS)
def test_group_screens(group: str) -> None:
    compare([group])
    compare([group, "--help"])
    compare([group, "help"])
    compare([group, "h"])


def test_group_help_for_a_subcommand() -> None:
    compare(["member", "help", "add"])
    compare(["member", "help", "list"])


@pytest.mark.parametrize(
    "args",
    [
        ["bogus"],
        ["help", "bogus"],
        ["member", "bogus"],
        ["member", "help", "bogus"],
        ["--bogus", "get", "/a"],
        ["-o"],
        ["--timeout", "1", "get", "/a"],
        ["--timeout", "1x", "get", "/a"],
        ["get", "--bogus", "/a"],
        ["set", "--ttl"],
        ["set", "/x", "--ttl=abc", "1"],
        ["set", "--ttl", "abc", "/x", "1"],
        ["get", "-q=bad", "/x"],
        ["ls", "---r"],
        ["member", "list", "--bogus"],
        ["user", "grant", "--roles"],
        ["-o", "simple", "--output", "json", "get", "/a"],
        ["ls", "-r", "--recursive", "/"],
        ["member", "--bogus"],
        ["member", "-h", "--help"],
    ],
)
def test_bad_usage(args: list[str]) -> None:
    compare(args)


DEAD = "http://127.0.0.1:1"


@pytest.mark.parametrize(
    "args",
    [
        ["--endpoints", DEAD, "get", "/a"],
        ["--endpoints", DEAD, "set", "/a", "1"],
        ["--endpoints", f"{DEAD},http://127.0.0.2:1", "ls"],
        ["--no-sync", "--endpoints", DEAD, "get", "/a"],
        ["--endpoints", DEAD, "cluster-health"],
        ["--endpoints", DEAD, "member", "list"],
        ["--endpoints", DEAD, "get"],
        ["--endpoints", DEAD, "--debug", "get", "/a"],
        ["--endpoints", "127.0.0.1:1", "get", "/a"],
        ["--endpoints", ",", "get", "/a"],
        ["--endpoints", DEAD, "member", "add", "x"],
        ["--endpoints", DEAD, "member", "list", "extra"],
    ],
)
def test_unreachable_endpoints(args: list[str]) -> None:
    compare(args)


def test_the_installed_entry_point_behaves_the_same() -> None:
    # One end-to-end check through `shoal etcdctl` itself (the rest run in-process).
    for args in (["--help"], ["bogus"], ["--endpoints", DEAD, "get", "/a"]):
        real, mine = run_real(args), run_shoal(args)
        assert (mine.out, mine.err, mine.code) == (real.out, real.err, real.code)
