from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shoal.systemd.journal import Journal, read
from shoal.systemd.manager import Manager
from shoal.systemd.unit import Unit

PY = sys.executable
# sd_notify from a shell: what `systemd-notify --ready --status=serving` does.
NOTIFY = f"{PY} -m shoal.systemd.notify READY=1 STATUS=serving"


class Machine:
    """A root directory with unit files, and a manager over it (used inside `run`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.unit_dir = root / "etc" / "systemd" / "system"
        self.unit_dir.mkdir(parents=True)
        self.journal = Journal(root)
        self.manager: Manager | None = None

    def unit(self, name: str, text: str) -> None:
        (self.unit_dir / name).write_text(text)

    def dropin(self, name: str, conf: str, text: str) -> None:
        d = self.unit_dir / f"{name}.d"
        d.mkdir(exist_ok=True)
        (d / conf).write_text(text)

    def new_manager(self) -> Manager:
        self.manager = Manager(self.root, self.journal)
        return self.manager

    def log(self, unit: str) -> list[str]:
        return [e.message for e in read(self.root, frozenset({unit}))]

    def run(self, body: Callable[[Manager], Awaitable[Any]], timeout: float = 30.0) -> Any:
        async def main() -> Any:
            m = self.new_manager()
            try:
                return await asyncio.wait_for(body(m), timeout)
            finally:
                await asyncio.wait_for(m.shutdown(), 30)

        return asyncio.run(main())


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[Machine]:
    m = Machine(tmp_path / "root")
    try:
        yield m
    finally:
        m.journal.close()
        # Belt and braces: no process group a test started outlives it.
        if m.manager is not None:
            for u in m.manager.units.values():
                for g in u.pgids:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(g, signal.SIGKILL)


def state(u: Unit) -> tuple[str, str]:
    return (u.active_state, u.sub_state)
