"""What the leader knows of each follower, and the flow control that paces replication.

A follower is in one of three states (etcd's tracker): PROBE (we do not know its log: send one
append at a time and wait), REPLICATE (optimistically stream appends, at most `max_inflight`
unacknowledged messages), SNAPSHOT (a snapshot is on its way: send nothing else).
"""

from __future__ import annotations

from enum import Enum


class ProgressState(Enum):
    PROBE = "StateProbe"
    REPLICATE = "StateReplicate"
    SNAPSHOT = "StateSnapshot"


class Inflights:
    """A bounded FIFO of the last indexes of in-flight append messages."""

    __slots__ = ("buf", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.buf: list[int] = []

    def add(self, last: int) -> None:
        if self.full():
            raise AssertionError("cannot add into a full inflights")
        self.buf.append(last)

    def free_le(self, to: int) -> None:
        """Acknowledge every message whose last index is <= `to`."""
        buf = self.buf
        n = 0
        while n < len(buf) and buf[n] <= to:
            n += 1
        if n:
            del buf[:n]

    def free_first_one(self) -> None:
        if self.buf:
            del self.buf[0]

    def full(self) -> bool:
        return len(self.buf) >= self.size

    def count(self) -> int:
        return len(self.buf)

    def reset(self) -> None:
        self.buf.clear()


class Progress:
    __slots__ = (
        "inflights",
        "is_learner",
        "match",
        "next",
        "pending_snapshot",
        "probe_sent",
        "recent_active",
        "state",
    )

    def __init__(self, next_index: int, max_inflight: int, is_learner: bool = False) -> None:
        self.match = 0
        self.next = next_index
        self.state = ProgressState.PROBE
        self.pending_snapshot = 0
        self.recent_active = False
        self.probe_sent = False
        self.inflights = Inflights(max_inflight)
        self.is_learner = is_learner

    def __repr__(self) -> str:
        return (
            f"Progress(match={self.match}, next={self.next}, state={self.state.name}, "
            f"inflight={self.inflights.count()}, learner={self.is_learner})"
        )

    def _reset_state(self, state: ProgressState) -> None:
        self.probe_sent = False
        self.pending_snapshot = 0
        self.state = state
        self.inflights.reset()

    def become_probe(self) -> None:
        # After a snapshot, probe from just past it (or past match if that is further).
        if self.state is ProgressState.SNAPSHOT:
            pending = self.pending_snapshot
            self._reset_state(ProgressState.PROBE)
            self.next = max(self.match + 1, pending + 1)
        else:
            self._reset_state(ProgressState.PROBE)
            self.next = self.match + 1

    def become_replicate(self) -> None:
        self._reset_state(ProgressState.REPLICATE)
        self.next = self.match + 1

    def become_snapshot(self, snapshot_index: int) -> None:
        self._reset_state(ProgressState.SNAPSHOT)
        self.pending_snapshot = snapshot_index

    def maybe_update(self, n: int) -> bool:
        """An append up to n was acknowledged. Returns False if the ack was stale."""
        updated = False
        if self.match < n:
            self.match = n
            updated = True
            self.probe_sent = False
        self.next = max(self.next, n + 1)
        return updated

    def optimistic_update(self, n: int) -> None:
        self.next = n + 1

    def maybe_decr_to(self, rejected: int, match_hint: int) -> bool:
        """An append at `rejected` was refused; the follower hints its log matches up to
        `match_hint`. Returns False if the rejection is stale (out of order)."""
        if self.state is ProgressState.REPLICATE:
            if rejected <= self.match:
                return False
            self.next = self.match + 1
            return True
        if self.next - 1 != rejected:
            return False
        self.next = max(min(rejected, match_hint + 1), 1)
        self.probe_sent = False
        return True

    def is_paused(self) -> bool:
        if self.state is ProgressState.PROBE:
            return self.probe_sent
        if self.state is ProgressState.REPLICATE:
            return self.inflights.full()
        return True
