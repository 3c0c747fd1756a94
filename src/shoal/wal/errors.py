"""Errors raised by shoal.wal. Each message says what is wrong, where, and what to do."""

from __future__ import annotations

# What an operator can do when a member's log is damaged before its end: its peers still hold
# the data, so the member can be rebuilt from them (this is etcd's documented recovery too).
RECOVERY_ADVICE = (
    "Do not edit or delete the file by hand. Restore this member's data dir from a backup, or "
    "rebuild the member from its peers: `etcdctl member remove <id>`, move the data dir aside, "
    "`etcdctl member add <name> <peer-url>`, then start it with --initial-cluster-state existing."
)


class WALError(Exception):
    """Base class for every error of the WAL and snapshot storage."""


class WALExistsError(WALError):
    pass


class WALNotFoundError(WALError):
    pass


class WALLockedError(WALError):
    pass


class WALClosedError(WALError):
    pass


class CorruptWALError(WALError):
    """The log is damaged somewhere a torn write cannot explain: refuse to start on it."""

    def __init__(self, path: str, offset: int, reason: str) -> None:
        self.path = path
        self.offset = offset
        self.reason = reason
        super().__init__(
            f"wal: {reason} in {path} at byte offset {offset}: the log is damaged before its "
            f"end, so writes that were acknowledged may be lost; shoal refuses to start on it. "
            f"{RECOVERY_ADVICE}"
        )


class SnapshotNotFoundError(WALError):
    pass


class SnapshotMismatchError(WALError):
    pass


class MetadataConflictError(WALError):
    pass
