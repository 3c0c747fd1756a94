"""Every `shoal` subcommand given what a new user gives it by mistake (issue 19's sweep): no
arguments, `--help`, an unknown flag, a bad value for each kind of flag, a missing file, a
directory that cannot be made, a port already taken. Each row is the command as typed, the exit
status, and a piece of the one line that says what is wrong; no row may show a traceback.

Daemons are not run without arguments here (they would start serving on the default ports: etcd,
fleetd, discovery, `shoal up`, bench, the dashboard, torture); they get input that fails before
they serve.
Placeholders: $F a regular file, $B a port something listens on, $P a free port, $T the row's
directory, $NX a path that does not exist.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.ports import free_port

COMMANDS = [
    "sim", "etcd", "fleetd", "fleetctl", "cloudinit", "etcdctl", "node", "systemctl", "journal",
    "up", "status", "stop", "start", "kill", "partition", "heal", "down", "bench", "discovery",
    "ssh", "torture", "dashboard",
]  # fmt: skip
SERVERS = {"etcd", "fleetd", "up", "bench", "discovery", "torture"}
NO_ETCD = "--etcd_servers http://127.0.0.1:1"  # fleetd: an etcd that is never there

# (what is typed after `shoal`, exit status, a piece of what it says)
ROWS: list[tuple[str, int, str]] = [
    # no arguments
    ("sim", 2, "the following arguments are required: what"),
    ("fleetctl", 0, "fleetctl is a command-line interface to fleet"),
    ("cloudinit", 2, "the following arguments are required: --from-file"),
    ("etcdctl", 0, "USAGE:"),
    ("node", 2, "the following arguments are required: --cloud-config, --root"),
    ("systemctl", 1, "which machine? pass -M NODE"),
    ("journal", 1, "which machine? pass -M NODE"),
    ("status", 1, "no cluster in $T/home: start one with `shoal up"),
    ("stop", 2, "the following arguments are required: NODE"),
    ("start", 2, "the following arguments are required: NODE"),
    ("kill", 2, "the following arguments are required: NODE"),
    ("partition", 2, "the following arguments are required: NODE"),
    ("heal", 1, "no cluster in $T/home"),
    ("down", 0, "no cluster in $T/home: nothing to do"),
    ("ssh", 2, "the following arguments are required: NODE"),
    ("dashboard", 1, "no cluster in $T/home: start one with `shoal up"),
    # bad values, by kind of flag
    ("sim raft --seeds x", 2, "argument --seeds: invalid int value: 'x'"),
    ("sim raft --seeds 0", 2, "--seeds and --steps must be at least 1"),
    ("etcd --snapshot-count x", 2, 'invalid value "x" for flag -snapshot-count: parse error'),
    ("etcd --initial-cluster-state maybe", 2, 'invalid value "maybe" for flag'),
    ("etcd --strict-reconfig-check=maybe", 2, "invalid boolean value"),
    ("etcd --listen-client-urls http://127.0.0.1:abc --advertise-client-urls http://a:1", 2,
     'invalid port ":abc" after host'),
    ("etcd --election-timeout 10", 1, "should be at least as 5 times as --heartbeat-interval"),
    ("etcd --logger zap", 1, "--logger=zap is not implemented by shoal etcd yet"),
    (f"fleetd {NO_ETCD} --engine_reconcile_interval x", 1,
     'invalid value "x" for flag -engine_reconcile_interval'),
    (f"fleetd {NO_ETCD} --api_tcp 127.0.0.1:99999", 1, "listen tcp 127.0.0.1:99999: bind: "
     "invalid port"),
    ("fleetctl --request-timeout x list-units", 1, 'invalid argument "x" for "--request-timeout"'),
    ("fleetctl --endpoint bogus list-units", 1, "Unable to initialize client"),
    ("etcdctl --timeout x get /a", 1, 'invalid value "x" for flag -timeout: parse error'),
    ("systemctl --root $T -n x status x", 2, "argument -n/--lines: invalid int value: 'x'"),
    ("journal --root $T -n x", 2, "argument -n/--lines: invalid int value: 'x'"),
    ("journal --root $T -o bogus", 2, "argument -o/--output: invalid choice: 'bogus'"),
    ("up --size x", 2, "argument --size: invalid int value: 'x'"),
    ("up --size 0", 1, "--size must be at least 1"),
    ("up --timeout x", 2, "argument --timeout: invalid float value: 'x'"),
    ("up --subnet 10.0.0.0", 1, "need a subnet inside 127.0.0.0/8"),
    ("up --subnet banana", 1, "--subnet 'banana' is not an IPv4 address"),
    ("up --discovery bogus --size 1", 1, "--discovery 'bogus' is not a URL"),
    ("start --dir $NX 1 --timeout x", 2, "argument --timeout: invalid float value: 'x'"),
    ("bench --duration x", 2, "argument --duration: invalid float value: 'x'"),
    ("bench --rows bogus", 2, "unknown rows bogus"),
    ("discovery --listen bogus", 2, "--listen must be http://host:port"),
    ("discovery --token-ttl x", 2, "invalid --token-ttl 'x'"),
    ("torture --duration x", 2, "argument --duration: invalid float value: 'x'"),
    ("torture --nodes 4", 2, "argument --nodes: invalid choice: 4"),
    ("torture --faults bogus", 2, "unknown fault kind(s) bogus"),
    ("torture --hold x", 2, "--hold wants two numbers: min,max"),
    ("dashboard --listen bogus", 2, "--listen 'bogus': want HOST:PORT"),
    ("dashboard --endpoints ftp://x", 2, "'ftp://x' is not an http(s)://host:port URL"),
    ("dashboard --endpoints http://127.0.0.1:1 --listen bogus", 2,
     "--listen 'bogus': want HOST:PORT"),
    # a file that is not there (or is not what was asked for)
    ("cloudinit --from-file $NX --validate", 1, "cannot read $NX: No such file or directory"),
    ("cloudinit --from-file $F --validate", 1, 'must be "#cloud-config"'),
    ("node --cloud-config $NX --root $T/r", 1, "cannot read $NX: No such file or directory"),
    ("up $NX", 1, "cannot read $NX: No such file or directory"),
    ("fleetd --config $NX", 1, "Unable to use config file $NX"),
    ("fleetctl --endpoint http://127.0.0.1:1 submit $NX", 1, "Error creating units"),
    ("journal --root $NX", 1, "no machine at $NX"),
    ("systemctl --root $NX status x", 1, "no node is running there"),
    ("systemctl -M 9 status x", 1, "no machine '9' in $T/home"),
    ("stop --dir $NX 1", 1, "no cluster in $NX"),
    ("ssh --dir $NX 1", 1, "no cluster in $NX"),
    ("dashboard --dir $NX", 1, "no cluster in $NX"),
    ("dashboard --dir $NX", 1, "no cluster in $NX"),
    ("dashboard --endpoints http://127.0.0.1:1 --ca-file $NX", 1,
     "cannot use the TLS files ($NX): No such file or directory"),
    # a directory that cannot be made (under a regular file)
    ("up --dir $F/c --size 1", 1, "cannot make the cluster's directory $F/c: Not a directory"),
    ("etcd --data-dir $F/d", 1, "C | etcdmain: error listing data dir: $F/d"),
    (f"fleetd {NO_ETCD} --api_socket $F/x.sock", 1, "listen unix $F/x.sock"),
    ("cloudinit --from-file $T/ok.yml --root $F/r", 1, "cannot apply $T/ok.yml"),
    ("bench --data-root $F/b --no-etcd --rows put1 --duration 1", 1, "$F/b: Not a directory"),
    ("torture --keep $F/t --duration 1", 1, "$F/t: Not a directory"),
    # a port already taken
    ("etcd --listen-client-urls http://127.0.0.1:$B --advertise-client-urls http://127.0.0.1:$B "
     "--listen-peer-urls http://127.0.0.1:$P --initial-advertise-peer-urls http://127.0.0.1:$P "
     "--initial-cluster default=http://127.0.0.1:$P",
     1, "C | etcdmain: listen tcp 127.0.0.1:$B: bind: address already in use"),
    ("etcd --listen-peer-urls http://127.0.0.1:$B --initial-advertise-peer-urls "
     "http://127.0.0.1:$B --initial-cluster default=http://127.0.0.1:$B", 1,
     "C | etcdmain: listen tcp 127.0.0.1:$B: bind: address already in use"),
    (f"fleetd {NO_ETCD} --api_tcp 127.0.0.1:$B", 1,
     "listen tcp 127.0.0.1:$B: bind: address already in use"),
    ("dashboard --endpoints http://127.0.0.1:1 --listen 127.0.0.1:$B", 1,
     "listen tcp 127.0.0.1:$B: bind: address already in use"),
    ("discovery --listen http://127.0.0.1:$B --etcd-endpoints http://127.0.0.1:1", 1,
     "C | discovery: listen tcp 127.0.0.1:$B: bind: address already in use"),
    ("dashboard --endpoints http://127.0.0.1:1 --listen 127.0.0.1:$B", 1,
     "shoal dashboard: listen tcp 127.0.0.1:$B: bind: address already in use"),
]  # fmt: skip

ROWS += [(f"{c} --help", 0, "") for c in COMMANDS]
ROWS += [(f"{c} --no-such-flag", 2, "no-such-flag") for c in COMMANDS]
# Commands that answer an unknown flag their own way (as the programs they copy do).
_OWN_WAY = {"fleetctl": (1, "Error: unknown flag: --no-such-flag"),
            "etcdctl": (1, "flag provided but not defined: -no-such-flag"),
            "etcd": (2, "flag provided but not defined: -no-such-flag"),
            "fleetd": (2, "flag provided but not defined: -no-such-flag"),
            "stop": (2, "required: NODE"), "start": (2, "required: NODE"),
            "kill": (2, "required: NODE"), "partition": (2, "required: NODE"),
            "ssh": (2, "required: NODE"),
            "sim": (2, "required: what"), "cloudinit": (2, "required: --from-file"),
            "node": (2, "required: --cloud-config")}  # fmt: skip
ROWS = [
    (argv, *_OWN_WAY[argv.split()[0]]) if argv.endswith("--no-such-flag") and
    argv.split()[0] in _OWN_WAY else (argv, code, text)
    for argv, code, text in ROWS
]  # fmt: skip

OK_CONFIG = "#cloud-config\nhostname: ok\n"
PARALLEL = 4  # the rows are independent: run a few at once, each in its own directory


@dataclass(frozen=True)
class Seen:
    code: int
    said: str
    stdout: str
    leftovers: set[str]
    place: dict[str, str]


def _fill(text: str, place: dict[str, str]) -> str:
    for key in sorted(place, key=len, reverse=True):
        text = text.replace(key, place[key])
    return text


def _run(t: Path, busy: int, argv: str) -> Seen:
    t.mkdir()
    (t / "file").write_text("a regular file\n")
    (t / "ok.yml").write_text(OK_CONFIG)
    place = {"$F": str(t / "file"), "$B": str(busy), "$NX": str(t / "nonexistent"), "$T": str(t),
             "$P": str(free_port())}  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOAL_", "ETCD", "FLEET"))}
    env["SHOAL_HOME"] = f"{t}/home"
    r = subprocess.run(
        [sys.executable, "-m", "shoal.cli", *_fill(argv, place).split()],
        capture_output=True, text=True, timeout=120, env=env, cwd=t, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    leftovers = {p.name for p in t.iterdir()} - {"file", "ok.yml", "home"}
    return Seen(r.returncode, r.stdout + r.stderr, r.stdout, leftovers, place)


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Seen]]:
    t = tmp_path_factory.mktemp("sweep")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        with ThreadPoolExecutor(PARALLEL) as pool:
            futures = {
                argv: pool.submit(_run, t / f"row{i}", busy, argv)
                for i, (argv, _, _) in enumerate(ROWS)
            }
            yield {argv: f.result() for argv, f in futures.items()}


@pytest.mark.timeout(600)  # the first row waits for the whole table
@pytest.mark.parametrize(("argv", "code", "says"), ROWS, ids=[r[0] for r in ROWS])
def test_a_mistake_gets_one_clear_line(
    seen: dict[str, Seen], argv: str, code: int, says: str
) -> None:
    s = seen[argv]
    assert "Traceback" not in s.said, s.said
    assert s.code == code, s.said
    if argv.endswith("--help"):
        assert "usage" in s.stdout.lower(), s.stdout
    assert _fill(says, s.place) in s.said, s.said
    assert not s.leftovers, f"{argv} left {s.leftovers} behind"


def test_the_sweep_covers_every_command() -> None:
    from shoal.cli import COMMANDS as TABLE

    assert set(COMMANDS) == set(TABLE), "a new command needs its rows in this sweep"
    typed = {argv.split()[0] for argv, _, _ in ROWS}
    assert typed == set(TABLE)
    assert set(TABLE) >= SERVERS


@pytest.mark.timeout(120)
@pytest.mark.parametrize("command", COMMANDS)
def test_help_into_a_closed_pipe_ends_quietly(command: str, tmp_path: Path) -> None:
    # `shoal CMD --help | head -0`: the reader is gone before the first line.
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run(
            [sys.executable, "-m", "shoal.cli", command, "--help"],
            stdout=w, stderr=subprocess.PIPE, text=True, timeout=90, cwd=tmp_path,
        )  # fmt: skip
    finally:
        os.close(w)
    assert p.stderr == "", p.stderr
    assert p.returncode in (0, 141)
