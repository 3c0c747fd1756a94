"""Each kind of finding the validator reports, with its line and kind."""

from __future__ import annotations

import base64
import gzip

import pytest

from shoal.cloudinit.validate import validate


def findings(text: str) -> list[str]:
    return [str(e) for e in validate(text)]


def cc(body: str) -> str:
    return "#cloud-config\n" + body


def test_missing_header_is_an_error_on_line_1() -> None:
    assert findings("hostname: a\n") == [
        'line 1: error: must be "#cloud-config" or begin with "#!"'
    ]


def test_header_may_have_trailing_spaces() -> None:
    assert findings("#cloud-config  \nhostname: a\n") == []


def test_empty_input_and_empty_document_are_fine() -> None:
    assert findings("") == []
    assert findings("#cloud-config\n") == []


def test_scripts_are_refused_clearly() -> None:
    (only,) = findings("#!/bin/bash\necho hi\n")
    assert only.startswith("line 1: error: ") and "not supported by shoal" in only


def test_yaml_error_reports_the_parsers_line() -> None:
    out = findings(cc("hostname: a\ncoreos:\n  units:\n  - name: x\n   bad: [\n"))
    assert len(out) == 1 and out[0].startswith("line 6: error: ")


def test_top_level_must_be_a_mapping() -> None:
    assert findings(cc("- a\n- b\n")) == [
        "line 2: error: a cloud-config is a mapping of keys, not a list"
    ]


def test_unknown_keys_are_warnings_at_their_line() -> None:
    text = cc("hostname: a\nhostnmae: b\ncoreos:\n  etcd2:\n    nmae: x\n")
    assert findings(text) == [
        'line 3: warning: unrecognized key "hostnmae"',
        'line 6: warning: unrecognized key "nmae"',
    ]


def test_dashes_and_underscores_are_the_same_key() -> None:
    text = cc("coreos:\n  update:\n    reboot_strategy: reboot\n    reboot-strategy: off\n")
    assert findings(text) == [
        'line 5: warning: duplicate key "reboot-strategy" (the last one wins)'
    ]
    text = cc("coreos:\n  etcd2:\n    heartbeat_interval: 100\n  fleet:\n    public-ip: a\n")
    assert findings(text) == []


def test_wrong_types_are_warnings() -> None:
    text = cc(
        "hostname: [a, b]\n"
        "ssh_authorized_keys: ssh-rsa AAAA\n"
        "coreos:\n"
        "  etcd2:\n"
        "    heartbeat-interval: fast\n"
        "  units:\n"
        "  - name: etcd2.service\n"
        "    enable: maybe\n"
    )
    assert findings(text) == [
        'line 2: warning: incorrect type for "hostname" (want string)',
        'line 3: warning: incorrect type for "ssh_authorized_keys" (want []string)',
        'line 6: warning: incorrect type for "heartbeat-interval" (want int)',
        'line 9: warning: incorrect type for "enable" (want bool)',
    ]


def test_yaml_implicit_types_do_not_cause_false_reports() -> None:
    # `off` is a YAML bool and 0644 an octal int; the fields are strings, as written.
    text = cc(
        "write_files:\n- path: /etc/x\n  permissions: 0644\n  content: x\n"
        "coreos:\n  update:\n    reboot-strategy: off\n"
    )
    assert findings(text) == []


@pytest.mark.parametrize("value", ["bogus", "'on'", "etcd_lock"])
def test_invalid_reboot_strategy_is_an_error(value: str) -> None:
    text = cc(f"coreos:\n  update:\n    reboot-strategy: {value}\n")
    assert findings(text) == [f"line 4: error: invalid value {value.strip(chr(39))}"]


@pytest.mark.parametrize("value", ["0644", "'0644'", "644", "0755", "'1777'"])
def test_valid_permissions(value: str) -> None:
    text = cc(f"write_files:\n- path: /etc/x\n  permissions: {value}\n")
    assert findings(text) == []


