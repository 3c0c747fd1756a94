"""Applying under a temporary root: the files a user would find, and nothing on bad input."""

from __future__ import annotations

import base64
import gzip
import os
import stat
from pathlib import Path

import pytest

from shoal.cloudinit.apply import ApplyError, apply
from shoal.cloudinit.report import CloudConfigInvalid


def tree(root: Path) -> dict[str, bytes | str]:
    """Every file (content) and link (-> target) under root."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            out[rel] = f"-> {os.readlink(p)}" if p.is_symlink() else p.read_bytes()
    return out


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_write_files_permissions_and_encodings(tmp_path: Path) -> None:
    gz = base64.b64encode(gzip.compress(b"zipped\n")).decode()
    b64 = base64.b64encode(b"\x00\x01binary").decode()
    text = (
        "#cloud-config\n"
        "write_files:\n"
        "- path: /etc/plain\n  content: |\n    hello\n"
        "- path: /etc/secret\n  permissions: '0600'\n  content: s\n"
        "- path: /opt/bin/tool\n  permissions: 0755\n  content: '#!/bin/sh'\n"
        f"- path: /etc/zipped\n  encoding: gzip+base64\n  content: {gz}\n"
        f"- path: /etc/bin\n  encoding: b64\n  content: {b64}\n"
    )
    apply(text, tmp_path, chown=False)
    assert (tmp_path / "etc/plain").read_text() == "hello\n"
    assert mode(tmp_path / "etc/plain") == 0o644  # coreos-cloudinit's default
    assert mode(tmp_path / "etc/secret") == 0o600
    assert mode(tmp_path / "opt/bin/tool") == 0o755
    assert (tmp_path / "etc/zipped").read_bytes() == b"zipped\n"
    assert (tmp_path / "etc/bin").read_bytes() == b"\x00\x01binary"
    assert not list(tmp_path.glob("**/.cloudinit-temp*"))


def test_permissions_not_narrowed_by_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        apply("#cloud-config\nwrite_files:\n- path: /etc/x\n  permissions: 0664\n", tmp_path)
    finally:
        os.umask(old)
    assert mode(tmp_path / "etc/x") == 0o664


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_owner_is_resolved_from_the_machines_users(tmp_path: Path) -> None:
    text = (
        "#cloud-config\nusers:\n- name: app\n"
        "write_files:\n- path: /etc/app.conf\n  owner: app:docker\n  content: x\n"
    )
    apply(text, tmp_path, chown=True)
    st = (tmp_path / "etc/app.conf").stat()
    assert (st.st_uid, st.st_gid) == (1000, 233)


def test_unknown_owner_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    text = "#cloud-config\nhostname: a\nwrite_files:\n- path: /etc/x\n  owner: nobody9\n"
    with pytest.raises(ApplyError, match="no user 'nobody9'"):
        apply(text, tmp_path, chown=False)
    assert tree(tmp_path) == {}


def test_invalid_config_changes_nothing(tmp_path: Path, published_seed: str) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hostname").write_text("before\n")
    before = tree(tmp_path)
    for bad in (
        published_seed,
        "#cloud-config\nhostname: b\ncoreos:\n  update:\n    reboot-strategy: sometimes\n",
        "#cloud-config\nhostname: b\nwrite_files:\n- path: /etc/y\n  encoding: b64\n"
        "  content: '***'\n",
        "#cloud-config\nhostname: b\ncoreos:\n  etcd2:\n    election-timeout: 10\n",
    ):
        with pytest.raises(CloudConfigInvalid) as e:
            apply(bad, tmp_path)
        assert e.value.report.has_errors
        assert tree(tmp_path) == before


def test_warnings_do_not_stop_applying(tmp_path: Path) -> None:
    result = apply("#cloud-config\nhostname: a\ncolour: blue\n", tmp_path)
    assert [str(e) for e in result.report] == ['line 3: warning: unrecognized key "colour"']
    assert (tmp_path / "etc/hostname").read_text() == "a\n"


def test_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "etc").symlink_to(outside)
    with pytest.raises(ApplyError, match="outside"):
        apply("#cloud-config\nhostname: a\n", root)
    assert list(outside.iterdir()) == []


def test_substitution_and_default_environment(tmp_path: Path) -> None:
    text = (
        "#cloud-config\ncoreos:\n  etcd2:\n"
        "    advertise-client-urls: http://$public_ipv4:2379\n"
        "    listen-client-urls: http://$private_ipv4:2379\n"
        "    initial-cluster: default=http://\\$public_ipv4:2380\n"
        "  fleet:\n    public-ip: $public_ipv4\n"
    )
    values = {"$public_ipv4": "127.0.0.10", "$private_ipv4": "127.0.0.11"}
    apply(text, tmp_path, values)
    etcd = (tmp_path / "run/systemd/system/etcd2.service.d/20-cloudinit.conf").read_text()
    assert 'Environment="ETCD_ADVERTISE_CLIENT_URLS=http://127.0.0.10:2379"' in etcd
    assert 'Environment="ETCD_LISTEN_CLIENT_URLS=http://127.0.0.11:2379"' in etcd
    # `\$public_ipv4` stands for the text itself.
    assert 'Environment="ETCD_INITIAL_CLUSTER=default=http://$public_ipv4:2380"' in etcd
    # No write_files for /etc/environment: coreos-cloudinit fills it from the substitutions.
    assert (tmp_path / "etc/environment").read_text() == (
        "COREOS_PRIVATE_IPV4=127.0.0.11\nCOREOS_PUBLIC_IPV4=127.0.0.10\n"
    )


def test_missing_substitution_value_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CloudConfigInvalid, match=r"\$public_ipv4 is used but has no value"):
        apply("#cloud-config\ncoreos:\n  fleet:\n    public-ip: $public_ipv4\n", tmp_path)
    assert tree(tmp_path) == {}


def test_units_runtime_dropins_mask_enable_and_commands(tmp_path: Path) -> None:
    text = (
        "#cloud-config\ncoreos:\n  units:\n"
        "  - name: web.service\n    enable: true\n    command: restart\n    content: |\n"
        "      [Service]\n      ExecStart=/bin/sleep 1000\n"
        "      [Install]\n      WantedBy=multi-user.target\n"
        "  - name: tmp.service\n    runtime: true\n    command: start\n    content: |\n"
        "      [Service]\n      ExecStart=/bin/true\n"
        "  - name: etcd2.service\n    drop-ins:\n    - name: 30-debug.conf\n      content: |\n"
        "        [Service]\n        Environment=ETCD_DEBUG=1\n"
        "  - name: docker.service\n    mask: true\n"
        "  - name: 10-eth.network\n    command: start\n    content: |\n"
        "      [Match]\n      Name=eth0\n"
    )
    result = apply(text, tmp_path)
    t = tree(tmp_path)
    assert t["etc/systemd/system/web.service"].startswith(b"[Service]")  # type: ignore[union-attr]
    assert t["run/systemd/system/tmp.service"] == b"[Service]\nExecStart=/bin/true\n"
    assert t["etc/systemd/system/etcd2.service.d/30-debug.conf"] == (
        b"[Service]\nEnvironment=ETCD_DEBUG=1\n"
    )
    assert t["etc/systemd/system/docker.service"] == "-> /dev/null"
    assert t["etc/systemd/system/multi-user.target.wants/web.service"] == "-> ../web.service"
    assert t["etc/systemd/network/10-eth.network"] == b"[Match]\nName=eth0\n"
    # Network units go to networkd, never to a command.
    assert [str(c) for c in result.commands] == ["restart web.service", "start tmp.service"]
    assert result.plan.network_units == ("10-eth.network",)
    assert result.daemon_reload


def test_update_group_restarts_update_engine_and_keeps_other_lines(tmp_path: Path) -> None:
    conf = tmp_path / "etc/coreos/update.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("GROUP=stable\nREBOOT_STRATEGY=off\nOTHER=1\n")
    result = apply(
        "#cloud-config\ncoreos:\n  update:\n    group: beta\n    reboot-strategy: etcd-lock\n",
        tmp_path,
    )
    assert conf.read_text() == "GROUP=beta\nREBOOT_STRATEGY=etcd-lock\nOTHER=1\n"
    assert [str(c) for c in result.commands] == [
        "restart locksmithd.service",
        "restart update-engine.service",
    ]


def test_locksmith_settings_become_a_drop_in(tmp_path: Path) -> None:
    apply("#cloud-config\ncoreos:\n  locksmith:\n    group: web\n", tmp_path)
    d = tmp_path / "run/systemd/system/locksmithd.service.d/20-cloudinit.conf"
    assert d.read_text() == '[Service]\nEnvironment="LOCKSMITHD_GROUP=web"\n'


def test_existing_user_only_gets_a_new_password(tmp_path: Path) -> None:
    text = "#cloud-config\nusers:\n- name: core\n  passwd: $6$abc\n  groups: [newgroup]\n"
    apply(text, tmp_path)
    assert "core:$6$abc:" in (tmp_path / "etc/shadow").read_text()
    assert "newgroup" not in (tmp_path / "etc/group").read_text()


def test_ssh_keys_keep_other_key_sets(tmp_path: Path) -> None:
    d = tmp_path / "home/core/.ssh/authorized_keys.d"
    d.mkdir(parents=True)
    (d / "other").write_text("ssh-ed25519 OTHER\n")
    apply("#cloud-config\nssh_authorized_keys:\n  - ssh-ed25519 MINE\n", tmp_path)
    keys = (tmp_path / "home/core/.ssh/authorized_keys").read_text()
    assert keys == "ssh-ed25519 MINE\nssh-ed25519 OTHER\n"


def test_applying_twice_gives_the_same_files(tmp_path: Path, fixed_seed: str) -> None:
    apply(fixed_seed, tmp_path)
    first = tree(tmp_path)
    apply(fixed_seed, tmp_path)
    assert tree(tmp_path) == first


def test_wrong_type_warns_in_validation_but_is_refused_when_applying(tmp_path: Path) -> None:
    # coreos-cloudinit's validator only warns, but its parser cannot read the value either.
    text = "#cloud-config\nhostname: a\ncoreos:\n  etcd2:\n    heartbeat-interval: fast\n"
    with pytest.raises(CloudConfigInvalid) as e:
        apply(text, tmp_path)
    assert [str(x) for x in e.value.report] == [
        'line 5: error: incorrect type for "heartbeat-interval" (want int): cannot be applied'
    ]
    assert tree(tmp_path) == {}


def test_raw_gzip_as_yaml_binary(tmp_path: Path) -> None:
    raw = base64.b64encode(gzip.compress(b"from gzip\n")).decode()
    text = (
        "#cloud-config\nwrite_files:\n"
        f"- path: /etc/g\n  encoding: gzip\n  content: !!binary {raw}\n"
        f"- path: /etc/b\n  content: !!binary {base64.b64encode(b'raw bytes').decode()}\n"
    )
    apply(text, tmp_path)
    assert (tmp_path / "etc/g").read_bytes() == b"from gzip\n"
    assert (tmp_path / "etc/b").read_bytes() == b"raw bytes"


def test_gzip_of_plain_text_cannot_be_decoded(tmp_path: Path) -> None:
    text = "#cloud-config\nwrite_files:\n- path: /etc/g\n  encoding: gz\n  content: plain\n"
    with pytest.raises(CloudConfigInvalid, match='content cannot be decoded as "gz"'):
        apply(text, tmp_path)
