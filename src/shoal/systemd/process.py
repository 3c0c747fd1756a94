"""The processes a unit runs: spawn one command in its own process group, dying with the node
(shoal.proc: a machine killed with SIGKILL takes its units with it, as a powered-off VM would).

The unit manager's only contact with the operating system's processes (whether a pid or a group
still lives is shoal.proc.status's); each command's output is one pipe (stdout and stderr
together) that the manager copies into the journal.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from shoal.proc.spawn import die_with_parent


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
        preexec_fn=die_with_parent,
    )
    assert protocol is not None and protocol.stdout is not None
    process = asyncio.subprocess.Process(transport, protocol, loop)
    return Child(transport.get_pid(), protocol.stdout, protocol.exited, process)
