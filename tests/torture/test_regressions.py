"""Bugs `shoal torture` found in the raft core, the WAL or the member, each reproduced small.

1. A follower restarted with a torn WAL tail (`truncate-wal`) had lost entries it had
   acknowledged; the leader's heartbeat carries commit = min(leader commit, follower match),
   which was then past the follower's last index. The follower raised on every heartbeat
   ("tocommit(N) is out of range [lastIndex(N-1)]"), never answered one, so the leader never
   sent the lost entries again: the member stayed stuck until the leader changed.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "raft"))

from raft_harness import Net

from shoal.raft.storage import MemoryStorage


def lose_tail(st: MemoryStorage, n: int) -> MemoryStorage:
    """What a member reads back after its last `n` acknowledged entries were cut off its WAL."""
    lost = copy.deepcopy(st)
    del lost.ents[-n:]
    # The hard state records written with them are gone too: an older commit index is read.
    hs, _ = lost.initial_state()
    lost.set_hard_state(replace(hs, commit=min(hs.commit, lost.last_index())))
    return lost


def test_a_follower_that_lost_acknowledged_entries_catches_up_again() -> None:
    net = Net(3, election_tick=10, heartbeat_tick=1)
    net.campaign(1)
    for i in range(5):
        net.propose(1, f"v{i}".encode())
    last = net.storages[1].last_index()
    assert net.storages[2].last_index() == last
    # Follower 2 crashes; its WAL loses the last two entries it had acknowledged.
    net.add_node(2, lose_tail(net.storages[2], 2))
    assert net.storages[2].last_index() == last - 2
    net.nodes[1].report_unreachable(2)  # the transport saw the stream break
    net.tick(1, 3)  # heartbeats: must not blow up the follower
    net.propose(1, b"after")
    assert net.storages[2].last_index() == net.storages[1].last_index() == last + 1
    assert net.data_applied(2)[-6:] == [b"v0", b"v1", b"v2", b"v3", b"v4", b"after"]
