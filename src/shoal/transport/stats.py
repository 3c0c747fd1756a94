"""Per-peer counters and round-trip latency, the raw material of /v2/stats/leader."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from shoal.metrics import Histogram, exponential

RTT_BUCKETS = exponential(0.0001, 2, 16)
"""etcd's peer_round_trip_time_seconds buckets (rafthttp: ExponentialBuckets(0.0001, 2, 16))."""


@dataclass(slots=True)
class Latency:
    """Round-trip times of PING/PONG frames on the outbound connection, in milliseconds.

    Field meanings follow etcd's followers' `latency` object in /v2/stats/leader (current,
    average, standardDeviation, minimum, maximum); `count` is how many samples went in.
    """

    current: float = 0.0
    average: float = 0.0
    standard_deviation: float = 0.0
    minimum: float = 0.0
    maximum: float = 0.0
    count: int = 0
    seconds: Histogram = field(default_factory=lambda: Histogram(RTT_BUCKETS))
    """The same round trips in seconds, in etcd's buckets (etcd_network_peer_round_trip_time)."""
    _m2: float = field(default=0.0, repr=False)  # Welford's running sum of squared deviations

    def add(self, ms: float) -> None:
        self.seconds.observe(ms / 1000.0)
        self.count += 1
        self.current = ms
        if self.count == 1:
            self.minimum = self.maximum = ms
        else:
            self.minimum = min(self.minimum, ms)
            self.maximum = max(self.maximum, ms)
        delta = ms - self.average
        self.average += delta / self.count
        self._m2 += delta * (ms - self.average)
        self.standard_deviation = math.sqrt(self._m2 / self.count)


@dataclass(slots=True)
class PeerStats:
    """What the transport knows about one peer. `Transport.stats()` hands out copies."""

    peer_id: int
    active: bool = False
    """The outbound stream is connected and accepted (etcd: the peer is "active")."""
    active_since: float | None = None
    """time.monotonic() when the current outbound stream was accepted; None while inactive."""
    url: str | None = None
    """The peer URL the current (or last tried) outbound connection used."""
    messages_sent: int = 0
    """Messages written to the peer's socket (etcd's `counts.success`)."""
    bytes_sent: int = 0
    messages_failed: int = 0
    """Messages dropped because the peer was unreachable or its queue was full (`counts.fail`)."""
    messages_dropped_by_faults: int = 0
    """Messages (either direction) discarded by fault injection; not counted as failures."""
    messages_received: int = 0
    bytes_received: int = 0
    appends_sent: int = 0
    """MsgApp handed to send() for this peer, and their encoded bytes: with the received pair,
    the raw material of /v2/stats/self's append request counts and rates (etcd counts them
    the same way, in its Transport.Send and stream reader)."""
    append_bytes_sent: int = 0
    appends_received: int = 0
    append_bytes_received: int = 0
    connects: int = 0
    """Outbound streams accepted so far; more than one means the link was re-established."""
    disconnects: int = 0
    """Times an active outbound stream was lost (etcd_network_disconnected_peers_total)."""
    last_error: str = ""
    """Why the last outbound connection attempt or stream failed, for logs and `shoal status`."""
    latency: Latency = field(default_factory=Latency)

    def copy(self) -> PeerStats:
        latency = replace(self.latency, seconds=self.latency.seconds.copy())
        return replace(self, latency=latency)
