"""Leader changes, member health changes and the cluster's verdict, as the dashboard sees
them change from one look to the next (newest last, the last LIMIT kept)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

LIMIT = 300


@dataclass(frozen=True, slots=True)
class Event:
    time: float
    kind: str  # leader | health | cluster
    text: str
    level: str  # ok | warn | bad

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "kind": self.kind, "text": self.text, "level": self.level}


class Timeline:
    def __init__(self) -> None:
        self.events: deque[Event] = deque(maxlen=LIMIT)
        self._leader: str | None = None
        self._health: dict[str, str] = {}
        self._verdict: str | None = None

    def add(self, kind: str, text: str, level: str) -> None:
        self.events.append(Event(time.time(), kind, text, level))

    def observe(self, leader: str, health: dict[str, str], verdict: str, level: str) -> None:
        """Record what changed since the last look. `health`: member name -> its state."""
        if leader != self._leader:
            if leader:
                self.add("leader", f"leader is {leader}", "ok")
            elif self._leader:
                self.add("leader", f"no leader (was {self._leader})", "bad")
            self._leader = leader
        for name, state in health.items():
            if self._health.get(name) != state:
                if name in self._health or state != "healthy":
                    lvl = "ok" if state == "healthy" else "bad"
                    self.add("health", f"{name}: {state}", lvl)
                self._health[name] = state
        if verdict != self._verdict:
            self.add("cluster", f"cluster {verdict}", level)
            self._verdict = verdict

    def to_json(self) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.events]
