"""Helpers for the storage tests: entries, and the files on disk to inspect or damage."""

from __future__ import annotations

import os

from shoal.raft.types import Entry

SMALL_SEGMENT = 4096


def entries(first: int, last: int, term: int = 1, size: int = 100) -> list[Entry]:
    """Entries first..last (inclusive) whose data says which index and term they are."""
    out = []
    for i in range(first, last + 1):
        tag = f"e{i}t{term}-".encode()
        out.append(Entry(term, i, data=(tag * (size // len(tag) + 1))[:size]))
    return out


def wal_files(dirpath: str) -> list[str]:
    return sorted(n for n in os.listdir(dirpath) if n.endswith(".wal"))


def tail_path(dirpath: str) -> str:
    return os.path.join(dirpath, wal_files(dirpath)[-1])


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
