"""Which machine a command means: `--root DIR`, `-M NODE [--dir DIR]`, or $SHOAL_ROOT.

`shoal systemctl` and `shoal journal` act on one machine's root directory. `shoal ssh NODE` sets
SHOAL_ROOT, so inside it they need no option, as systemctl needs none on a real machine. The
default cluster directory is `shoal up`'s: $SHOAL_HOME, else ~/.shoal/cluster.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path


class NoMachine(Exception):
    """No machine was named, or the named one does not exist; the message says what to do."""


def machine_name(number: int) -> str:
    """Machine N of a cluster is `coreos-0N`, as the seed named its VMs (`-M 1` means it)."""
    return f"coreos-{number:02d}"


def default_cluster_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("SHOAL_HOME"):
        return Path(env["SHOAL_HOME"]).expanduser()
    return Path.home() / ".shoal" / "cluster"


def machine_dir_name(node: str) -> str:
    """`coreos-01`, or a bare number (`1`, `01`) for the seed's naming."""
    return machine_name(int(node)) if node.isdigit() else node


def resolve_root(
    root: str | None, machine: str | None, cluster_dir: str | None,
    env: Mapping[str, str] | None = None,
) -> Path:  # fmt: skip
    env = os.environ if env is None else env
    if root:
        return Path(root).expanduser()
    base = Path(cluster_dir).expanduser() if cluster_dir else default_cluster_dir(env)
    if machine:
        path = base / machine_dir_name(machine)
        if not path.is_dir() and machine.isdigit():
            path = base / _named(base, int(machine))
        if not path.is_dir():
            raise NoMachine(f"no machine {machine!r} in {base}{_known(base)}")
        return path
    if env.get("SHOAL_ROOT"):
        return Path(env["SHOAL_ROOT"])
    raise NoMachine(
        f"which machine? pass -M NODE (a machine of {base}{_known(base)}) or --root DIR, "
        "or run the command inside `shoal ssh NODE`"
    )


def _named(base: Path, number: int) -> str:
    """Machine `number`'s name when `shoal up` named it after its cloud-config's hostname (the
    cluster's state file lists the names in order); `coreos-0N` otherwise."""
    try:
        names = json.loads((base / "cluster.json").read_text()).get("names") or []
        return str(names[number - 1]) if 1 <= number <= len(names) else machine_name(number)
    except (OSError, ValueError, AttributeError):
        return machine_name(number)


def _known(base: Path) -> str:
    try:
        names = sorted(p.name for p in base.iterdir() if (p / "etc").is_dir())
    except OSError:
        names = []
    return f"; machines there: {', '.join(names)}" if names else " (no machines there)"
