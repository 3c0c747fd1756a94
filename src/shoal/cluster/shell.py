"""`shoal ssh NODE`: a shell "on" a machine, where the seed's commands work as typed.

There is no sshd: the shell runs on this computer with the machine's environment. DIR/bin holds
small wrappers so that `etcdctl`, `fleetctl`, `systemctl`, `journalctl` mean shoal's tools, and
SHOAL_ROOT / ETCDCTL_ENDPOINTS / FLEETCTL_ENDPOINT point them at this machine's etcd member and
fleet socket, as they pointed at 127.0.0.1 on a CoreOS host. `sudo` runs its command as you, and
`shutdown`/`poweroff` are `shoal stop` of this machine (`reboot`: stop, then start), so the seed's
`sudo shutdown -h now` works too.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from shoal.cluster.layout import Cluster, Machine

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
    return env


def run(cluster: Cluster, m: Machine, command: list[str]) -> int:
    """exec the shell (never returns) or run the command and return its status."""
    env = environment(cluster, m, dict(os.environ))
    if command:
        # ssh joins its arguments into one shell command line, and so does this.
        line = command[0] if len(command) == 1 else shlex.join(command)
        os.execve("/bin/sh", ["/bin/sh", "-c", line], env)
    shell = os.environ.get("SHELL") or "/bin/sh"
    home = m.root / "home" / "core"
    if home.is_dir():
        os.chdir(home)
    print(f"shoal: a shell on {m.name} ({m.address}); `exit` to leave.", file=sys.stderr)
    if os.path.basename(shell) == "bash":
        rc = cluster.dir / "bin" / ".bashrc"
        rc.write_text(
            "[ -f ~/.bashrc ] && . ~/.bashrc\n"
            f"export PATH={shlex.quote(env['PATH'])}\n"
            f"PS1={shlex.quote(env['PS1'])}\n"
        )
        os.execve(shell, [shell, "--rcfile", str(rc), "-i"], env)
    os.execve(shell, [shell, "-i"], env)
    return 0  # not reached
