"""A simulated network: delay, loss, duplication, reordering and partitions, all seeded.

Messages are events on the simulation's clock: `send` schedules a delivery (or none, when the
message is lost or the link is cut). Reordering comes from independent random delays.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class NetworkFaults:
    loss: float = 0.0  # probability a message is dropped
    duplicate: float = 0.0  # probability a message is delivered twice
    min_delay: int = 1  # in simulated milliseconds
    max_delay: int = 10
    long_delay: float = 0.0  # probability of a much longer delay (reordering across ticks)
    # Pairs (a, b) that cannot talk, in either direction.
    cut: set[tuple[int, int]] = field(default_factory=set)

    def blocked(self, a: int, b: int) -> bool:
        return (a, b) in self.cut or (b, a) in self.cut

    def partition(self, groups: list[list[int]]) -> None:
        """Nodes talk only within their group."""
        self.cut = set()
        for i, g in enumerate(groups):
            for h in groups[i + 1 :]:
                for a in g:
                    for b in h:
                        self.cut.add((a, b))

    def heal(self) -> None:
        self.cut = set()
        self.loss = 0.0
        self.duplicate = 0.0
        self.long_delay = 0.0

    def describe(self) -> str:
        parts = []
        if self.cut:
            parts.append(f"cut={sorted(self.cut)}")
        if self.loss:
            parts.append(f"loss={self.loss:.2f}")
        if self.duplicate:
            parts.append(f"dup={self.duplicate:.2f}")
        if self.long_delay:
            parts.append(f"long-delay={self.long_delay:.2f}")
        return " ".join(parts) or "healthy"


def delivery_delays(rng: random.Random, f: NetworkFaults) -> list[int]:
    """The delays after which copies of one message arrive ([] when it is lost)."""
    if f.loss and rng.random() < f.loss:
        return []
    copies = 2 if f.duplicate and rng.random() < f.duplicate else 1
    out = []
    for _ in range(copies):
        d = rng.randint(f.min_delay, f.max_delay)
        if f.long_delay and rng.random() < f.long_delay:
            d += rng.randint(20, 300)
        out.append(d)
    return out
