"""Micro-benchmark of the raft core alone: entries committed per second by a 3-node cluster
held in memory (no I/O, no clock): proposals are batched as a member batches them per loop turn.

    .venv/bin/python bench/raft_core.py [--entries N] [--batch B] [--size BYTES]
"""

from __future__ import annotations

import argparse
import random
import time
from collections import deque

from shoal.raft.config import Config
from shoal.raft.rawnode import RawNode
from shoal.raft.storage import MemoryStorage
from shoal.raft.types import ConfState, Message


def cluster(n: int) -> tuple[dict[int, RawNode], dict[int, MemoryStorage]]:
    nodes, stores = {}, {}
    for i in range(1, n + 1):
        st = MemoryStorage()
        st.bootstrap(ConfState(tuple(range(1, n + 1))))
        stores[i] = st
        nodes[i] = RawNode(Config(id=i, storage=st, rng=random.Random(i)))
    return nodes, stores


def run(entries: int, batch: int, size: int) -> tuple[float, int]:
    nodes, stores = cluster(3)
    queue: deque[Message] = deque()
    applied = {i: 0 for i in nodes}

    def process(i: int) -> None:
        node, st = nodes[i], stores[i]
        while node.has_ready():
            rd = node.ready()
            st.append(rd.entries)
            if rd.hard_state is not None:
                st.set_hard_state(rd.hard_state)
            queue.extend(rd.messages)
            applied[i] += len(rd.committed_entries)
            node.advance(rd)
            # Keep memory flat, as a member compacts behind its snapshots.
            if st.last_index() - st.first_index() > 20000:
                st.compact(node.raft.log.applied - 1000)

    def deliver() -> None:
        for i in nodes:
            process(i)
        while queue:
            m = queue.popleft()
            nodes[m.to].step(m)
            process(m.to)

    nodes[1].campaign()
    deliver()
    data = b"x" * size
    start_applied = applied[1]
    t0 = time.perf_counter()
    done = 0
    while done < entries:
        nodes[1].propose_many([data] * batch)
        done += batch
        deliver()
    took = time.perf_counter() - t0
    committed = applied[1] - start_applied
    return took, committed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--entries", type=int, default=200_000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=64)
    a = p.parse_args()
    for batch in (1, a.batch, 256):
        n = a.entries if batch > 1 else a.entries // 10
        took, committed = run(n, batch, a.size)
        print(
            f"batch {batch:>4}: {committed:>7} entries committed (applied on the leader) in "
            f"{took:.2f}s = {committed / took:>9,.0f} entries/s"
        )


if __name__ == "__main__":
    main()
