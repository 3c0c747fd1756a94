"""`shoal cloudinit` as a user types it."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.cli import main

DATA = Path(__file__).parent / "data"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["cloudinit", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_validate_published_seed_exits_1_naming_the_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc, _out, err = run(
        capsys, "--from-file", str(DATA / "seed-cloud-config.published.yml"), "--validate"
    )
    assert rc == 1
    assert err == "line 7: error: mapping values are not allowed here\n"


def test_validate_fixed_seed_exits_0_silently(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "-from-file", str(DATA / "seed-cloud-config.fixed.yml"), "-validate")
    assert (rc, out, err) == (0, "", "")


def test_a_warning_alone_makes_validate_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "c.yml"
    f.write_text("#cloud-config\ncolour: blue\n")
    rc, _, err = run(capsys, "--from-file", str(f), "--validate")
    assert rc == 1 and err == 'line 2: warning: unrecognized key "colour"\n'


def test_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "c.yml"
    f.write_text("#cloud-config\ncolour: blue\n")
    rc, out, _ = run(capsys, "--from-file", str(f), "--validate", "--json")
    assert rc == 1
    assert (
        out.strip()
        == '[{"kind": "warning", "message": "unrecognized key \\"colour\\"", "line": 2}]'
    )


def test_apply_needs_a_root(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "--from-file", str(DATA / "seed-cloud-config.fixed.yml"))
    assert rc == 2 and "--root DIR" in err


def test_apply_fixed_seed_lists_files_and_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = run(
        capsys, "--from-file", str(DATA / "seed-cloud-config.fixed.yml"), "--root", str(tmp_path)
    )
    assert rc == 0, err
    assert f"wrote {tmp_path}/etc/hostname\n" in out
    assert out.endswith(
        "daemon-reload\nsystemctl start etcd2.service\nsystemctl start fleet.service\n"
        "systemctl start docker.service\nsystemctl start timezone.service\n"
        "systemctl stop locksmithd.service\n"
    )


def test_apply_published_seed_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    rc, _out, err = run(
        capsys, "--from-file", str(DATA / "seed-cloud-config.published.yml"), "--root", str(root)
    )
    assert rc == 1
    assert "line 7: error:" in err and "nothing was applied" in err
    assert not root.exists()


def test_substitution_from_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "c.yml"
    f.write_text("#cloud-config\ncoreos:\n  fleet:\n    public-ip: $public_ipv4\n")
    rc, _, err = run(
        capsys, "--from-file", str(f), "--root", str(tmp_path / "r"), "--public-ipv4", "127.0.0.30"
    )
    assert rc == 0, err
    conf = tmp_path / "r/run/systemd/system/fleet.service.d/20-cloudinit.conf"
    assert 'FLEET_PUBLIC_IP=127.0.0.30"' in conf.read_text()


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "--from-file", "/nonexistent/cc.yml", "--validate")
    assert rc == 1 and "cannot read /nonexistent/cc.yml" in err


def test_validate_substitutes_known_values_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "c.yml"
    f.write_text(
        "#cloud-config\ncoreos:\n  etcd2:\n    listen-client-urls: http://$private_ipv4:2379\n"
        "    advertise-client-urls: http://$public_ipv4\n"
    )
    rc, _, err = run(capsys, "--from-file", str(f), "--validate")
    assert rc == 1  # `http://$public_ipv4` has no port, with or without a value
    assert "line 5: error: invalid value" in err
    rc, _, err = run(capsys, "--from-file", str(f), "--validate", "--public-ipv4", "10.0.0.1")
    assert 'invalid value "http://10.0.0.1" for advertise-client-urls' in err
