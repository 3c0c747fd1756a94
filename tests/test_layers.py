"""Imports point down the layers only (DESIGN.md, "Layers"; docs/architecture.md draws them).

Every package of `shoal` has a floor below. A module may import from its own package and from
packages on lower floors, never from its own floor or above: that is what keeps the Raft core
simulable, lets fleet run against a real etcd, and keeps the clients free of the server. A new
package must be given a floor here, which is the moment to decide where it belongs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import shoal

# Bottom first. A package imports only from packages on lower floors.
FLOORS: list[set[str]] = [
    # what Go's libraries define; spawning a process; TLS files; metrics as plain numbers
    {"gocompat", "proc", "tls", "metrics"},
    {"raft", "store", "lincheck"},  # pure state machines and the checker: no I/O, no clock
    {"wal", "transport", "client", "systemd", "faultfs"},  # disk, peers, etcd v2 client, units,
    # and the fault file system the disk faults run members on
    {"etcd", "cloudinit"},  # the member; cloud-config (which writes units)
    {"etcdctl", "fleet", "node"},  # clients of etcd, and the machine daemon
    {"fleetctl", "discovery"},  # fleet's client; the discovery service (runs etcd members)
    {"cluster", "sim", "torture", "bench"},  # proving, measuring, running clusters
    {"dashboard"},  # the live page: drives a local cluster through cluster's commands
    {"cli"},  # the one `shoal` entry point
]

SRC = Path(shoal.__file__).parent


def _floor_of(package: str) -> int | None:
    for i, floor in enumerate(FLOORS):
        if package in floor:
            return i
    return None


def _package_of(path: Path) -> str:
    first = path.relative_to(SRC).parts[0]
    return first.removesuffix(".py")


def _imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, package) for every `shoal.X` this module imports, at top level or inside functions."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "shoal":
                names = [f"shoal.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "shoal" and len(parts) > 1:
                out.append((node.lineno, parts[1]))
    return out


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC)


def test_every_package_has_a_floor() -> None:
    missing = sorted(
        {_package_of(p) for p in _modules()} - {name for floor in FLOORS for name in floor}
    )
    assert not missing, f"packages without a floor in tests/test_layers.py FLOORS: {missing}"


def test_imports_point_down_the_layers_only() -> None:
    bad: list[str] = []
    for path in _modules():
        own = _package_of(path)
        own_floor = _floor_of(own)
        if own_floor is None:
            continue  # reported by test_every_package_has_a_floor
        for line, target in _imported_packages(path):
            if target == own or target == "__version__":
                continue
            floor = _floor_of(target)
            if floor is None or floor >= own_floor:
                rel = path.relative_to(SRC.parent)
                bad.append(f"{rel}:{line}: {own} (floor {own_floor}) imports {target} ({floor})")
    assert not bad, "imports that point up or sideways:\n" + "\n".join(bad)


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    # The checker itself must be able to fail: a raft module importing etcd is reported.
    bad = tmp_path / "mod.py"
    bad.write_text("from shoal.etcd import member\n")
    assert _imported_packages(bad) == [(1, "etcd")]
    raft_floor, etcd_floor = _floor_of("raft"), _floor_of("etcd")
    assert raft_floor is not None and etcd_floor is not None and etcd_floor > raft_floor
