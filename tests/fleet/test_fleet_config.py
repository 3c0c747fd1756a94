"""fleetd configuration layering: defaults, fleet.conf, FLEET_* variables, flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.fleet.config import (
    ConfigError,
    FleetConfig,
    load_config,
    machine_id,
    parse_duration,
    parse_metadata,
)


def test_defaults_are_fleets() -> None:
    cfg = load_config(None, env={})
    assert cfg.etcd_servers == ("http://127.0.0.1:2379", "http://127.0.0.1:4001")
    assert cfg.etcd_key_prefix == "/_coreos.com/fleet/"
    assert (cfg.etcd_request_timeout, cfg.engine_reconcile_interval, cfg.agent_ttl) == (1, 2, 30)
    assert cfg.token_limit == 100 and not cfg.disable_engine


def test_file_then_env_then_flags(tmp_path: Path) -> None:
    conf = tmp_path / "fleet.conf"
    conf.write_text(
        '# fleet.conf\npublic_ip="192.168.0.10"\nmetadata="role=services,cabinet=one"\n'
        "agent_ttl=10s\netcd_servers=http://a:2379,http://b:2379\n"
    )
    cfg = load_config(str(conf), env={"FLEET_PUBLIC_IP": "10.0.0.1", "FLEET_DISABLE_ENGINE": "1"})
    assert cfg.public_ip == "10.0.0.1"  # the environment overrides the file
    assert dict(cfg.metadata) == {"role": "services", "cabinet": "one"}
    assert cfg.agent_ttl == 10 and cfg.disable_engine
    assert cfg.etcd_servers == ("http://a:2379", "http://b:2379")
    cfg = load_config(str(conf), env={}, flags={"public-ip": "1.2.3.4"})
    assert cfg.public_ip == "1.2.3.4"  # dashes and underscores are equivalent


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("2", 2), ("1h", 3600)]
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_bad_values_are_reported() -> None:
    with pytest.raises(ConfigError, match='time: invalid duration "ten"'):
        load_config(None, env={"FLEET_AGENT_TTL": "ten"})
    with pytest.raises(ConfigError, match="invalid boolean"):
        load_config(None, env={"FLEET_DISABLE_ENGINE": "maybe"})


def test_metadata_parsing_is_fleets() -> None:
    assert parse_metadata(" a = b ,bad, c=d=e") == {"a": "b", "c": "d=e"}


def test_machine_id_is_read_or_created_once(tmp_path: Path) -> None:
    cfg = FleetConfig(root_dir=str(tmp_path))
    first = machine_id(cfg)
    assert len(first) == 32 and (tmp_path / "etc" / "machine-id").read_text().strip() == first
    assert machine_id(cfg) == first
    assert machine_id(FleetConfig(root_dir=str(tmp_path), machine_id="abc")) == "abc"
