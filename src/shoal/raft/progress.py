"""What the leader knows of each follower, and the flow control that paces replication.

A follower is in one of three states (etcd's tracker): PROBE (we do not know its log: send one
append at a time and wait), REPLICATE (optimistically stream appends, at most `max_inflight`
unacknowledged messages and bytes, see `shoal.raft.inflights`), SNAPSHOT (a snapshot is on its
way: send nothing else).
"""

from __future__ import annotations

from enum import Enum

from shoal.raft.inflights import Inflights


class ProgressState(Enum):
    PROBE = "StateProbe"
    REPLICATE = "StateReplicate"
    SNAPSHOT = "StateSnapshot"


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

    def __init__(
        self,
        next_index: int,
        max_inflight: int,
        is_learner: bool = False,
        max_inflight_bytes: int = 0,
    ) -> None:
        self.match = 0
        self.next = next_index
        self.state = ProgressState.PROBE
        self.pending_snapshot = 0
        self.recent_active = False
        self.probe_sent = False
        self.inflights = Inflights(max_inflight, max_inflight_bytes)
        self.is_learner = is_learner

    def __repr__(self) -> str:
        return f"Progress({self.describe()})"

    def describe(self) -> str:
        """One line in etcd's words (Progress.String()): `StateReplicate match=5 next=6 ...`."""
        parts = [f"{self.state.value} match={self.match} next={self.next}"]
        if self.is_learner:
            parts.append("learner")
        if self.is_paused():
            parts.append("paused")
        if self.pending_snapshot:
            parts.append(f"pendingSnap={self.pending_snapshot}")
        if not self.recent_active:
            parts.append("inactive")
        n = self.inflights.count()
        if n:
            parts.append(f"inflight={n}" + ("[full]" if self.inflights.full() else ""))
        return " ".join(parts)

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
