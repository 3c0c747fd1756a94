"""What clients observed: operations with call and return times, whatever they asked.

An `Operation` is one client request as seen from outside: when it was called, when it returned
(`ret is None` when the outcome is unknown: a timeout, a dropped connection), what was asked and
what came back. The checker never looks inside inputs and outputs; models do. The key-value
vocabulary models understand is `kvops`; readers of recorded histories are `records` (a test
harness's) and `logs` (Jepsen's and porcupine's), besides the call/return event lists here
(`operations_from_events`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True, slots=True)
class Operation(Generic[In, Out]):
    """One request as observed by a client.

    `ret is None` (and then `output is None`) means the outcome is unknown: the request may take
    effect at any time after `call`, or never. Times are any monotone numbers (wall-clock seconds,
    or event positions for logs without clocks); only their order matters.
    """

    client: int
    call: float
    ret: float | None
    input: In
    output: Out | None

    def __post_init__(self) -> None:
        if (self.ret is None) != (self.output is None):
            raise ValueError(
                "an operation needs both a return time and an output (outcome known), "
                f"or neither (outcome unknown); got ret={self.ret!r}, output={self.output!r}"
            )
        if math.isnan(self.call) or (self.ret is not None and math.isnan(self.ret)):
            raise ValueError("an operation's times must be numbers, not NaN")
        if self.ret is not None and self.ret < self.call:
            raise ValueError(f"operation returns ({self.ret}) before it is called ({self.call})")

    @property
    def unknown(self) -> bool:
        return self.ret is None

    @property
    def end(self) -> float:
        """Return time for ordering: an unknown outcome may take effect arbitrarily late."""
        return math.inf if self.ret is None else self.ret


@dataclass(frozen=True, slots=True)
class CallEvent(Generic[In]):
    client: int
    id: int
    input: In


@dataclass(frozen=True, slots=True)
class ReturnEvent(Generic[Out]):
    client: int
    id: int
    output: Out


def operations_from_events(
    events: Sequence[CallEvent[In] | ReturnEvent[Out]],
) -> list[Operation[In, Out]]:
    """Pair call and return events by id; a position in the list is the event's time.

    A call with no return event is an operation whose outcome is unknown.
    """
    calls: dict[int, tuple[int, CallEvent[In]]] = {}
    returns: dict[int, tuple[int, ReturnEvent[Out]]] = {}
    for t, ev in enumerate(events):
        if ev.id in (calls if isinstance(ev, CallEvent) else returns):
            raise ValueError(f"event {t}: a second {type(ev).__name__} for operation id {ev.id}")
        if isinstance(ev, CallEvent):
            calls[ev.id] = (t, ev)
        else:
            returns[ev.id] = (t, ev)
    ops: list[Operation[In, Out]] = []
    for op_id, (t_call, call) in calls.items():
        if op_id in returns:
            t_ret, ret = returns[op_id]
            if t_ret < t_call:
                raise ValueError(f"operation id {op_id} returns (event {t_ret}) before its call")
            ops.append(Operation(call.client, t_call, t_ret, call.input, ret.output))
        else:
            ops.append(Operation(call.client, t_call, None, call.input, None))
    orphans = sorted(set(returns) - set(calls))
    if orphans:
        raise ValueError(f"return events without a call for operation ids {orphans}")
    return ops
