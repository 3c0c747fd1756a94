"""Errors the raft core raises to its caller. Each says what happened in plain words."""


class RaftError(Exception):
    """Base class for errors of the raft core."""


class CompactedError(RaftError):
    """The requested index is older than the last snapshot: the entries were compacted away."""

    def __init__(self) -> None:
        super().__init__("requested index is unavailable due to compaction")


class UnavailableError(RaftError):
    """The requested index is newer than the last entry in storage."""

    def __init__(self) -> None:
        super().__init__("requested entry at index is unavailable")


class SnapOutOfDateError(RaftError):
    def __init__(self) -> None:
        super().__init__("requested index is older than the existing snapshot")


class SnapshotTemporarilyUnavailableError(RaftError):
    def __init__(self) -> None:
        super().__init__("snapshot is temporarily unavailable")


class ProposalDroppedError(RaftError):
    """The proposal was not appended: no leader known, a leadership transfer is under way,
    a membership change is already pending, or the uncommitted-entries bound was reached."""

    def __init__(self, why: str = "raft proposal dropped") -> None:
        super().__init__(why)


class ConfChangePendingError(ProposalDroppedError):
    """A membership change was proposed while another one is not yet applied (one at a time)."""

    def __init__(self) -> None:
        super().__init__("a membership change is already in progress; retry once it applies")


class StepLocalMsgError(RaftError):
    def __init__(self) -> None:
        super().__init__("raft: cannot step raft local message")


class StepPeerNotFoundError(RaftError):
    def __init__(self) -> None:
        super().__init__("raft: cannot step as peer not found")


class ConfChangeError(RaftError):
    """A membership change was refused (see shoal.raft.confchange for the rules); the
    configuration is unchanged."""
