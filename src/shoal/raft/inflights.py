"""The append messages a leader has sent to one follower and not yet seen acknowledged.

etcd's tracker/inflights.go: a ring buffer of (last index, payload bytes) per message, bounded
both by a count (`max_inflight_msgs`) and, when `max_bytes` is not 0, by the bytes of entry data
in flight (`max_inflight_bytes`). A follower in REPLICATE is paused while its inflights are full,
so a slow follower costs the leader at most that much memory and bandwidth.

The buffer starts empty and doubles up to `size` as it fills: most followers keep up and never
need the whole window.
"""

from __future__ import annotations


class Inflights:
    __slots__ = ("_bytes", "_count", "_idx", "_sizes", "_start", "max_bytes", "size")

    def __init__(self, size: int, max_bytes: int = 0) -> None:
        self.size = size  # the most messages in flight
        self.max_bytes = max_bytes  # the most payload bytes in flight; 0: no limit
        self._start = 0  # slot of the oldest message
        self._count = 0
        self._bytes = 0
        self._idx: list[int] = []  # last index of each message, by slot
        self._sizes: list[int] = []  # payload bytes of each message, by slot

    def __repr__(self) -> str:
        return f"Inflights({list(zip(self.indexes(), self._sizes_in_order(), strict=True))})"

    def add(self, index: int, nbytes: int = 0) -> None:
        """Record a message whose last entry is `index`, carrying `nbytes` of entry data.
        Indexes must be added in increasing order (they are: the leader sends in log order)."""
        if self.full():
            raise AssertionError("cannot add into a full inflights")
        slot = self._start + self._count
        if slot >= self.size:
            slot -= self.size
        if slot >= len(self._idx):
            self._grow()
        self._idx[slot] = index
        self._sizes[slot] = nbytes
        self._count += 1
        self._bytes += nbytes

    def _grow(self) -> None:
        # Only ever called with the ring not wrapped yet (slot == len), so appending keeps order.
        n = min(max(1, 2 * len(self._idx)), self.size)
        extra = n - len(self._idx)
        self._idx.extend([0] * extra)
        self._sizes.extend([0] * extra)

    def free_le(self, to: int) -> None:
        """Acknowledge every message whose last index is <= `to`."""
        if self._count == 0 or to < self._idx[self._start]:
            return
        slot = self._start
        freed = freed_bytes = 0
        while freed < self._count and self._idx[slot] <= to:
            freed_bytes += self._sizes[slot]
            freed += 1
            slot += 1
            if slot >= self.size:
                slot -= self.size
        self._count -= freed
        self._bytes -= freed_bytes
        self._start = 0 if self._count == 0 else slot

    def free_first_one(self) -> None:
        """Forget the oldest message (a heartbeat answered while full: the window must move)."""
        if self._count:
            self.free_le(self._idx[self._start])

    def full(self) -> bool:
        return self._count == self.size or (self.max_bytes != 0 and self._bytes >= self.max_bytes)

    def count(self) -> int:
        return self._count

    def bytes(self) -> int:
        return self._bytes

    def reset(self) -> None:
        self._start = self._count = self._bytes = 0

    def indexes(self) -> list[int]:
        """The last indexes in flight, oldest first."""
        return [self._idx[(self._start + i) % self.size] for i in range(self._count)]

    def _sizes_in_order(self) -> list[int]:
        return [self._sizes[(self._start + i) % self.size] for i in range(self._count)]
