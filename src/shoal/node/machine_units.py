"""The unit files a shoal machine ships in /usr/lib/systemd/system, as CoreOS shipped its own.

CoreOS's etcd2.service, fleet.service and docker.service ran /usr/bin/etcd2, fleetd and dockerd;
a shoal machine runs `shoal etcd` and `shoal fleetd` instead, with the same environment variables
(the cloud-config's 20-cloudinit.conf drop-ins add ETCD_*/FLEET_* and win, being read later).
Differences, all because machines share one computer:
- etcd2's data dir and fleet's API socket, units dir and machine-id live under the machine's root;
- fleet is told its etcd is this machine's own etcd (CoreOS's default http://127.0.0.1:2379 was
  the machine's own; here it is whatever etcd2 advertises);
- docker.service stands for this computer's Docker engine: it starts only when
  /var/run/docker.sock exists (ConditionPathExists=), and otherwise is skipped with that reason.

The etcd command is shoal's own member unless $SHOAL_ETCD_COMMAND (or `shoal node --etcd-command`)
names another, e.g. `/usr/bin/etcd` (etcd 3.4 reads the same ETCD_* variables;
ETCD_ENABLE_V2=true makes it serve the v2 API that etcd2 served).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

UNIT_DIR = "usr/lib/systemd/system"
ETCD_COMMAND_ENV = "SHOAL_ETCD_COMMAND"
DOCKER_SOCKET = "/var/run/docker.sock"


def shoal_command(*args: str) -> str:
    """This Python running shoal's CLI (works from a checkout and from an installed package)."""
    return shlex.join([sys.executable, "-m", "shoal.cli", *args])


def default_etcd_command(env: Mapping[str, str]) -> str:
    return env.get(ETCD_COMMAND_ENV) or shoal_command("etcd")


def _quote_env(key: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'Environment="{key}={escaped}"'


# TODO(etcd): shoal etcd does not send READY=1 on NOTIFY_SOCKET yet (one call to
# shoal.systemd.notify.send("READY=1") once it serves clients would do). Until it does, its unit is
# Type=simple with an ExecStartPost that waits for the member's /health (shoal.node.etcd_ready),
# which orders fleet after a ready etcd just as READY=1 would.
SHOAL_ETCD_NOTIFIES = False


def machine_units(root: Path, etcd_command: str, etcd_client_url: str) -> dict[str, str]:
    """name -> unit file text for this machine."""
    root_s = str(root)
    own = etcd_command == shoal_command("etcd")
    notify = SHOAL_ETCD_NOTIFIES or not own
    wait = (
        ""
        if notify
        else "ExecStartPost="
        + shlex.join([sys.executable, "-m", "shoal.node.etcd_ready", etcd_client_url])
        + "\n"
    )
    etcd = f"""[Unit]
Description=etcd2
Conflicts=etcd.service

[Service]
Type={"notify" if notify else "simple"}
{_quote_env("ETCD_DATA_DIR", root_s + "/var/lib/etcd2")}
Environment=ETCD_NAME=%m
Environment=ETCD_ENABLE_V2=true
ExecStart={etcd_command}
{wait}Restart=always
RestartSec=10s
TimeoutStartSec=0
TimeoutStopSec=30s

[Install]
WantedBy=multi-user.target
"""
    fleet = f"""[Unit]
Description=fleet daemon
After=etcd2.service

[Service]
{_quote_env("FLEET_ETCD_SERVERS", etcd_client_url)}
{_quote_env("FLEET_ROOT_DIR", root_s)}
{_quote_env("FLEET_API_SOCKET", root_s + "/var/run/fleet.sock")}
{_quote_env("FLEET_UNITS_DIRECTORY", root_s + "/run/fleet/units")}
ExecStart={shoal_command("fleetd")}
Restart=always
RestartSec=10s
TimeoutStopSec=30s

[Install]
WantedBy=multi-user.target
"""
    docker = f"""[Unit]
Description=Docker Application Container Engine
ConditionPathExists={DOCKER_SOCKET}

[Service]
ExecStart=/bin/sh -c 'echo "this machine uses the Docker engine of the computer ({DOCKER_SOCKET})"; exec sleep infinity'
"""  # noqa: E501
    return {
        "etcd2.service": etcd,
        "fleet.service": fleet,
        "docker.service": docker,
        "multi-user.target": "[Unit]\nDescription=Multi-User System\n",
    }


def install(root: Path, units: Mapping[str, str]) -> list[Path]:
    """Write the machine's own units (replacing older versions, as an OS update would)."""
    folder = root / UNIT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in units.items():
        path = folder / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written
