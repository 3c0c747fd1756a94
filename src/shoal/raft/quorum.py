"""Majority arithmetic as small pure functions (etcd's quorum/majority.go)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import Enum


class VoteResult(Enum):
    PENDING = 1
    LOST = 2
    WON = 3


def committed_index(voters: Collection[int], match: Mapping[int, int]) -> int:
    """The largest index that a majority of voters have (0 for no voters: nothing commits)."""
    n = len(voters)
    if n == 0:
        return 0
    idx = sorted((match.get(v, 0) for v in voters), reverse=True)
    return idx[n // 2]


def vote_result(voters: Collection[int], votes: Mapping[int, bool]) -> VoteResult:
    if not voters:
        return VoteResult.WON
    granted = rejected = missing = 0
    for v in voters:
        got = votes.get(v)
        if got is None:
            missing += 1
        elif got:
            granted += 1
        else:
            rejected += 1
    q = len(voters) // 2 + 1
    if granted >= q:
        return VoteResult.WON
    if granted + missing >= q:
        return VoteResult.PENDING
    return VoteResult.LOST