@pytest.mark.parametrize("value", ["0999", "'rw-r--r--'", "12345", "'0o644'"])
def test_invalid_permissions_are_errors(value: str) -> None:
    text = cc(f"write_files:\n- path: /etc/x\n  permissions: {value}\n")
    assert findings(text) == [f"line 4: error: invalid value {value.strip(chr(39))}"]


def test_unit_command_must_be_one_systemctl_knows() -> None:
    text = cc("coreos:\n  units:\n  - name: etcd2.service\n    command: launch\n")
    assert findings(text) == ["line 5: error: invalid value launch"]


def test_unknown_encoding_is_an_error() -> None:
    text = cc("write_files:\n- path: /etc/x\n  encoding: rot13\n  content: x\n")
    assert findings(text) == ["line 4: error: invalid value rot13"]


@pytest.mark.parametrize(
    "encoding", ["b64", "base64", "gzip+base64", "gz+b64", "gzip+b64", "gz+base64"]
)
def test_undecodable_content_is_an_error_at_the_content(encoding: str) -> None:
    text = cc(f"write_files:\n- path: /etc/x\n  encoding: {encoding}\n  content: '!!not base64'\n")
    assert findings(text) == [f'line 5: error: content cannot be decoded as "{encoding}"']


def test_base64_that_is_not_gzip_fails_as_gzip_base64() -> None:
    b = base64.b64encode(b"plain").decode()
    text = cc(f"write_files:\n- path: /etc/x\n  encoding: gz+b64\n  content: {b}\n")
    assert findings(text) == ['line 5: error: content cannot be decoded as "gz+b64"']


def test_good_encodings_pass() -> None:
    b = base64.b64encode(gzip.compress(b"hello\n")).decode()
    text = cc(f"write_files:\n- path: /etc/x\n  encoding: gzip+base64\n  content: {b}\n")
    assert findings(text) == []


def test_files_under_usr_are_refused() -> None:
    text = cc("write_files:\n- path: /usr/bin/x\n  content: x\n")
    assert findings(text) == ["line 3: error: file cannot be written to a read-only filesystem"]


def test_paths_leaving_the_root_are_refused() -> None:
    text = cc("write_files:\n- path: /etc/../../x\n  content: x\n")
    assert findings(text) == [
        "line 3: error: path /etc/../../x leaves the machine's root directory"
    ]


def test_write_files_under_coreos_is_info() -> None:
    text = cc("coreos:\n  write_files:\n  - path: /etc/x\n")
    out = findings(text)
    assert "line 3: info: write_files doesn't belong under coreos" in out
    assert 'line 3: warning: unrecognized key "write_files"' in out


def test_etcd2_election_timeout_below_five_heartbeats_is_an_error() -> None:
    text = cc("coreos:\n  etcd2:\n    heartbeat-interval: 1000\n    election-timeout: 3000\n")
    assert findings(text) == [
        "line 5: error: --election-timeout[3000ms] should be at least as 5 times as "
        "--heartbeat-interval[1000ms] (etcd refuses to start)"
    ]


def test_etcd2_default_heartbeat_counts() -> None:
    # Only election-timeout given: etcd compares it with its default heartbeat of 100 ms.
    text = cc("coreos:\n  etcd2:\n    election-timeout: 400\n")
    assert "5 times as --heartbeat-interval[100ms]" in findings(text)[0]


def test_etcd2_election_timeout_too_long() -> None:
    text = cc("coreos:\n  etcd2:\n    election-timeout: 60000\n")
    assert findings(text) == [
        "line 4: error: --election-timeout[60000ms] is too long, and should be set less than "
        "50000ms"
    ]


