"""A `UnitRunner` that drives `shoal node`'s unit manager through its control socket, the way
fleet's agent drove systemd over D-Bus.

The node's protocol (documented in shoal.systemd.control; reproduced here rather than imported so
fleet stays below node in the layers): JSON lines on a unix socket at
`<root>/run/shoal/control.sock`; `load {unit, text}` installs a runtime unit, `start`/`stop`
`{unit, no_block}`, `unload {unit}`, and `subscribe` streams `{"event": "unit", "unit": {...}}`
on every state change. Units keep running if fleetd stops, as they did under systemd.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shoal.fleet.runner import UnitStatus

log = logging.getLogger("shoal.fleet.runner")

CONTROL_SOCKET = "run/shoal/control.sock"  # shoal.systemd.control: under the machine's root
REQUEST_TIMEOUT = 30.0


class NodeError(Exception):
    pass


def control_socket(root_dir: str) -> Path:
    return Path(root_dir) / CONTROL_SOCKET


def _status(unit: dict[str, Any]) -> UnitStatus:
    return UnitStatus(
        str(unit.get("load_state", "")),
        str(unit.get("active_state", "")),
        str(unit.get("sub_state", "")),
    )


class NodeRunner:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.units: dict[str, UnitStatus] = {}
        self._refused: dict[str, str] = {}
        """Units the node would not load, and its reason: they stay `error` whatever the node
        says of the name afterwards (it knows them as not-found)."""
        self._listener: Callable[[], None] = lambda: None
        self._lock = asyncio.Lock()
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._events: asyncio.Task[None] | None = None

    def set_listener(self, fn: Callable[[], None]) -> None:
        self._listener = fn

    async def _request(self, req: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            if self._events is None:
                self._events = asyncio.create_task(self._follow())
            for attempt in (1, 2):  # one reconnect: the node may have restarted its socket
                try:
                    if self._conn is None:
                        self._conn = await asyncio.open_unix_connection(
                            str(self.path), limit=8 * 1024 * 1024
                        )
                    reader, writer = self._conn
                    writer.write(json.dumps(req).encode() + b"\n")
                    await writer.drain()
                    line = await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT)
                    if not line:
                        raise ConnectionError("the node closed the connection")
                    answer: dict[str, Any] = json.loads(line)
                    break
                except (OSError, ConnectionError, TimeoutError, ValueError) as e:
                    await self._drop()
                    if attempt == 2:
                        raise NodeError(f"cannot reach the node at {self.path}: {e}") from e
        if not answer.get("ok"):
            raise NodeError(str(answer.get("error", "request refused")))
        return answer

    async def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn[1].close()
            self._conn = None

    async def _follow(self) -> None:
        """Keep our units' states current from the node's event stream."""
        while True:
            try:
                reader, writer = await asyncio.open_unix_connection(
                    str(self.path), limit=8 * 1024 * 1024
                )
                writer.write(b'{"op":"subscribe"}\n')
                await writer.drain()
                await reader.readline()  # the subscription's acknowledgement
                while line := await reader.readline():
                    ev = json.loads(line)
                    unit = ev.get("unit") or {}
                    name = unit.get("name")
                    if name in self.units and name not in self._refused:
                        st = _status(unit)
                        if self.units[name] != st:
                            self.units[name] = st
                            self._listener()
                writer.close()
            except (OSError, ValueError) as e:
                log.debug("node event stream: %s", e)
            await asyncio.sleep(1.0)

    def _update(self, answer: dict[str, Any], name: str) -> None:
        unit = answer.get("unit")
        if isinstance(unit, dict) and name in self.units and name not in self._refused:
            self.units[name] = _status(unit)
            self._listener()

    async def load(self, name: str, text: str) -> None:
        self.units[name] = UnitStatus("loaded", "inactive", "dead")
        self._refused.pop(name, None)
        try:
            answer = await self._request({"op": "load", "unit": name, "text": text})
        except NodeError as e:
            log.error("node refused to load %s: %s", name, e)
            self._refused[name] = str(e)
            self.units[name] = UnitStatus("error", "inactive", "dead", str(e))
            self._listener()
            return
        self._update(answer, name)

    async def unload(self, name: str) -> None:
        if name not in self.units:
            return
        with contextlib.suppress(NodeError):
            await self._request({"op": "unload", "unit": name})
        del self.units[name]
        self._refused.pop(name, None)
        self._listener()

    async def start(self, name: str) -> None:
        answer = await self._request({"op": "start", "unit": name, "no_block": True})
        self._update(answer, name)

    async def stop(self, name: str) -> None:
        answer = await self._request({"op": "stop", "unit": name, "no_block": True})
        self._update(answer, name)

    def status(self, name: str) -> UnitStatus | None:
        return self.units.get(name)

    def loaded(self) -> list[str]:
        return sorted(self.units)

    async def journal(self, name: str, lines: int) -> list[str]:
        """The unit's journal entries on this machine, as journalctl prints them."""
        answer = await self._request({"op": "journal", "unit": name, "lines": lines})
        return [str(e.get("line", "")) for e in answer.get("entries") or []]

    async def close(self) -> None:
        """Leaves the units to the node (fleetd's shutdown unloads them first when it should)."""
        if self._events is not None:
            self._events.cancel()
        await self._drop()
