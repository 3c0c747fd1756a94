from shoal.cli import main


def test_unknown_command_is_an_error_naming_it(capsys):  # type: ignore[no-untyped-def]
    assert main(["no-such-command"]) == 1
    assert "unknown command 'no-such-command'" in capsys.readouterr().err


def test_help_lists_commands(capsys):  # type: ignore[no-untyped-def]
    assert main(["--help"]) == 0
    assert "sim" in capsys.readouterr().out
