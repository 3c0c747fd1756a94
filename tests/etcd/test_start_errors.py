"""`shoal etcd` that cannot start says so as etcd 3.4 does: one `C | etcdmain: ...` line, exit 1,
and nothing written (issue 19, rows 4 and 5). Each case runs the real /usr/bin/etcd with the same
flags in a twin directory and expects the very same line from both."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.etcd import ETCD, HAVE_ETCD, SKIP_REASON
from support.ports import free_port

pytestmark = pytest.mark.timeout(120)

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} ")


def run(
    program: list[str], cwd: Path, *flags: str, env: dict[str, str] | None = None
) -> tuple[int, list[str]]:
    """Exit code and the fatal lines (timestamps cut) of `program flags` started in cwd."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
    full.update(env or {})
    r = subprocess.run([*program, *flags], cwd=cwd, capture_output=True, text=True, timeout=60,
                       env=full)  # fmt: skip
    assert "Traceback" not in r.stderr, r.stderr
    lines = [STAMP.sub("", x) for x in r.stderr.splitlines()]
    return r.returncode, [x for x in lines if x.startswith("C | ")]


SHOAL = [sys.executable, "-m", "shoal.cli", "etcd"]


def listing(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


@pytest.fixture
def twins(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    a, b = tmp_path / "shoal", tmp_path / "etcd"
    a.mkdir()
    b.mkdir()
    try:
        yield a, b
    finally:
        for d in (a, b):
            for p in d.rglob("*"):
                with contextlib.suppress(OSError):
                    subprocess.run(["chattr", "-i", str(p)], capture_output=True, check=False)


def flags(peer: int, client: int, data_dir: str = "d") -> list[str]:
    return [
        "--name", "x", "--data-dir", data_dir, "--enable-v2",
        "--listen-peer-urls", f"http://127.0.0.1:{peer}",
        "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
        "--initial-cluster", f"x=http://127.0.0.1:{peer}",
        "--listen-client-urls", f"http://127.0.0.1:{client}",
        "--advertise-client-urls", f"http://127.0.0.1:{client}",
    ]  # fmt: skip


def same_fatal_line(twins: tuple[Path, Path], argv: list[str], expected: str) -> None:
    """Both refuse with the line `expected`, exit 1, and leave their directory as it was."""
    results = []
    for program, d in ((SHOAL, twins[0]), ([ETCD], twins[1])):
        if program == [ETCD] and not HAVE_ETCD:
            continue
        before = listing(d)
        code, fatal = run(program, d, *argv)
        results.append((program[-1], code, fatal))
        assert listing(d) == before, f"{program[-1]} wrote {set(listing(d)) - set(before)}"
    for name, code, fatal in results:
        assert (code, fatal) == (1, [f"C | etcdmain: {expected}"]), (name, code, fatal)


def test_a_port_out_of_range(twins: tuple[Path, Path]) -> None:
    same_fatal_line(twins, flags(99999, free_port()), "listen tcp: address 99999: invalid port")
    same_fatal_line(twins, flags(free_port(), 99999), "listen tcp: address 99999: invalid port")


@pytest.mark.parametrize("which", ["peer", "client"])
def test_a_port_in_use(twins: tuple[Path, Path], which: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        argv = flags(busy, free_port()) if which == "peer" else flags(free_port(), busy)
        same_fatal_line(twins, argv, f"listen tcp 127.0.0.1:{busy}: bind: address already in use")


def test_a_port_in_use_is_named_by_its_resolved_address(twins: tuple[Path, Path]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        argv = flags(busy, free_port())
        argv = [a.replace(f"127.0.0.1:{busy}", f"localhost:{busy}") for a in argv]
        same_fatal_line(twins, argv, f"listen tcp 127.0.0.1:{busy}: bind: address already in use")


def test_a_data_dir_that_is_a_file_or_under_one(twins: tuple[Path, Path]) -> None:
    for d in twins:
        (d / "blocker").write_text("not a directory\n")
    same_fatal_line(twins, flags(free_port(), free_port(), "blocker"),
                    "error listing data dir: blocker")  # fmt: skip
    same_fatal_line(twins, flags(free_port(), free_port(), "blocker/d"),
                    "error listing data dir: blocker/d")  # fmt: skip


def _immutable(d: Path) -> bool:
    return subprocess.run(["chattr", "+i", str(d)], capture_output=True).returncode == 0


def test_a_data_dir_that_cannot_be_written(twins: tuple[Path, Path]) -> None:
    # Tests run as root here, whom file modes do not stop; an immutable directory does.
    for d in twins:
        (d / "ro").mkdir()
        if not _immutable(d / "ro"):
            pytest.skip("chattr +i is not available on this file system")
    same_fatal_line(
        twins,
        flags(free_port(), free_port(), "ro"),
        "cannot access data directory: open ro/.touch: operation not permitted",
    )
    same_fatal_line(
        twins,
        flags(free_port(), free_port(), "ro/member"),
        "cannot access data directory: mkdir ro/member: operation not permitted",
    )


@pytest.mark.skipif(not HAVE_ETCD, reason=SKIP_REASON)
def test_the_real_etcd_is_what_these_cases_compare_with(twins: tuple[Path, Path]) -> None:
    # The comparison can fail: the real etcd, given good flags, does start (and is stopped).
    p = subprocess.Popen([ETCD, *flags(free_port(), free_port())], cwd=twins[1],
                         stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert p.stderr is not None
        for line in p.stderr:
            if "ready to serve client requests" in line:
                break
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()


# --- row 5: a flag shoal does not implement is refused by name -----------------------------------


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["--logger", "zap"], {}, "--logger=zap"),
        (["--log-outputs", "etcd.log"], {}, "--log-outputs=etcd.log"),
        ([], {"ETCD_LOGGER": "zap"}, "ETCD_LOGGER (--logger=zap)"),
    ],
)
def test_a_flag_not_implemented_is_refused_by_name(
    tmp_path: Path, argv: list[str], env: dict[str, str], named: str
) -> None:
    code, fatal = run(SHOAL, tmp_path, *argv, env=env)
    assert code == 1
    assert len(fatal) == 1 and fatal[0].startswith(
        f"C | etcdmain: error verifying flags, {named} is not implemented by shoal etcd yet"
    ), fatal
    assert list(tmp_path.iterdir()) == []


def test_the_defaults_of_those_flags_are_accepted(tmp_path: Path) -> None:
    from shoal.etcd.flags import load_config

    c = load_config(
        ["--client-cert-auth=false", "--log-outputs", "stderr", "--logger=capnslog"], {}
    )
    assert c.name == "default"
