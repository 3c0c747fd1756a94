"""The fault file system's process: `python -m shoal.faultfs.daemon BACKING MOUNTPOINT SOCKET`.

It mounts BACKING/root at MOUNTPOINT through FUSE (kernel caches off, so what a reader sees is
always what the backing directory holds) and answers one-line commands on the unix socket
SOCKET, one per connection, each answered with one line starting `ok` or `error`:

    cut                     power cut: undo everything not durable (stop the writers first)
    eio fsync|write|off     fsync (and write) fail with EIO, or stop failing
    full on|off             ENOSPC for anything that needs new space
    delay LO HI             every fsync waits LO..HI ms
    stats                   syncs, unsynced files and names, EIO and ENOSPC counts

It runs in the foreground until unmounted (`fusermount3 -u MOUNTPOINT`) or killed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import threading

import mfusepy  # type: ignore[import-untyped,import-not-found,unused-ignore]

from shoal.faultfs.fs import FaultOps, Faults
from shoal.faultfs.journal import Journal

ROOT = "root"
TRASH = ".trash"


def handle(cmd: str, journal: Journal, faults: Faults) -> str:
    words = cmd.split()
    match words:
        case ["cut"]:
            return "ok " + journal.cut().line()
        case ["eio", ("fsync" | "write" | "off") as how]:
            faults.eio = "" if how == "off" else how
            return "ok"
        case ["full", ("on" | "off") as how]:
            faults.full = how == "on"
            return "ok"
        case ["delay", lo, hi]:
            try:
                faults.delay_ms = (float(lo), float(hi))
            except ValueError:
                return f"error: delay wants two numbers of ms, not {lo!r} {hi!r}"
            return "ok"
        case ["stats"]:
            files, names = journal.pending()
            return (
                f"ok syncs={journal.syncs} unsynced_files={files} unsynced_names={names} "
                f"eio={faults.eio_count} enospc={faults.enospc_count}"
            )
    return f"error: unknown command {cmd.strip()!r}"


def serve(path: str, journal: Journal, faults: Faults) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        with conn:
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            try:
                reply = handle(data.decode(errors="replace"), journal, faults)
            except OSError as e:
                reply = f"error: {e}"
            conn.sendall(reply.encode() + b"\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m shoal.faultfs.daemon")
    ap.add_argument("backing")
    ap.add_argument("mountpoint")
    ap.add_argument("socket")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    root = os.path.join(a.backing, ROOT)
    os.makedirs(root, exist_ok=True)
    journal = Journal(os.path.join(a.backing, TRASH))
    faults = Faults()
    threading.Thread(target=serve, args=(a.socket, journal, faults), daemon=True).start()
    mfusepy.FUSE(
        FaultOps(root, journal, faults, a.seed),
        a.mountpoint,
        foreground=True,
        fsname="shoal-faultfs",
        hard_remove=True,
        direct_io=True,
        entry_timeout=0,
        attr_timeout=0,
        negative_timeout=0,
    )
    # libfuse unmounts when it leaves its loop on SIGTERM, unless the mount is busy (a killed
    # member's files still closing): then lazily, so no dead mount is left behind.
    if os.path.ismount(a.mountpoint):
        subprocess.run(["fusermount3", "-u", "-z", a.mountpoint], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
