"""`shoal etcd` takes etcd 3.4's flags and refuses bad ones with etcd's messages."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from shoal.etcd.cli import main
from shoal.etcd.flags import USAGE, FlagError, load_config
from shoal.etcd.ids import cluster_id, hexid, member_id
from support import free_port


@pytest.mark.parametrize(
    "argv",
    [
        ["-name", "x", "-heartbeat-interval", "200", "-election-timeout=2000"],
        ["--name", "x", "--heartbeat-interval=200", "--election-timeout", "2000"],
    ],
)
def test_go_flag_syntax_in_all_four_spellings(argv: list[str]) -> None:
    c = load_config(argv, {})
    assert (c.name, c.heartbeat_ms, c.election_ms) == ("x", 200, 2000)
    assert c.data_dir == "x.etcd"


def test_every_flag_can_come_from_its_etcd_variable() -> None:
    c = load_config([], {"ETCD_NAME": "coreos-01", "ETCD_ELECTION_TIMEOUT": "5000",
                         "ETCD_HEARTBEAT_INTERVAL": "1000", "ETCD_ENABLE_V2": "true"})  # fmt: skip
    assert (c.name, c.election_ms, c.heartbeat_ms) == ("coreos-01", 5000, 1000)


@pytest.mark.parametrize(
    ("argv", "env", "message", "code"),
    [
        (["--foo"], {}, "flag provided but not defined: -foo", 2),
        (["-heartbeat-interval", "abc"], {},
         'invalid value "abc" for flag -heartbeat-interval: parse error', 2),
        (["--initial-cluster-state", "bogus"], {},
         'invalid value "bogus" for flag -initial-cluster-state: invalid value', 2),
        (["--heartbeat-interval", "1000", "--election-timeout", "3000"], {},
         "error verifying flags, --election-timeout[3000ms] should be at least as 5 times as "
         "--heartbeat-interval[1000ms]. See 'etcd --help'.", 1),
        (["--election-timeout", "60000"], {},
         "error verifying flags, --election-timeout[60000ms] is too long, and should be set "
         "less than 50000ms. See 'etcd --help'.", 1),
        (["--listen-client-urls", "http://127.0.0.1:2379"], {},
         "error verifying flags, --advertise-client-urls is required when "
         "--listen-client-urls is set explicitly. See 'etcd --help'.", 1),
        (["--discovery", "http://d/x", "--initial-cluster", "a=http://127.0.0.1:2380"], {},
         "error verifying flags, multiple discovery or bootstrap flags are set. Choose one of "
         '"initial-cluster", "discovery" or "discovery-srv". See \'etcd --help\'.', 1),
        (["--name", "b"], {"ETCD_NAME": "a"},
         'conflicting environment variable "ETCD_NAME" is shadowed by corresponding '
         "command-line flag (either unset environment variable or disable flag)", 1),
        (["extra-arg"], {},
         "error verifying flags, 'extra-arg' is not a valid flag. See 'etcd --help'.", 1),
    ],
)  # fmt: skip
def test_bad_flags_fail_with_etcds_message(
    argv: list[str], env: dict[str, str], message: str, code: int
) -> None:
    with pytest.raises(FlagError) as e:
        load_config(argv, env)
    assert (e.value.message, e.value.code) == (message, code)


def test_a_name_missing_from_the_initial_cluster_is_refused(
    tmp_path: object, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(str(tmp_path))
    rc = main(["--name", "coreos-04", "--initial-cluster", "coreos-01=http://127.0.0.1:2380"])
    assert rc == 1
    err = capsys.readouterr().err
    assert 'couldn\'t find local name "coreos-04" in the initial cluster configuration' in err


def test_version_reports_the_etcd_api_version_first_then_shoals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--version"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "etcd Version: 3.4.23"
    assert lines[-1].startswith("shoal Version: ")


def test_member_ids_match_the_seeds_cluster() -> None:
    # The seed's cluster-health printed these IDs for 192.168.0.10/20/30, token etcd-cluster-1.
    ids = [member_id([f"http://192.168.0.{n}:2380"], "etcd-cluster-1") for n in (10, 20, 30)]
    assert [hexid(i) for i in ids] == ["7a0fb1a3031d4c79", "59d0611e956db7d1", "6fb0d145a155e8ee"]
    assert cluster_id(ids) == cluster_id(list(reversed(ids)))


def test_proxy_flags_and_their_defaults() -> None:
    c = load_config([], {})
    assert c.proxy == "off"
    assert [c.raw[f"proxy-{f}"] for f in ("failure-wait", "refresh-interval", "dial-timeout",
            "write-timeout", "read-timeout")] == [5000, 30000, 1000, 5000, 0]  # fmt: skip
    assert "  --proxy-refresh-interval '30000'" in USAGE
    c = load_config(["--proxy", "readonly"], {"ETCD_PROXY_FAILURE_WAIT": "250"})
    assert (c.proxy, c.raw["proxy-failure-wait"]) == ("readonly", 250)
    # A proxy advertises nothing, so listening without advertising is accepted (as etcd's).
    c = load_config(["--proxy", "on", "--listen-client-urls", "http://127.0.0.1:2379"], {})
    assert c.listen_client_urls == ["http://127.0.0.1:2379"]


def test_a_bare_boolean_does_not_swallow_the_next_argument() -> None:
    with pytest.raises(FlagError) as e:
        load_config(["--force-new-cluster", "false"], {})
    assert e.value.message == (
        "error verifying flags, 'false' is not a valid flag. See 'etcd --help'."
    )
    assert load_config(["--force-new-cluster=false"], {}).force_new_cluster is False


def test_defaults_are_etcds_and_help_shows_them() -> None:
    c = load_config([], {})
    assert (c.snapshot_count, c.heartbeat_ms, c.election_ms, c.max_wals) == (100000, 100, 1000, 5)
    assert c.strict_reconfig_check and c.initial_cluster == [("default", "http://localhost:2380")]
    assert "  --snapshot-count '100000'" in USAGE
    assert "  --strict-reconfig-check 'true'" in USAGE
    assert "  --data-dir '${name}.etcd'" in USAGE


# Each case is refused by /usr/bin/etcd 3.4.23 with exactly this message (the test below checks
# the binary itself when it is installed).
REAL_ETCD_CASES = [
    (["--force-new-cluster=yes"], {},
     'invalid boolean value "yes" for -force-new-cluster: parse error'),
    (["--snapshot-count", "18446744073709551616"], {},
     'invalid value "18446744073709551616" for flag -snapshot-count: value out of range'),
    (["--snapshot-count=-1"], {}, 'invalid value "-1" for flag -snapshot-count: parse error'),
    (["---x"], {}, "bad flag syntax: ---x"),
    (["--name"], {}, "flag needs an argument: -name"),
    ([], {"ETCD_SNAPSHOT_COUNT": "abc"},
     "error verifying flags, invalid value \"abc\" for ETCD_SNAPSHOT_COUNT: parse error. "
     "See 'etcd --help'."),
    ([], {"ETCD_FORCE_NEW_CLUSTER": "yes"},
     "error verifying flags, invalid value \"yes\" for ETCD_FORCE_NEW_CLUSTER: parse error. "
     "See 'etcd --help'."),
    (["--listen-peer-urls", "ftp://x:1"], {},
     'invalid value "ftp://x:1" for flag -listen-peer-urls: '
     "URL scheme must be http, https, unix, or unixs: ftp://x:1"),
    (["--listen-client-urls", "http://x:1,ftp://y:2", "--advertise-client-urls", "http://x:1"], {},
     'invalid value "http://x:1,ftp://y:2" for flag -listen-client-urls: '
     "URL scheme must be http, https, unix, or unixs: ftp://y:2"),
    (["--initial-advertise-peer-urls", "http://x"], {},
     'invalid value "http://x" for flag -initial-advertise-peer-urls: '
     'URL address does not have the form "host:port": http://x'),
    (["--listen-peer-urls", "http://x:1/"], {},
     'invalid value "http://x:1/" for flag -listen-peer-urls: URL must not contain a path: '
     "http://x:1/"),
    (["--listen-peer-urls", "http://x:abc"], {},
     'invalid value "http://x:abc" for flag -listen-peer-urls: '
     'parse "http://x:abc": invalid port ":abc" after host'),
    ([], {"ETCD_LISTEN_PEER_URLS": "ftp://x:1"},
     'error verifying flags, invalid value "ftp://x:1" for ETCD_LISTEN_PEER_URLS: '
     "URL scheme must be http, https, unix, or unixs: ftp://x:1. See 'etcd --help'."),
    (["--initial-cluster", "foo"], {},
     "error setting up initial cluster: URL scheme must be http, https, unix, or unixs: "),
    (["--initial-cluster", "default=http://x"], {},
     'error setting up initial cluster: URL address does not have the form "host:port": '
     "http://x"),
    ([], {"ETCD_INITIAL_CLUSTER_STATE": "x"},
     "error verifying flags, invalid value \"x\" for ETCD_INITIAL_CLUSTER_STATE: invalid value. "
     "See 'etcd --help'."),
    (["--proxy", "bogus"], {}, 'invalid value "bogus" for flag -proxy: invalid value'),
    (["--proxy-failure-wait", "-5"], {},
     'invalid value "-5" for flag -proxy-failure-wait: parse error'),
    ([], {"ETCD_PROXY": "bogus"},
     "error verifying flags, invalid value \"bogus\" for ETCD_PROXY: invalid value. "
     "See 'etcd --help'."),
    ([], {"ETCD_PROXY_READ_TIMEOUT": "1s"},
     "error verifying flags, invalid value \"1s\" for ETCD_PROXY_READ_TIMEOUT: parse error. "
     "See 'etcd --help'."),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "env", "message"), REAL_ETCD_CASES)
def test_go_flag_errors_are_etcds(argv: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(FlagError) as e:
        load_config(argv, env)
    assert e.value.message == message


@pytest.mark.skipif(not os.path.exists("/usr/bin/etcd"), reason="needs /usr/bin/etcd")
@pytest.mark.parametrize(("argv", "env", "message"), REAL_ETCD_CASES)
def test_the_real_etcd_prints_the_same(
    argv: list[str], env: dict[str, str], message: str, tmp_path: Path
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
    # etcd binds its listeners before it reads the initial cluster: never let it take the
    # default ports (someone else's), give it free loopback ones unless the case sets them.
    given = " ".join(argv) + " ".join(env)
    safe = []
    if "listen-peer-urls" not in given and "LISTEN_PEER_URLS" not in given:
        safe.append(f"--listen-peer-urls=http://127.0.0.1:{free_port()}")
    if "listen-client-urls" not in given and "LISTEN_CLIENT_URLS" not in given:
        url = f"http://127.0.0.1:{free_port()}"
        safe += [f"--listen-client-urls={url}", f"--advertise-client-urls={url}"]
    p = subprocess.run(
        ["/usr/bin/etcd", *safe, *argv], env={**clean, **env}, cwd=tmp_path,
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert p.returncode != 0
    assert message in p.stderr
