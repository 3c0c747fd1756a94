"""The processes a unit runs: spawn one command in its own process group, and tell whether a pid
or a process group still lives (a zombie not yet reaped counts as gone).

The unit manager's only contact with the operating system's processes; each command's output is
one pipe (stdout and stderr together) that the manager copies into the journal.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass


class _ChildProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """Tells when the process exits. asyncio's Process.wait() (3.11) also waits until every
    pipe is closed, which never happens while a daemon the unit forked keeps its stdout."""

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited: asyncio.Future[int] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.process_transport = transport

    def process_exited(self) -> None:
        super().process_exited()
        rc = self.process_transport.get_returncode()
        if not self.exited.done():
            self.exited.set_result(rc if rc is not None else -1)


@dataclass
class Child:
    """A spawned command: its pid, its output stream, and its exit."""

    pid: int
    stdout: asyncio.StreamReader
    _exited: asyncio.Future[int]
    _process: asyncio.subprocess.Process

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)


async def spawn_child(argv: list[str], exe: str, cwd: str | None, env: dict[str, str]) -> Child:
    loop = asyncio.get_running_loop()
    protocol: _ChildProtocol | None = None

    def factory() -> _ChildProtocol:
        nonlocal protocol
        protocol = _ChildProtocol(limit=2**16, loop=loop)
        return protocol

    transport, _ = await loop.subprocess_exec(
        factory,
        argv[0],
        *argv[1:],
        executable=exe,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=cwd,
        env=env,
        start_new_session=True,  # its own process group: a stop kills all it started
        preexec_fn=_die_with_parent,
    )
    assert protocol is not None and protocol.stdout is not None
    process = asyncio.subprocess.Process(transport, protocol, loop)
    return Child(transport.get_pid(), protocol.stdout, protocol.exited, process)


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """A machine killed with SIGKILL takes its units with it, as a powered-off VM would."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def pgid_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Only zombies (ours, not yet reaped by asyncio's watcher) left? Then the group is gone.
    return not _group_all_zombies(pgid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _group_all_zombies(pgid: int) -> bool:
    try:
        entries = os.listdir("/proc")
    except OSError:
        return False
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return False
    return os.path.isdir("/proc")
