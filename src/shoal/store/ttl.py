"""The nodes that have an expire time, ordered by when they expire.

Ordered by (expire time, path) rather than by etcd's heap history: equal expire times then
expire in path order on every member, including one restored from a snapshot, which keeps
the expire events (and the indexes they take) identical everywhere.
"""

from __future__ import annotations

import heapq

from shoal.store.node import Node, TTLEntry

# Stale entries are dropped lazily; rebuild when they outnumber the live ones this much.
_COMPACT_MIN = 64


class TTLHeap:
    """A min-heap of nodes by expire time with O(log n) push and O(1) removal (an entry is
    live while it is its node's `ttl_entry`)."""

    __slots__ = ("_heap", "_live", "_seq")

    def __init__(self) -> None:
        self._heap: list[TTLEntry] = []
        self._live = 0
        self._seq = 0

    def __len__(self) -> int:
        return self._live

    def push(self, node: Node) -> None:
        assert node.expire_ns is not None and node.ttl_entry is None
        self._seq += 1
        entry = (node.expire_ns, node.path, self._seq, node)
        node.ttl_entry = entry
        heapq.heappush(self._heap, entry)
        self._live += 1

    def remove(self, node: Node) -> None:
        if node.ttl_entry is None:
            return
        node.ttl_entry = None
        self._live -= 1
        if len(self._heap) > _COMPACT_MIN and len(self._heap) > 4 * self._live:
            self._heap = [e for e in self._heap if e[3].ttl_entry is e]
            heapq.heapify(self._heap)

    def update(self, node: Node) -> None:
        """Re-place a node whose expire time changed."""
        self.remove(node)
        self.push(node)

    def set_expiry(self, node: Node, expire_ns: int | None) -> None:
        """Give `node` the expire time `expire_ns` (None: permanent) and its place here."""
        if node.expire_ns is not None:
            node.expire_ns = expire_ns
            if expire_ns is None:
                self.remove(node)
            else:
                self.update(node)
        elif expire_ns is not None:
            node.expire_ns = expire_ns
            self.push(node)

    def top(self) -> Node | None:
        """The node that expires first, or None."""
        h = self._heap
        while h:
            e = h[0]
            if e[3].ttl_entry is e:
                return e[3]
            heapq.heappop(h)
        return None

    def clear(self) -> None:
        for e in self._heap:
            e[3].ttl_entry = None
        self._heap = []
        self._live = 0