def test_etcd2_zero_heartbeat() -> None:
    text = cc("coreos:\n  etcd2:\n    heartbeat-interval: 0\n")
    assert findings(text) == ["line 4: error: --heartbeat-interval must be >0 (set to 0ms)"]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://127.0.0.1:2379", "URL scheme must be http, https, unix, or unixs"),
        ("http://127.0.0.1", 'URL address does not have the form "host:port"'),
        ("http://127.0.0.1:2379/v2", "URL must not contain a path"),
        ("127.0.0.1:2379", "URL scheme must be http, https, unix, or unixs"),
    ],
)
def test_etcd2_bad_urls(url: str, why: str) -> None:
    text = cc(
        "coreos:\n  etcd2:\n"
        f"    listen-client-urls: http://127.0.0.1:2379,{url}\n"
        "    advertise-client-urls: http://127.0.0.1:2379\n"
    )
    assert findings(text) == [
        f'line 4: error: invalid value "{url}" for listen-client-urls: {why}: {url}'
    ]


def test_etcd2_listen_without_advertise() -> None:
    text = cc("coreos:\n  etcd2:\n    listen-client-urls: http://127.0.0.1:2379\n")
    assert findings(text) == [
        "line 4: error: --advertise-client-urls is required when --listen-client-urls is set "
        "explicitly"
    ]


def test_etcd2_name_not_in_initial_cluster(fixed_seed: str) -> None:
    text = fixed_seed.replace("    name: coreos-01", "    name: coreos-04")
    line = text.splitlines().index("    name: coreos-04") + 1
    assert findings(text) == [
        f"line {line}: error: couldn't find local name 'coreos-04' in the initial cluster "
        "configuration (initial-cluster lists coreos-01, coreos-02, coreos-03)"
    ]


def test_etcd2_advertised_peer_urls_must_match_initial_cluster(fixed_seed: str) -> None:
    text = fixed_seed.replace(
        "initial-advertise-peer-urls: http://192.168.0.10:2380",
        "initial-advertise-peer-urls: http://192.168.0.11:2380",
    )
    (only,) = findings(text)
    assert "--initial-cluster has coreos-01=http://192.168.0.10:2380 but missing from" in only


def test_etcd2_initial_cluster_state_and_discovery_conflict() -> None:
    text = cc(
        "coreos:\n  etcd2:\n    initial-cluster-state: old\n"
        "    initial-cluster: default=http://127.0.0.1:2380\n"
        "    discovery: https://discovery.etcd.io/abc\n"
    )
    out = findings(text)
    assert out == [
        "line 6: error: multiple discovery or bootstrap flags are set. Choose one of "
        '"initial-cluster", "discovery" or "discovery-srv"'
    ]
    text = cc("coreos:\n  etcd2:\n    initial-cluster-state: old\n")
    assert findings(text) == ["line 4: error: invalid value old (etcd accepts new or existing)"]


def test_etcd2_proxy_listens_without_advertising() -> None:
    # CoreOS's worker: `proxy: on` and the local listener, no advertise-client-urls.
    text = cc(
        "coreos:\n  etcd2:\n    proxy: on\n"
        "    listen-client-urls: http://127.0.0.1:2379\n"
        "    initial-cluster: a=http://127.0.0.10:2380\n"
    )
    assert findings(text) == []


def test_etcd2_proxy_value() -> None:
    text = cc("coreos:\n  etcd2:\n    proxy: maybe\n")
    assert findings(text) == ["line 4: error: invalid value maybe"]


def test_bad_discovery_url_is_a_warning() -> None:
    text = cc("coreos:\n  etcd2:\n    discovery: not a url\n")
    assert findings(text) == ["line 4: warning: discovery URL is not valid"]


def test_unit_without_content_or_known_name() -> None:
    text = cc(
        "coreos:\n  units:\n  - name: etcd2.service\n    command: start\n"
        "  - name: mystery.service\n    command: start\n"
    )
    (only,) = findings(text)
    assert only.startswith("line 6: error: unit mystery.service has no content and is not a unit")


