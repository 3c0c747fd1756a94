"""fleetd's options as fleet's Go flags read them: booleans by strconv.ParseBool, a bare
boolean flag that does not take the next argument, and Go's messages for bad values."""

from __future__ import annotations

import pytest

from shoal.fleet.config import ConfigError, load_config, split_flags, usage
from shoal.fleet.fleetd import main
from shoal.gocompat.flag import FlagError


def test_a_bare_boolean_flag_does_not_swallow_the_next_argument() -> None:
    flags, rest = split_flags(["--disable_watches", "--public_ip", "10.0.0.1"])
    assert flags == {"disable_watches": "true", "public_ip": "10.0.0.1"} and rest == []
    flags, rest = split_flags(["--disable-engine", "version"])
    assert flags == {"disable_engine": "true"} and rest == ["version"]
    cfg = load_config(None, env={}, flags=split_flags(["--disable_watches"])[0])
    assert cfg.disable_watches and not cfg.disable_engine


def test_a_boolean_flag_takes_a_value_only_after_equals() -> None:
    flags, _ = split_flags(["--disable_engine=false", "-disable_watches=1"])
    cfg = load_config(None, env={}, flags=flags)
    assert not cfg.disable_engine and cfg.disable_watches


@pytest.mark.parametrize("value", ["yes", "no", "on", "off", "Yes", "maybe"])
def test_booleans_fleet_would_refuse_are_refused(value: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(None, env={"FLEET_DISABLE_WATCHES": value})
    assert str(e.value) == f'invalid boolean value "{value}" for -disable_watches: parse error'


@pytest.mark.parametrize("value", ["1", "t", "T", "TRUE", "true", "True"])
def test_go_true_spellings(value: str) -> None:
    assert load_config(None, env={"FLEET_DISABLE_ENGINE": value}).disable_engine


def test_an_empty_boolean_keeps_the_default() -> None:
    assert not load_config(None, env={"FLEET_DISABLE_ENGINE": ""}).disable_engine


def test_numbers_are_read_as_go_reads_them() -> None:
    cfg = load_config(None, env={"FLEET_TOKEN_LIMIT": "0x10", "FLEET_ETCD_REQUEST_TIMEOUT": "2.5"})
    assert (cfg.token_limit, cfg.etcd_request_timeout) == (16, 2.5)
    with pytest.raises(
        ConfigError, match=r'^invalid value "ten" for flag -token_limit: parse error$'
    ):
        load_config(None, env={"FLEET_TOKEN_LIMIT": "ten"})


def test_unknown_flags_are_refused_with_gos_message() -> None:
    with pytest.raises(FlagError, match=r"^flag provided but not defined: -bogus$"):
        split_flags(["--bogus=1"])


def test_fleetd_main_reports_bad_flags_and_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--bogus"]) == 2
    assert capsys.readouterr().err.startswith("flag provided but not defined: -bogus\n")
    assert main(["extra"]) == 2
    assert "takes no arguments" in capsys.readouterr().err
    assert main(["--disable_watches", "--version"]) == 0
    assert capsys.readouterr().out == "fleetd version 1.0.0\n"
    assert main(["--help"]) == 0
    assert "  -disable_watches\n" in capsys.readouterr().out


def test_help_lists_each_option_with_its_default_once() -> None:
    text = usage()
    assert (
        '  -agent_ttl string\n    \tTTL in seconds of fleet machine state in etcd (default "30s")'
        in text
    )
    assert "(default 100)" in text  # token_limit
    assert text.count("  -etcd_servers string") == 1
