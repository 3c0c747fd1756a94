"""Who is in the cluster and what this node knows of each member (etcd's tracker/tracker.go).

`TrackerConfig` is the membership: the voters (whose majority commits entries and elects
leaders) and the learners (who receive the log but neither vote nor count). `ProgressTracker`
holds it with one `Progress` per member and the votes of the election in progress, and answers
the questions the core asks of them: the committed index, the election result, whether a quorum
was recently active. Changing the membership is `shoal.raft.confchange`'s job; the tracker only
switches to a configuration that was already validated there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from shoal.raft import quorum
from shoal.raft.progress import Progress
from shoal.raft.types import ConfState


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    voters: frozenset[int] = frozenset()
    learners: frozenset[int] = frozenset()

    @classmethod
    def from_conf_state(cls, cs: ConfState) -> TrackerConfig:
        return cls(frozenset(cs.voters), frozenset(cs.learners))

    def conf_state(self) -> ConfState:
        return ConfState(tuple(sorted(self.voters)), tuple(sorted(self.learners)))

    def members(self) -> frozenset[int]:
        return self.voters | self.learners

    def __str__(self) -> str:
        s = "voters=(" + " ".join(str(i) for i in sorted(self.voters)) + ")"
        if self.learners:
            s += " learners=(" + " ".join(str(i) for i in sorted(self.learners)) + ")"
        return s


class ProgressTracker:
    def __init__(self, max_inflight: int, max_inflight_bytes: int = 0) -> None:
        self.max_inflight = max_inflight
        self.max_inflight_bytes = max_inflight_bytes
        self.config = TrackerConfig()
        self.progress: dict[int, Progress] = {}
        self.votes: dict[int, bool] = {}

    def new_progress(self, next_index: int, is_learner: bool) -> Progress:
        return Progress(next_index, self.max_inflight, is_learner, self.max_inflight_bytes)

    # -- membership ----------------------------------------------------------------------------
    def reset_config(self, cs: ConfState, last_index: int) -> None:
        """Start over from `cs` (a snapshot's membership, or the one at start): fresh progress
        for everyone, as nothing is known of anyone yet."""
        self.config = TrackerConfig.from_conf_state(cs)
        self.progress = {}
        for i in (*cs.voters, *cs.learners):
            self.progress[i] = self.new_progress(last_index + 1, i in self.config.learners)

    def switch_to(self, cfg: TrackerConfig, last_index: int) -> None:
        """Adopt `cfg` after a membership change: members who stay keep what is known of them
        (and their place in the order messages go out in), new ones start probing from
        `last_index + 1` and count as active, so that a leader does not step down at once
        because of a member that could not have answered yet."""
        members = cfg.members()
        progress = {i: pr for i, pr in self.progress.items() if i in members}
        for i in sorted(members - progress.keys()):
            pr = self.new_progress(last_index + 1, i in cfg.learners)
            pr.recent_active = True
            progress[i] = pr
        for i, pr in progress.items():
            pr.is_learner = i in cfg.learners
        self.config = cfg
        self.progress = progress

    def conf_state(self) -> ConfState:
        return self.config.conf_state()

    def voter_nodes(self) -> list[int]:
        return sorted(self.config.voters)

    def learner_nodes(self) -> list[int]:
        return sorted(self.config.learners)

    def is_voter(self, i: int) -> bool:
        return i in self.config.voters

    def is_singleton(self) -> bool:
        return len(self.config.voters) == 1

    def __contains__(self, i: int) -> bool:
        return i in self.progress

    def __iter__(self) -> Iterator[int]:
        return iter(self.progress)

    def get(self, i: int) -> Progress | None:
        return self.progress.get(i)

    def __getitem__(self, i: int) -> Progress:
        return self.progress[i]

    # -- the questions of the core -------------------------------------------------------------
    def committed(self) -> int:
        """The largest index a majority of voters have acknowledged."""
        match = {i: p.match for i, p in self.progress.items()}
        return quorum.committed_index(self.config.voters, match)

    def quorum_active(self, self_id: int) -> bool:
        """Whether a majority of voters (counting this node) were heard from since the last
        check (CheckQuorum, thesis 6.2)."""
        active = {i: True for i, p in self.progress.items() if i == self_id or p.recent_active}
        return quorum.vote_result(self.config.voters, active) is quorum.VoteResult.WON

    def reset_votes(self) -> None:
        self.votes = {}

    def record_vote(self, i: int, granted: bool) -> None:
        """The first answer of a node counts; a duplicate or a change of mind does not."""
        self.votes.setdefault(i, granted)

    def tally_votes(self) -> tuple[int, int, quorum.VoteResult]:
        """(granted, rejected, result) among the voters; learners' answers do not count."""
        granted = sum(1 for i in self.config.voters if self.votes.get(i) is True)
        rejected = sum(1 for i in self.config.voters if self.votes.get(i) is False)
        return granted, rejected, quorum.vote_result(self.config.voters, self.votes)

    def vote_result(self, votes: dict[int, bool]) -> quorum.VoteResult:
        """The result of an ad-hoc tally (acknowledgements of a read-index heartbeat)."""
        return quorum.vote_result(self.config.voters, votes)
