"""The seed's own cloud-config: refused as published (its line), clean once fixed, and applied."""

from __future__ import annotations

import stat
from pathlib import Path

from shoal.cloudinit.apply import apply
from shoal.cloudinit.template import machine_address, render
from shoal.cloudinit.validate import validate


def test_published_seed_is_refused_at_its_indentation_error(published_seed: str) -> None:
    report = validate(published_seed)
    assert [str(e) for e in report] == ["line 7: error: mapping values are not allowed here"]
    assert published_seed.splitlines()[6].strip() == "permissions: 0644"


def test_fixed_seed_validates_clean(fixed_seed: str) -> None:
    assert str(validate(fixed_seed)) == ""


def test_indentation_alone_is_not_enough_inline_comments_are_warned(published_seed: str) -> None:
    # Fixing only the indentation leaves two `#` that systemd would read as part of a value.
    text = published_seed.replace("      permissions:", "  permissions:").replace(
        "      content: |\n          COREOS", "  content: |\n      COREOS"
    )
    text = text.replace("\n          COREOS_PRIVATE", "\n      COREOS_PRIVATE")
    report = validate(text)
    lines = [(e.line, e.kind) for e in report]
    assert lines == [(9, "warning"), (54, "warning")]
    assert "COREOS_PUBLIC_IPV4" in report.sorted()[0].message
    assert "Address=" in report.sorted()[1].message


def test_fixed_seed_applies_as_coreos_cloudinit_would(fixed_seed: str, tmp_path: Path) -> None:
    result = apply(fixed_seed, tmp_path, chown=False)
    assert (tmp_path / "etc/hostname").read_text() == "coreos-01\n"
    env = tmp_path / "etc/environment"
    assert "COREOS_PUBLIC_IPV4=192.168.0.10\n" in env.read_text()
    assert stat.S_IMODE(env.stat().st_mode) == 0o644
    etcd = (tmp_path / "run/systemd/system/etcd2.service.d/20-cloudinit.conf").read_text()
    assert etcd.startswith("[Service]\n")
    assert 'Environment="ETCD_NAME=coreos-01"\n' in etcd
    assert 'Environment="ETCD_HEARTBEAT_INTERVAL=1000"\n' in etcd
    assert 'Environment="ETCD_ELECTION_TIMEOUT=5000"\n' in etcd
    assert 'Environment="ETCD_INITIAL_CLUSTER_STATE=new"\n' in etcd
    fleet = (tmp_path / "run/systemd/system/fleet.service.d/20-cloudinit.conf").read_text()
    assert 'Environment="FLEET_PUBLIC_IP=192.168.0.10"' in fleet
    assert 'Environment="FLEET_METADATA=role=services,cabinet=one"' in fleet
    assert (tmp_path / "run/flannel/options.env").read_text() == "FLANNELD_IFACE=192.168.0.10\n"
    assert (tmp_path / "etc/coreos/update.conf").read_text() == "REBOOT_STRATEGY=off\n"
    assert (tmp_path / "etc/systemd/system/timezone.service").read_text().startswith("[Unit]\n")
    assert (tmp_path / "etc/systemd/network/10-static.network").exists()
    # reboot-strategy off: locksmithd is stopped and masked, as coreos-cloudinit does.
    mask = tmp_path / "run/systemd/system/locksmithd.service"
    assert mask.is_symlink() and str(mask.readlink()) == "/dev/null"
    assert [str(c) for c in result.commands] == [
        "start etcd2.service",
        "start fleet.service",
        "start docker.service",
        "start timezone.service",
        "stop locksmithd.service",
    ]
    assert result.daemon_reload
    assert result.plan.network_units == ("10-static.network",)
    passwd = (tmp_path / "etc/passwd").read_text()
    assert "\ncoreuser:x:1000:1000::/home/coreuser:/bin/bash\n" in passwd
    assert "coreuser:$1$VIyj3wZe$HVVOEAc/H6a6YZGKCBWSD/:" in (tmp_path / "etc/shadow").read_text()
    group = (tmp_path / "etc/group").read_text()
    assert "sudo:x:150:core,coreuser\n" in group and "docker:x:233:core,coreuser\n" in group
    for user in ("core", "coreuser"):
        keys = tmp_path / f"home/{user}/.ssh/authorized_keys"
        assert keys.read_text() == "ssh-rsa ※ここに自身の鍵を設置\n"
        assert stat.S_IMODE(keys.stat().st_mode) == 0o600
        named = tmp_path / f"home/{user}/.ssh/authorized_keys.d/coreos-cloudinit"
        assert named.read_text() == keys.read_text()


def test_template_gives_the_seed_on_loopback_for_each_machine(tmp_path: Path) -> None:
    assert [machine_address(n) for n in (1, 2, 3)] == ["127.0.0.10", "127.0.0.20", "127.0.0.30"]
    for n in (1, 2, 3):
        text = render(n, str(tmp_path / f"m{n}"))
        assert "{{" not in text
        assert str(validate(text)) == "", n
        assert f"hostname: coreos-0{n}\n" in text
        assert f"    name: coreos-0{n}\n" in text
        assert f"advertise-client-urls: http://127.0.0.{n}0:2379\n" in text
        assert (
            "initial-cluster: coreos-01=http://127.0.0.10:2380,coreos-02=http://127.0.0.20:2380,"
            "coreos-03=http://127.0.0.30:2380\n"
        ) in text


def test_template_keeps_the_seeds_settings(fixed_seed: str) -> None:
    # Same keys and timing as the seed; only addresses (and the two forced changes) differ.
    text = render(1, "/r")
    for line in (
        "    heartbeat-interval: 1000",
        "    election-timeout: 5000",
        "    initial-cluster-token: etcd-cluster-1",
        '    metadata: "role=services,cabinet=one"',
        "    reboot-strategy: 'off'",
    ):
        assert line in fixed_seed.splitlines() and line in text.splitlines()


def test_template_for_five_machines_lists_all_of_them() -> None:
    text = render(5, "/r", size=5)
    assert "coreos-05=http://127.0.0.50:2380" in text
    assert str(validate(text)) == ""
