import os
import subprocess
import sys

import pytest

from shoal.cli import COMMANDS, main, resolve


def test_unknown_command_is_an_error_naming_it(capsys):  # type: ignore[no-untyped-def]
    assert main(["no-such-command"]) == 1
    assert "unknown command 'no-such-command'" in capsys.readouterr().err


def test_help_lists_commands(capsys):  # type: ignore[no-untyped-def]
    assert main(["--help"]) == 0
    assert "sim" in capsys.readouterr().out


def test_every_command_names_a_function_taking_argv() -> None:
    for name, (target, _) in COMMANDS.items():
        module, sep, function = target.partition(":")
        assert sep and module and function, f"{name}: {target!r} is not 'module:function'"
        assert callable(resolve(target)), f"{name}: {target!r} is not callable"


def test_a_cluster_command_runs_through_the_table(capsys, tmp_path):  # type: ignore[no-untyped-def]
    # `shoal status` on a directory holding no cluster: dispatch reached cluster.commands.status.
    assert main(["status", "--dir", str(tmp_path / "none")]) == 1
    assert "no cluster in" in capsys.readouterr().err


# --- the one top-level guard (issue 19): unexpected errors are one line, --debug shows more -------


def boom(argv: list[str]) -> int:
    raise RuntimeError("the frobnicator\nbroke")


def missing_file(argv: list[str]) -> int:
    open("/nonexistent/shoal-test/file")  # noqa: SIM115
    return 0


def _with_command(monkeypatch, name: str, target: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(COMMANDS, name, (target, "a test command"))


def test_an_unexpected_error_is_one_line_naming_it_and_how_to_see_more(  # type: ignore[no-untyped-def]
    monkeypatch, capsys
) -> None:
    monkeypatch.delenv("SHOAL_DEBUG", raising=False)
    _with_command(monkeypatch, "boom", "test_cli:boom")
    assert main(["boom", "x"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "shoal boom: unexpected error: RuntimeError: the frobnicator broke" in err
    assert "shoal --debug" in err and "SHOAL_DEBUG=1" in err


def test_an_os_error_names_the_file_and_what_to_do(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SHOAL_DEBUG", raising=False)
    _with_command(monkeypatch, "missing", "test_cli:missing_file")
    assert main(["missing"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "shoal missing: /nonexistent/shoal-test/file: No such file or directory (check the path)"
    ), err
    assert err.count("\n") == 1


def test_debug_before_the_command_or_in_the_environment_shows_the_traceback(  # type: ignore[no-untyped-def]
    monkeypatch,
) -> None:
    monkeypatch.setenv("SHOAL_DEBUG", "")  # so that the "1" main sets is undone afterwards
    _with_command(monkeypatch, "boom", "test_cli:boom")
    with pytest.raises(RuntimeError, match="frobnicator"):
        main(["--debug", "boom"])
    assert os.environ["SHOAL_DEBUG"] == "1"  # handed down to the daemons it starts
    monkeypatch.setenv("SHOAL_DEBUG", "1")
    with pytest.raises(RuntimeError, match="frobnicator"):
        main(["boom"])


def test_a_command_keeps_its_own_debug_flag(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    # `shoal etcd --debug` is etcd's flag (debug logging), not shoal's.
    monkeypatch.delenv("SHOAL_DEBUG", raising=False)
    assert main(["etcd", "--debug", "--version"]) == 0
    assert "etcd Version:" in capsys.readouterr().out
    assert "SHOAL_DEBUG" not in os.environ


def test_the_traceback_of_a_subprocess_is_hidden_unless_asked() -> None:
    # As a user types it: a file that does not exist, through `python -m shoal.cli`.
    env = {k: v for k, v in os.environ.items() if k != "SHOAL_DEBUG"}
    argv = [sys.executable, "-m", "shoal.cli", "cloudinit", "--from-file", "/nonexistent/x.yml"]
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    assert "/nonexistent/x.yml" in r.stderr


def test_debug_shows_the_traceback_a_user_would_otherwise_not_see(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # `shoal bench --data-root` under a file fails in an OSError nobody caught: one line by
    # default, the traceback with `shoal --debug`.
    (tmp_path / "f").write_text("x")
    env = {k: v for k, v in os.environ.items() if k != "SHOAL_DEBUG"}
    args = ["bench", "--data-root", str(tmp_path / "f" / "b"), "--no-etcd", "--rows", "put1",
            "--duration", "1"]  # fmt: skip
    plain = subprocess.run([sys.executable, "-m", "shoal.cli", *args],
                           capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert (
        plain.stderr.strip()
        .splitlines()[-1]
        .startswith(f"shoal bench: {tmp_path}/f/b: Not a directory")
    ), plain.stderr
    debug = subprocess.run([sys.executable, "-m", "shoal.cli", "--debug", *args],
                           capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr
    assert "NotADirectoryError" in debug.stderr
