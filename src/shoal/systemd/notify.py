"""sd_notify's receiving end: a unix datagram socket per Type=notify unit.

systemd gives a notify service `NOTIFY_SOCKET=<path>` and reads newline-separated `KEY=VALUE`
datagrams from it (sd_notify(3)): `READY=1` ends activation, `STATUS=...` is shown by
`systemctl status`, `MAINPID=...` names the main process, `STOPPING=1` says a stop began.
systemd has one socket and tells senders apart by their credentials; shoal gives each unit its
own socket instead, so a message needs no lookup and a sender that has already exited (a shell
one-liner) still counts. A path longer than a sockaddr_un allows becomes an abstract socket,
written `@name` as systemd writes it (sd_notify clients, etcd's included, understand both).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
from collections.abc import Callable
from pathlib import Path

_MAX_PATH = 100  # sockaddr_un.sun_path is 108 bytes on Linux, less elsewhere


def parse_message(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").split("\n"):
        key, sep, value = line.partition("=")
        if sep and key:
            out[key] = value
    return out


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, on_message: Callable[[dict[str, str]], None]) -> None:
        self.on_message = on_message

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.on_message(parse_message(data))


class NotifySocket:
    """One unit's notify socket; `env_value` is what NOTIFY_SOCKET is set to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env_value = str(path)
        self._address: str | bytes = str(path)
        if len(os.fsencode(path)) > _MAX_PATH:
            digest = hashlib.sha1(os.fsencode(path)).hexdigest()[:16]
            self.env_value = f"@shoal/notify/{digest}"
            self._address = b"\0" + self.env_value[1:].encode()
        self._transport: asyncio.DatagramTransport | None = None

    async def open(self, on_message: Callable[[dict[str, str]], None]) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if isinstance(self._address, str):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        sock.bind(self._address)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(on_message), sock=sock)
        self._transport = transport

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if isinstance(self._address, str):
            with contextlib.suppress(OSError):
                self.path.unlink()


def send(message: str, address: str | None = None) -> None:
    """The client side (sd_notify): used by tests and by shoal's own daemons."""
    target = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
    if not target:
        return
    addr: str | bytes = b"\0" + target[1:].encode() if target.startswith("@") else target
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(message.encode(), addr)


def main(argv: list[str] | None = None) -> int:
    """`python -m shoal.systemd.notify READY=1 [STATUS=...]`: systemd-notify for shell scripts."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not args or not all("=" in a for a in args):
        print("usage: python -m shoal.systemd.notify KEY=VALUE... (e.g. READY=1)", file=sys.stderr)
        return 2
    if not os.environ.get("NOTIFY_SOCKET"):
        print("NOTIFY_SOCKET is not set: not run by a Type=notify unit", file=sys.stderr)
        return 1
    send("\n".join(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
