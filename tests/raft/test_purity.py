"""The raft core is a pure state machine: no I/O, no clock, no asyncio (DESIGN.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import shoal.raft

FORBIDDEN_MODULES = {
    "asyncio",
    "socket",
    "time",
    "datetime",
    "os",
    "io",
    "pathlib",
    "shutil",
    "threading",
    "subprocess",
    "select",
    "selectors",
    "tempfile",
}
FORBIDDEN_CALLS = {"open", "print", "input"}


def _core_files() -> list[Path]:
    return sorted(Path(shoal.raft.__file__).parent.glob("*.py"))


def test_the_core_imports_nothing_that_does_io_or_reads_a_clock() -> None:
    bad = []
    for f in _core_files():
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for n in names:
                if n.split(".")[0] in FORBIDDEN_MODULES:
                    bad.append(f"{f.name}:{node.lineno} imports {n}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in FORBIDDEN_CALLS
            ):
                bad.append(f"{f.name}:{node.lineno} calls {node.func.id}()")
    assert bad == []
    assert len(_core_files()) >= 8  # the scan really looked at the core


def test_the_core_imports_only_itself_and_the_standard_library() -> None:
    for f in _core_files():
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shoal"):
                assert node.module.startswith("shoal.raft"), f"{f.name} imports {node.module}"
