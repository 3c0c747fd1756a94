"""EnvironmentFile= parsing: why the seed's inline comment mattered."""

from __future__ import annotations

from shoal.systemd.envfile import parse_env_file


def test_seed_environment_file_as_published_keeps_the_comment_in_the_value() -> None:
    env, _ = parse_env_file(
        "COREOS_PUBLIC_IPV4=192.168.0.10 #ここは3台別別のIPを指定してください\n"
        "COREOS_PRIVATE_IPV4=192.168.0.10\n"
    )
    assert env["COREOS_PUBLIC_IPV4"] == "192.168.0.10 #ここは3台別別のIPを指定してください"
    assert env["COREOS_PRIVATE_IPV4"] == "192.168.0.10"


def test_comment_lines_quotes_and_continuations() -> None:
    text = (
        "# comment\n; also\n\n"
        "A=1\n"
        "  B = spaced value   \n"
        'C="quoted # not a comment \\" ok"\n'
        "D='single $X'\n"
        "E=one\\\ntwo\n"
        "F=a\\ b\n"
        '1BAD=x\nnot an assignment\nG="multi\nline"\n'
    )
    env, warnings = parse_env_file(text)
    assert env == {
        "A": "1",
        "B": "spaced value",
        "C": 'quoted # not a comment " ok',
        "D": "single $X",
        "E": "onetwo",
        "F": "a b",
        "G": "multi\nline",
    }
    assert [w.split(":")[0] for w in warnings] == ["line 11", "line 12"]
