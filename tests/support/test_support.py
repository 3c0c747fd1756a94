"""The shared test helpers do what every folder relies on: a wait fails naming what it awaited,
the launcher leaves no process behind (children included), a process that dies early fails its
readiness wait with its log, and the real etcd comes up ready on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from support import (
    EtcdMember,
    Procs,
    etcd_ready,
    free_port,
    real_etcd,
    wait_until,
    wait_until_async,
)


def test_wait_until_returns_the_first_truthy_value() -> None:
    values = iter([0, None, "", "got it"])
    assert wait_until(lambda: next(values), 5, "a value", every=0.001) == "got it"


def test_wait_until_fails_saying_what_it_awaited_and_the_last_error() -> None:
    def probe() -> bool:
        raise ConnectionRefusedError("nobody home")

    with pytest.raises(AssertionError) as e:
        wait_until(probe, 0.1, "the registry", ignore=(OSError,))
    assert "timed out after 0.1s waiting for the registry" in str(e.value)
    assert "nobody home" in str(e.value)


def test_wait_until_does_not_swallow_unexpected_errors() -> None:
    with pytest.raises(ZeroDivisionError):
        wait_until(lambda: 1 / 0, 5, "a division")


def test_wait_until_async_accepts_async_probes() -> None:
    async def main() -> int:
        ticks = 0

        async def probe() -> int:
            nonlocal ticks
            ticks += 1
            return ticks if ticks >= 3 else 0

        return await wait_until_async(probe, 5, "three ticks", every=0.001)

    assert asyncio.run(main()) == 3


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_close_kills_and_reaps_processes_and_their_children(tmp_path: Path) -> None:
    child = tmp_path / "child.pid"
    with Procs(tmp_path / "p") as procs:
        p = procs.start(
            "parent", ["/bin/sh", "-c", f"sleep 600 & echo $! > {child}; exec sleep 600"]
        )
        wait_until(lambda: child.exists() and child.read_text().strip(), 10, "the child's pid")
        kid = int(child.read_text())
    assert p.returncode == -signal.SIGKILL
    wait_until(lambda: not _alive(kid), 10, "the child to die with its group")


def test_stop_escalates_to_sigkill_when_sigterm_is_ignored(procs: Procs) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up'); "
        "time.sleep(600)"
    )
    procs.start("stubborn", [sys.executable, "-c", code])
    procs.wait_ready("stubborn", lambda: "up" in procs.log("stubborn"), 20)
    start = time.monotonic()
    assert procs.stop("stubborn", grace=0.5) == -signal.SIGKILL
    assert time.monotonic() - start < 10


def test_a_process_that_exits_fails_its_readiness_wait_with_its_log(procs: Procs) -> None:
    procs.start("broken", [sys.executable, "-c", "import sys; sys.exit('bad flag --frob')"])
    with pytest.raises(AssertionError) as e:
        procs.wait_ready("broken", lambda: False, 30, "broken to listen")
    assert "broken exited with status 1 before broken to listen" in str(e.value)
    assert "bad flag --frob" in str(e.value)


def test_member_flags_are_loopback_with_v2() -> None:
    m = EtcdMember.on("m1", "127.0.0.7")
    args = m.flags("/tmp/x", [m])
    assert args[args.index("--listen-client-urls") + 1].startswith("http://127.0.0.7:")
    assert "--enable-v2" in args
    assert args[args.index("--initial-cluster") + 1] == f"m1={m.peer_url}"
    assert free_port() > 0


def test_real_etcd_is_ready_and_gone_afterwards() -> None:
    with real_etcd() as m:
        assert etcd_ready(m.client_url)
        with urllib.request.urlopen(m.client_url + "/version", timeout=5) as r:
            assert json.load(r)["etcdserver"].startswith("3.4.")
        pids = [int(d) for d in os.listdir("/proc") if d.isdigit() and _serves(int(d), m.addr)]
    assert pids and not any(_alive(p) for p in pids)


def _serves(pid: int, addr: str) -> bool:
    try:
        return addr.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def test_wait_exit_gives_the_code_and_close_still_kills_what_it_left(tmp_path: Path) -> None:
    child = tmp_path / "child.pid"
    with Procs(tmp_path / "p") as procs:
        procs.start("leaver", ["/bin/sh", "-c", f"sleep 600 & echo $! > {child}; exit 3"])
        assert procs.wait_exit("leaver", 20) == 3
        kid = int(child.read_text())
        assert _alive(kid)
    wait_until(lambda: not _alive(kid), 10, "the left-behind child to die with its group")
