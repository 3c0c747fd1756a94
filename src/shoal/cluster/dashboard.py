"""The dashboard process of a local cluster: `shoal up` starts `shoal dashboard --dir DIR` in the
background (its URL in DIR/dashboard.url, its pid in DIR/dashboard.pid, its log in
DIR/dashboard.log), `shoal down` stops it. The dashboard sits above this package (it drives the
cluster's commands), so it is run as a command, never imported."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from shoal.cluster.layout import Cluster
from shoal.proc.status import pid_alive, wait_gone

URL_FILE, PID_FILE, LOG_FILE = "dashboard.url", "dashboard.pid", "dashboard.log"
LISTEN_ENV = "SHOAL_DASHBOARD_LISTEN"  # where `shoal up` serves it (default: a free port)
START_TIMEOUT = 15.0


def _pid(cluster: Cluster) -> int | None:
    try:
        pid = int((cluster.dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            ours = b"\0dashboard\0" in f.read()
    except OSError:
        return None
    return pid if ours and pid_alive(pid) else None


def url(cluster: Cluster) -> str | None:
    """The running dashboard's URL, if it runs."""
    if _pid(cluster) is None:
        return None
    with contextlib.suppress(OSError):
        return (cluster.dir / URL_FILE).read_text().strip() or None
    return None


def ensure(cluster: Cluster) -> tuple[str | None, str]:
    """Start the dashboard unless it runs; (its URL, "") or (None, why it did not start)."""
    running = url(cluster)
    if running:
        return running, ""
    url_file = cluster.dir / URL_FILE
    url_file.unlink(missing_ok=True)
    listen = os.environ.get(LISTEN_ENV, "127.0.0.1:0")
    argv = [sys.executable, "-m", "shoal.cli", "dashboard", "--dir", str(cluster.dir),
            "--listen", listen, "--url-file", str(url_file)]  # fmt: skip
    with open(cluster.dir / LOG_FILE, "ab") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
    (cluster.dir / PID_FILE).write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if url_file.exists():
            return url_file.read_text().strip(), ""
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    tail = (cluster.dir / LOG_FILE).read_text(errors="replace").strip().splitlines()[-1:]
    return None, (tail[0] if tail else "it did not start") + f" (see {cluster.dir / LOG_FILE})"


def stop(cluster: Cluster) -> None:
    pid = _pid(cluster)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not wait_gone([pid], 5.0):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for name in (PID_FILE, URL_FILE):
        (cluster.dir / name).unlink(missing_ok=True)
