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