def test_unit_written_by_write_files_counts_as_known() -> None:
    text = cc(
        "write_files:\n- path: /etc/systemd/system/mine.service\n  content: |\n"
        "    [Service]\n    ExecStart=/bin/true\n"
        "coreos:\n  units:\n  - name: mine.service\n    command: start\n"
    )
    assert findings(text) == []


def test_unit_without_name_and_bad_names() -> None:
    text = cc(
        "coreos:\n  units:\n  - command: start\n  - name: foo\n    content: x\n"
        "  - name: web@.service\n    command: start\n    content: |\n      [Service]\n"
        "      ExecStart=/bin/true\n"
    )
    out = findings(text)
    assert out[0] == "line 4: error: unit has no name"
    assert out[1].startswith("line 5: error: unit name 'foo' does not end in a known unit type")
    assert out[2].startswith("line 8: error: cannot start template unit web@.service")


def test_unit_content_errors_point_into_the_cloud_config() -> None:
    text = cc(
        "coreos:\n  units:\n  - name: a.service\n    content: |\n"
        "      [Unit]\n"
        "      Description=a\n"
        "      [Service\n"
        "      ExecStart /bin/true\n"
    )
    assert findings(text) == [
        "line 8: error: a.service: invalid section header '[Service'",
        "line 9: error: a.service: missing '=' in 'ExecStart /bin/true'",
    ]


def test_inline_comment_in_unit_content_is_a_warning() -> None:
    text = cc(
        "coreos:\n  units:\n  - name: a.service\n    content: |\n"
        "      [Service]\n"
        "      # a comment line is fine\n"
        "      ; so is this\n"
        "      ExecStart=/bin/sh -c 'echo # quoted is fine'\n"
        "      Environment=A=1 # but not this\n"
        "      Environment=B=x#y\n"
    )
    assert findings(text) == [
        "line 10: warning: a.service: '#' does not start a comment after a value; systemd reads "
        "it as part of Environment= (put the comment on a line of its own)"
    ]


def test_inline_comment_in_drop_in_is_a_warning() -> None:
    text = cc(
        "coreos:\n  units:\n  - name: etcd2.service\n    drop-ins:\n"
        "    - name: 30-x.conf\n      content: |\n        [Service]\n"
        "        Environment=ETCD_DEBUG=1  # noisy\n"
    )
    (only,) = findings(text)
    assert only.startswith("line 9: warning: etcd2.service.d/30-x.conf: '#' does not start")


def test_fleet_metadata_and_agent_ttl() -> None:
    text = cc("coreos:\n  fleet:\n    metadata: role=a,oops\n    agent-ttl: 30 seconds\n")
    assert findings(text) == [
        "line 4: warning: metadata pair 'oops' is not key=value",
        "line 5: error: invalid value 30 seconds (a duration like 30s)",
    ]


def test_deprecated_keys_are_warnings() -> None:
    text = cc("coreos:\n  etcd:\n    name: a\n")
    (only,) = findings(text)
    assert only.startswith('line 3: warning: deprecated key "etcd"')


def test_substitution_without_a_value_is_an_error_only_when_substituting() -> None:
    text = cc("coreos:\n  fleet:\n    public-ip: $public_ipv4\n")
    assert findings(text) == []
    assert [str(e) for e in validate(text, {})] == [
        "line 4: error: $public_ipv4 is used but has no value (give --public-ipv4 or set "
        "COREOS_PUBLIC_IPV4)"
    ]
    assert [str(e) for e in validate(text, {"$public_ipv4": "127.0.0.10"})] == []


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = cc(
        "hostnmae: a\n"
        "write_files:\n- path: /usr/x\n  permissions: 999\n"
        "coreos:\n  update:\n    reboot-strategy: sometimes\n"
    )
    assert [e.split(":")[0] + ":" + e.split(":")[1] for e in findings(text)] == [
        "line 2: warning",
        "line 4: error",
        "line 5: error",
        "line 8: error",
    ]
