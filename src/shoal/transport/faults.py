"""Fault injection on one member's peer links: partition, message loss, added latency.

A member's faults act on both directions of its own links. A blocked peer is blackholed, as
etcd's functional tester does with BLACKHOLE_PEER_PORT_TX_RX: messages to it are dropped before
they are queued and messages from it on arrival, at once; the connections themselves are not
told, so, as with a real partition, each side's link is declared dead only when its PINGs go
unanswered for 5 intervals (etcd's streams time out the same way), and redials fail until the
block is lifted. From then on sends to the peer fail fast and raft hears "unreachable".
`drop` and `delay_ms` apply to raft messages sent and received (not to PINGs). Only the peer
links are affected, never the HTTP endpoints of the peer port, so the tool that set a partition
can always lift it.

Setting faults on one side of a link is enough to cut it both ways; `shoal partition` and the
torture nemesis set them through the peer port's `/_shoal/faults` endpoint (see `inbound`).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any


@dataclass(slots=True, frozen=True)
class Faults:
    """One member's fault settings. The default value means "no faults"."""

    blocked: frozenset[int] = frozenset()
    """Peers cut off in both directions."""
    drop: float = 0.0
    """Probability in [0, 1] that a message (either direction) is lost."""
    delay_ms: float = 0.0
    """Latency added to every message, in each direction (so a round trip gains twice this)."""
    peers: frozenset[int] | None = None
    """Peers that `drop` and `delay_ms` apply to; None means every peer."""

    def is_clear(self) -> bool:
        return not self.blocked and self.drop == 0.0 and self.delay_ms == 0.0

    def block(self, peer_ids: Iterable[int]) -> Faults:
        """These settings with `peer_ids` blocked too."""
        return replace(self, blocked=self.blocked | frozenset(peer_ids))

    def unblock(self, peer_ids: Iterable[int] | None = None) -> Faults:
        """These settings with `peer_ids` (all when None) no longer blocked."""
        blocked = frozenset() if peer_ids is None else self.blocked - frozenset(peer_ids)
        return replace(self, blocked=blocked)

    def to_json(self) -> dict[str, Any]:
        """JSON form, member ids as lowercase hex strings (as etcd prints member ids)."""
        return {
            "blocked": sorted(format(i, "x") for i in self.blocked),
            "drop": self.drop,
            "delay_ms": self.delay_ms,
            "peers": None if self.peers is None else sorted(format(i, "x") for i in self.peers),
        }

    @staticmethod
    def from_json(obj: object) -> Faults:
        """Parse a JSON object; absent fields take their defaults (so `{}` clears every fault).

        Member ids may be JSON integers or hex strings (as `etcdctl member list` prints them).
        Raises ValueError saying which field is wrong.
        """
        if not isinstance(obj, dict):
            raise ValueError("faults must be a JSON object")
        unknown = set(obj) - {"blocked", "drop", "delay_ms", "peers"}
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        blocked = _ids(obj.get("blocked", []), "blocked")
        drop = _number(obj.get("drop", 0.0), "drop")
        if not 0.0 <= drop <= 1.0:
            raise ValueError(f"drop must be between 0 and 1, got {drop}")
        delay = _number(obj.get("delay_ms", 0.0), "delay_ms")
        if delay < 0:
            raise ValueError(f"delay_ms must not be negative, got {delay}")
        raw_peers = obj.get("peers")
        peers = None if raw_peers is None else _ids(raw_peers, "peers")
        return Faults(blocked, drop, delay, peers)


def _number(v: object, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"{name} must be a number, got {v!r}")
    return float(v)


def _ids(v: object, name: str) -> frozenset[int]:
    if not isinstance(v, list):
        raise ValueError(f"{name} must be a list of member ids, got {v!r}")
    return frozenset(parse_member_id(x, name) for x in v)


def parse_member_id(x: object, what: str = "member id") -> int:
    """A member id from JSON: a non-negative integer, or a hex string as etcd prints ids."""
    if isinstance(x, bool):
        raise ValueError(f"{what}: {x!r} is not a member id")
    if isinstance(x, int) and x >= 0:
        return x
    if isinstance(x, str):
        try:
            return int(x, 16)
        except ValueError:
            pass
    raise ValueError(f"{what}: {x!r} is not a member id (want an integer or a hex string)")


class FaultGate:
    """Decides, per message, whether it passes, is lost, or is held back (and for how long)."""

    __slots__ = ("_faults", "_rng", "active")

    def __init__(self, rng: random.Random | None = None) -> None:
        self._faults = Faults()
        self._rng = rng or random.Random()
        self.active = False
        """False when no fault is set: the hot path tests this one attribute and goes on."""

    @property
    def faults(self) -> Faults:
        return self._faults

    def set(self, faults: Faults) -> None:
        self._faults = faults
        self.active = not faults.is_clear()

    def is_blocked(self, peer: int) -> bool:
        return peer in self._faults.blocked

    def verdict(self, peer: int) -> float | None:
        """None: drop the message. Otherwise the delay in seconds (0.0: pass now)."""
        f = self._faults
        if peer in f.blocked:
            return None
        if f.peers is not None and peer not in f.peers:
            return 0.0
        if f.drop and self._rng.random() < f.drop:
            return None
        return f.delay_ms / 1000.0
