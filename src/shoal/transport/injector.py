"""Where faults act on a member's message paths: between `Transport.send` and the peer links on
the way out, between the inbound streams and `on_message` on the way in.

`FaultGate` gives each message its verdict (pass, drop, or hold back for a while); this module
does what the verdict says: a dropped MsgSnap is reported failed, a held message waits in its
peer's `DelayLine` (one per peer and direction, so nothing is reordered), and once a line has
drained with no delay set it is retired so messages go direct again. With no fault set the
Transport's hot paths test `gate.active` and a dict membership and skip all of this.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from shoal.raft.types import Message
from shoal.transport.delay import DelayLine
from shoal.transport.faults import FaultGate, Faults
from shoal.transport.peer import PeerLink
from shoal.transport.stats import PeerStats

log = logging.getLogger("shoal.rafthttp")  # etcd's package name for its peer transport


class FaultInjector:
    """The gate and the delay lines of one Transport. `peers` is the Transport's live map of
    links (read, never changed here); the callbacks are the Transport's: hand a message to the
    member, report a peer unreachable, report a snapshot's fate."""

    def __init__(
        self,
        rng: random.Random,
        peers: Mapping[int, PeerLink],
        *,
        hand_over: Callable[[Message, int], None],
        report_unreachable: Callable[[int], None],
        snapshot_status: Callable[[int, bool], None],
    ) -> None:
        self.gate = FaultGate(rng)
        self.out_lines: dict[int, DelayLine[tuple[bytes, bool]]] = {}
        """Peers whose outbound messages are held back (a peer in here: consult `outbound`)."""
        self.in_lines: dict[int, DelayLine[Message]] = {}
        """Peers whose inbound messages are held back (a peer in here: consult `inbound`)."""
        self._peers = peers
        self._hand_over = hand_over
        self._report_unreachable = report_unreachable
        self._snapshot_status = snapshot_status

    @property
    def faults(self) -> Faults:
        return self.gate.faults

    def set(self, faults: Faults) -> None:
        """Replace the settings; a link whose peer is no longer blocked redials at once."""
        before = self.gate.faults
        if faults == before:
            return
        log.warning("peer faults set: %s", json.dumps(faults.to_json()))
        self.gate.set(faults)
        for peer_id in before.blocked - faults.blocked:
            link = self._peers.get(peer_id)
            if link is not None:
                link.poke()  # a healed link comes back at once, not after a backoff

    # -- outbound ----------------------------------------------------------------------------

    def outbound(self, link: PeerLink, payload: bytes, is_snap: bool) -> bool:
        """True: enqueue now. False: dropped by a fault, or held in the peer's delay line."""
        delay = self.gate.verdict(link.peer_id)
        if delay is None:
            link.stats.messages_dropped_by_faults += 1
            if is_snap:
                self._snapshot_status(link.peer_id, False)
            return False
        line = self.out_lines.get(link.peer_id)
        if delay == 0.0 and line is None:
            return True
        if line is None:
            peer_id = link.peer_id
            line = DelayLine(asyncio.get_running_loop(), lambda item: self._release(peer_id, item))
            self.out_lines[link.peer_id] = line
        line.push((payload, is_snap), delay)
        return False

    def _release(self, peer_id: int, item: tuple[bytes, bool]) -> None:
        link = self._peers.get(peer_id)
        if link is None:
            return
        payload, is_snap = item
        if peer_id in self.gate.faults.blocked:
            link.stats.messages_dropped_by_faults += 1
            if is_snap:
                self._snapshot_status(peer_id, False)
        elif not link.enqueue(payload, is_snap):
            self._report_unreachable(peer_id)
        self._retire_line(self.out_lines, peer_id)

    # -- inbound -----------------------------------------------------------------------------

    def inbound(self, peer_id: int, m: Message, stats: PeerStats) -> bool:
        """True: hand `m` over now. False: dropped by a fault, or held in the peer's line."""
        delay = self.gate.verdict(peer_id)
        if delay is None:
            stats.messages_dropped_by_faults += 1
            return False
        line = self.in_lines.get(peer_id)
        if delay or line is not None:
            if line is None:
                line = DelayLine(asyncio.get_running_loop(), self._deliver_late)
                self.in_lines[peer_id] = line
            line.push(m, delay)
            return False
        return True

    def _deliver_late(self, m: Message) -> None:
        if m.frm not in self.gate.faults.blocked and m.frm in self._peers:
            self._hand_over(m, m.frm)
        self._retire_line(self.in_lines, m.frm)

    # -- lines -------------------------------------------------------------------------------

    def _retire_line(self, lines: MutableMapping[int, DelayLine[Any]], peer_id: int) -> None:
        # Once a delay line has drained and no delay is set, messages may go direct again
        # without overtaking anything.
        line = lines.get(peer_id)
        if line is not None and not len(line) and not self.gate.faults.delay_ms:
            del lines[peer_id]

    def forget(self, peer_id: int) -> None:
        """Drop what is held for a removed peer, both ways."""
        out_line = self.out_lines.pop(peer_id, None)
        if out_line is not None:
            out_line.close()
        in_line = self.in_lines.pop(peer_id, None)
        if in_line is not None:
            in_line.close()

    def close(self) -> None:
        """Drop everything held (the Transport is stopping)."""
        for out_line in self.out_lines.values():
            out_line.close()
        for in_line in self.in_lines.values():
            in_line.close()
