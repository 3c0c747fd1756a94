"""The nemesis of a raft simulation: crashes, partitions, a lossy network, leadership transfers
and membership changes, one every 50 to 600 simulated milliseconds until the liveness phase.

Every choice comes from the simulation's generator, in a fixed order, so a seed replays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shoal.raft.errors import ProposalDroppedError
from shoal.raft.storage import MemoryStorage
from shoal.raft.types import ConfChange, ConfChangeType
from shoal.sim.node import SimNode

if TYPE_CHECKING:
    from shoal.sim.raft_sim import RaftSim

# The actions and their weights (by repetition): crashes and partitions are the most common.
ACTIONS = [
    "crash",
    "crash",
    "crash-leader",
    "crash-majority",
    "partition",
    "partition",
    "isolate-leader",
    "lossy",
    "heal",
    "heal",
    "transfer",
    "membership",
    "membership",
]


def act(sim: RaftSim) -> None:
    """One fault (or a repair), then the next one scheduled."""
    if sim.healed_at is not None:
        return
    live = [n for n in sim.nodes.values() if not n.removed]
    ids = [n.id for n in live]
    action = sim.rng.choice(ACTIONS)
    lead = sim.leader()
    if action == "crash":
        n = sim.rng.choice(live)
        sim.crash(n, "nemesis")
        sim.at(sim.now + sim.rng.randint(20, 800), "restart", n.id)
    elif action == "crash-leader" and lead is not None:
        sim.crash(lead, "nemesis: leader")
        sim.at(sim.now + sim.rng.randint(20, 800), "restart", lead.id)
    elif action == "crash-majority":
        for n in sim.rng.sample(live, len(live) // 2 + 1):
            sim.crash(n, "nemesis: majority")
            sim.at(sim.now + sim.rng.randint(50, 1500), "restart", n.id)
    elif action == "partition":
        sim.rng.shuffle(ids)
        k = sim.rng.randint(1, max(1, len(ids) - 1))
        groups = [ids[:k], ids[k:]]
        if len(ids) >= 5 and sim.rng.random() < 0.3:
            # A bridge: the middle node talks to both sides, which cannot talk.
            mid = ids[0]
            left, right = ids[1 : len(ids) // 2 + 1], ids[len(ids) // 2 + 1 :]
            sim.net.partition([left, right])
            groups = [[*left, mid], [mid, *right]]
        else:
            sim.net.partition(groups)
        sim.stats["partitions"] += 1
        sim.log(f"partition {groups}")
    elif action == "isolate-leader" and lead is not None:
        sim.net.partition([[lead.id], [i for i in ids if i != lead.id]])
        sim.stats["partitions"] += 1
        sim.log(f"isolate leader n{lead.id}")
    elif action == "lossy":
        sim.net.loss = sim.rng.choice([0.0, 0.05, 0.2, 0.4])
        sim.net.duplicate = sim.rng.choice([0.0, 0.05, 0.2])
        sim.net.long_delay = sim.rng.choice([0.0, 0.05, 0.2])
        sim.log(f"network {sim.net.describe()}")
    elif action == "heal":
        sim.net.heal()
        sim.log("heal network")
    elif action == "transfer" and lead is not None and lead.raw is not None:
        voters = [i for i in lead.raw.raft.voters() if i != lead.id]
        if voters:
            to = sim.rng.choice(voters)
            lead.raw.transfer_leadership(to)
            sim.stats["transfers"] += 1
            sim.log(f"transfer leadership n{lead.id} -> n{to}")
            sim.process(lead)
    elif action == "membership" and lead is not None:
        change_membership(sim, lead)
    sim.at(sim.now + sim.rng.randint(50, 600), "nemesis")


def change_membership(sim: RaftSim, lead: SimNode) -> None:
    """Promote a learner, remove a voter, or add a new node (as a learner, mostly)."""
    assert lead.raw is not None
    r = lead.raw.raft
    voters, learners = r.voters(), r.learners()
    if learners:
        cc = ConfChange(ConfChangeType.ADD_NODE, sim.rng.choice(learners))
    elif len(voters) >= sim.cfg.nodes:
        cc = ConfChange(ConfChangeType.REMOVE_NODE, sim.rng.choice(voters))
    else:
        nid = sim.next_id
        sim.next_id += 1
        sim.nodes[nid] = SimNode(nid, MemoryStorage())
        sim.start(sim.nodes[nid])
        kind = ConfChangeType.ADD_LEARNER if sim.rng.random() < 0.7 else ConfChangeType.ADD_NODE
        cc = ConfChange(kind, nid)
    try:
        lead.raw.propose_conf_change(cc)
    except ProposalDroppedError:
        return
    sim.stats["conf_changes"] += 1
    sim.log(f"propose {cc.type.name} n{cc.node_id} at leader n{lead.id}")
    sim.process(lead)
