"""The node's control socket: how `shoal systemctl` and fleet's agent talk to a machine.

A unix stream socket at `<root>/run/shoal/control.sock` (what systemd's private bus was to
systemctl). The protocol is JSON lines: each request is one JSON object on one line, each answer
one JSON object on one line, in order, on the same connection (so a client may keep it open).

Requests (`op` and its fields) and answers (always `ok`, and `error` when `ok` is false):

    ping                                -> machine: {hostname, root, pid, machine_id, ...}
    status        unit                  -> unit: a unit's state (below)
    list-units    all (bool)            -> units: [state, ...]
    start         unit, no_block (bool) -> result, unit
    stop          unit, no_block        -> result, unit
    restart       unit, no_block        -> result, unit
    load          unit, text            -> unit (text installed as a runtime unit; refused,
                                           nothing installed, when systemd would refuse it)
    unload        unit                  -> (stops it, removes the runtime unit)
    journal       unit (optional), lines -> entries: [{time, unit, pid, message, line}], `line`
                                           as journalctl prints it (for `fleetctl journal`)
    daemon-reload                       ->
    reset-failed  unit (optional)       ->
    subscribe                           -> then one {"event": "unit", "unit": {...}} line per
                                           state change, until the client closes

`result` is the job's: done, failed, dependency, timeout, skipped (a condition was not met),
invalid (not found, refused file, unsupported type), canceled, or queued (no_block).

A unit's state: `name, description, load_state, load_error, active_state, sub_state, result,
since (unix time), main_pid, main_exit, status_text, condition_failed, fragment, dropins, job,
restarts, pgids` (systemd's names for the states; see shoal.systemd.unit).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shoal.systemd.journal import read
from shoal.systemd.manager import Manager, ManagerError
from shoal.systemd.unit import Unit

CONTROL_SOCKET = "run/shoal/control.sock"  # under the machine's root directory
MAX_LINE = 4 * 1024 * 1024  # a request line (unit text) may be large, but not unbounded
_SUN_PATH_MAX = 107


class ControlError(Exception):
    """The node could not be reached, or refused the request; the message says which."""


def socket_path(root: Path) -> Path:
    return root / CONTROL_SOCKET


class ControlServer:
    def __init__(self, manager: Manager, path: Path, machine: dict[str, Any]) -> None:
        self.manager = manager
        self.path = path
        self.machine = machine
        self._server: asyncio.AbstractServer | None = None
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        manager.add_listener(self._publish)

    async def start(self) -> None:
        if len(os.fsencode(self.path)) > _SUN_PATH_MAX:
            raise ControlError(
                f"control socket path {self.path} is too long for a unix socket "
                f"({_SUN_PATH_MAX} bytes); use a shorter --root"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            if _answers(self.path):
                raise ControlError(
                    f"another node is already running on {self.path.parent.parent.parent} "
                    f"(its control socket {self.path} answers); stop it first"
                )
            self.path.unlink()
        self._server = await asyncio.start_unix_server(self._serve, str(self.path), limit=MAX_LINE)
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None
        with contextlib.suppress(OSError):
            self.path.unlink()

    def _publish(self, u: Unit) -> None:
        if not self._subscribers:
            return
        event = {"event": "unit", "unit": u.to_json()}
        for q in list(self._subscribers):
            q.put_nowait(event)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    await _send(writer, {"ok": False, "error": "request line too long"})
                    return
                if not line:
                    return
                try:
                    req = json.loads(line)
                    if not isinstance(req, dict):
                        raise ValueError("a request is a JSON object")
                except ValueError as e:
                    await _send(writer, {"ok": False, "error": f"bad request: {e}"})
                    continue
                if req.get("op") == "subscribe":
                    await _send(writer, {"ok": True})
                    await self._stream(writer)
                    return
                await _send(writer, await self.handle(req))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers.add(q)
        try:
            while True:
                await _send(writer, await q.get())
        finally:
            self._subscribers.discard(q)

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        op = req.get("op")
        m = self.manager
        try:
            if op == "ping":
                return {"ok": True, "machine": self.machine}
            if op == "list-units":
                return {
                    "ok": True,
                    "units": [u.to_json() for u in m.list_units(bool(req.get("all")))],
                }
            if op == "journal":
                unit = req.get("unit")
                units = frozenset({unit}) if isinstance(unit, str) and unit else frozenset()
                lines = req.get("lines", 10)
                last = int(lines) if isinstance(lines, int) and lines >= 0 else None
                host = str(self.machine.get("hostname", "localhost"))
                entries = [
                    {"time": e.time.isoformat(), "unit": e.unit, "pid": e.pid,
                     "message": e.message, "line": e.short(host)}
                    for e in read(m.root, units, last)
                ]  # fmt: skip
                return {"ok": True, "entries": entries}
            if op == "daemon-reload":
                m.daemon_reload()
                return {"ok": True}
            if op == "reset-failed":
                m.reset_failed(req.get("unit") or None)
                return {"ok": True}
            name = req.get("unit")
            if not isinstance(name, str) or not name:
                return {"ok": False, "error": f"op {op!r} needs a unit name"}
            if op == "status":
                return {"ok": True, "unit": m.get(name).to_json()}
            if op in ("start", "stop", "restart"):
                job = {"start": m.start, "stop": m.stop, "restart": m.restart}[op](name)
                if req.get("no_block"):
                    task = asyncio.ensure_future(job)
                    self._keep(task)
                    return {"ok": True, "result": "queued", "unit": m.get(name).to_json()}
                result = await job
                return {"ok": True, "result": result, "unit": m.get(name).to_json()}
            if op == "load":
                text = req.get("text")
                if not isinstance(text, str):
                    return {"ok": False, "error": "load needs the unit file as `text`"}
                u = await m.load_text(name, text)
                return {"ok": True, "unit": u.to_json()}
            if op == "unload":
                await m.unload(name)
                return {"ok": True}
            return {"ok": False, "error": f"unknown op {op!r}"}
        except ManagerError as e:
            return {"ok": False, "error": str(e)}

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _send(writer: asyncio.StreamWriter, obj: dict[str, Any]) -> None:
    writer.write(json.dumps(obj).encode() + b"\n")
    await writer.drain()


def _answers(path: Path) -> bool:
    try:
        call(path, {"op": "ping"}, timeout=2.0)
    except ControlError:
        return False
    return True


# --- client (blocking, for the CLIs; async code can use asyncio.open_unix_connection) ----------


def call(path: Path, request: dict[str, Any], timeout: float | None = 120.0) -> dict[str, Any]:
    """One request, one answer. Raises ControlError when the node cannot be reached or says
    `ok: false`."""
    with _connect(path, timeout) as s:
        s.sendall(json.dumps(request).encode() + b"\n")
        answer = _read_line(s, path)
    if not answer.get("ok"):
        raise ControlError(str(answer.get("error", "request refused")))
    return answer


def subscribe(path: Path) -> Iterator[dict[str, Any]]:
    """State changes as the node reports them (blocking iterator). Subscribed when this returns,
    so no change made afterwards is missed."""
    s = _connect(path, None)
    s.sendall(b'{"op":"subscribe"}\n')
    f = s.makefile("rb")
    if not f.readline():
        s.close()
        raise ControlError(f"the node at {path} closed the connection")

    def events() -> Iterator[dict[str, Any]]:
        with s, f:
            for line in f:
                yield json.loads(line)

    return events()


def _connect(path: Path, timeout: float | None) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(path))
    except FileNotFoundError as e:
        s.close()
        raise ControlError(
            f"no node is running there: {path} does not exist (start it with `shoal node` "
            "or `shoal start NODE`)"
        ) from e
    except OSError as e:
        s.close()
        raise ControlError(f"cannot reach the node at {path}: {e.strerror or e}") from e
    return s


def _read_line(s: socket.socket, path: Path) -> dict[str, Any]:
    buf = b""
    try:
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except TimeoutError as e:
        raise ControlError(f"the node at {path} did not answer in time") from e
    if not buf:
        raise ControlError(f"the node at {path} closed the connection without answering")
    try:
        answer = json.loads(buf)
    except ValueError as e:
        raise ControlError(f"the node at {path} answered something that is not JSON") from e
    if not isinstance(answer, dict):
        raise ControlError(f"the node at {path} answered something that is not an object")
    return answer
