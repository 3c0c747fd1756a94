"""`shoal ssh NODE`: a shell "on" a machine, where the seed's commands work as typed.

There is no sshd: the shell runs on this computer with the machine's environment. DIR/bin holds
small wrappers so that `etcdctl`, `fleetctl`, `systemctl`, `journalctl` mean shoal's tools, and
SHOAL_ROOT / ETCDCTL_ENDPOINTS / FLEETCTL_ENDPOINT point them at this machine's etcd member and
fleet socket, as they pointed at 127.0.0.1 on a CoreOS host. `sudo` runs its command as you, and
`shutdown`/`poweroff` are `shoal stop` of this machine (`reboot`: stop, then start), so the seed's
`sudo shutdown -h now` works too, and ends the session as ssh's would end ("Connection to
coreos-01 closed by remote host.", status 255).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from shoal.cluster.layout import Cluster, Machine
from shoal.cluster.security import session_environment

WRAPPERS = {
    "etcdctl": "etcdctl",
    "fleetctl": "fleetctl",
    "systemctl": "systemctl",
    "journalctl": "journal",
    "shoal": "",
}


def _script(body: str) -> str:
    return f"#!/bin/sh\n# written by shoal up: see shoal/cluster/shell.py\n{body}\n"


def write_wrappers(cluster: Cluster) -> Path:
    """DIR/bin with the wrappers (rewritten each time, so they follow the Python in use)."""
    bindir = cluster.dir / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    py = shlex.quote(sys.executable)
    d = shlex.quote(str(cluster.dir))
    scripts = {
        name: _script(f'exec {py} -m shoal.cli {sub} "$@"'.replace("  ", " "))
        for name, sub in WRAPPERS.items()
    }
    scripts["sudo"] = _script('exec "$@"')
    scripts["hostname"] = _script('echo "$SHOAL_MACHINE"')
    # shutdown -h now / poweroff: a clean stop of this machine, in the background because the
    # shell that typed it is not part of the machine (on a VM the ssh session would just end).
    stop = f'{py} -m shoal.cli stop --dir {d} "$SHOAL_MACHINE"'
    start = f'{py} -m shoal.cli start --dir {d} "$SHOAL_MACHINE"'
    scripts["shutdown"] = _script(f"exec {stop}")
    scripts["reboot"] = _script(f"{stop} && exec {start}")
    scripts["poweroff"] = _script(f"exec {stop}")
    for name, text in scripts.items():
        path = bindir / name
        path.write_text(text)
        path.chmod(0o755)
    return bindir


def environment(cluster: Cluster, m: Machine, base: dict[str, str]) -> dict[str, str]:
    bindir = write_wrappers(cluster)
    env = dict(base)
    env.update(
        {
            "PATH": f"{bindir}{os.pathsep}{base.get('PATH', '/usr/bin:/bin')}",
            "SHOAL_ROOT": str(m.root),
            "SHOAL_MACHINE": m.name,
            "SHOAL_HOME": str(cluster.dir),
            "ETCDCTL_ENDPOINTS": m.client_url,
            "FLEETCTL_ENDPOINT": f"unix://{m.fleet_socket}",
            "HOSTNAME": m.name,
            "PS1": f"core@{m.name} \\W $ ",
        }
    )
    env.pop("ETCDCTL_ENDPOINT", None)
    env.update(session_environment(cluster, m))  # --tls / --auth: CA file, root's credentials
    return env


def run(
    cluster: Cluster,
    m: Machine,
    command: list[str],
    machine_up: Callable[[], bool],
    wait_machine_gone: Callable[[float], None],
) -> int:
    """Run the shell (or the command) and return its status. It runs as a child, not in place of
    this process: when the machine goes down under it (`sudo shutdown -h now` typed there, `shoal
    kill` elsewhere), its processes are killed and this says what ssh says, with ssh's 255."""
    env = environment(cluster, m, dict(os.environ))
    if command:
        # ssh joins its arguments into one shell command line, and so does this.
        line = command[0] if len(command) == 1 else shlex.join(command)
        argv = ["/bin/sh", "-c", line]
        cwd = None
    else:
        argv, cwd = _interactive(cluster, m, env)
        print(f"shoal: a shell on {m.name} ({m.address}); `exit` to leave.", file=sys.stderr)
    was_up = machine_up()
    # As a shell waits for its foreground job: Ctrl+C and Ctrl+\ are for the child.
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGQUIT)}
    try:
        child = subprocess.Popen(argv, env=env, cwd=cwd)
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if was_up and not machine_up():
        # The shutdown's last words (`shoal stop` printing "stopped") come before ssh's.
        wait_machine_gone(SHUTDOWN_WAIT)
        print(f"Connection to {m.name} closed by remote host.", file=sys.stderr, flush=True)
        return SSH_CLOSED
    return 128 - code if code < 0 else code


SSH_CLOSED = 255  # ssh's status when the connection ends under the command
SHUTDOWN_WAIT = 30.0  # seconds for the machine's last processes (a `shutdown`'s stop) to end


def _interactive(
    cluster: Cluster, m: Machine, env: dict[str, str]
) -> tuple[list[str], Path | None]:
    shell = os.environ.get("SHELL") or "/bin/sh"
    home = m.root / "home" / "core"
    cwd = home if home.is_dir() else None
    if os.path.basename(shell) == "bash":
        rc = cluster.dir / "bin" / ".bashrc"
        rc.write_text(
            "[ -f ~/.bashrc ] && . ~/.bashrc\n"
            f"export PATH={shlex.quote(env['PATH'])}\n"
            f"PS1={shlex.quote(env['PS1'])}\n"
        )
        return [shell, "--rcfile", str(rc), "-i"], cwd
    return [shell, "-i"], cwd
