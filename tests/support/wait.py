"""Waiting for a condition: poll it until it holds or a generous deadline passes, then fail with
a message that says what was awaited (and the last error the probe raised, if it was allowed to).

`wait_until` blocks; `wait_until_async` is the same wait for code running on an event loop (it
sleeps with asyncio, so the loop keeps serving what the test waits for). Both return the first
truthy value the probe gave, so a wait can also fetch what it waited for.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

# Generous: this 2-core machine runs several suites at once, and a wait that holds returns at once.
DEFAULT_TIMEOUT = 20.0


class _Poll:
    """One wait's deadline, the errors it tolerates, and its failure message."""

    def __init__(
        self,
        probe: object,
        timeout: float,
        what: str,
        ignore: tuple[type[BaseException], ...],
    ) -> None:
        self.timeout = timeout
        self.what = what or _describe(probe)
        self.ignore = ignore
        self.deadline = time.monotonic() + timeout
        self.last: BaseException | None = None

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def failure(self) -> AssertionError:
        msg = f"timed out after {self.timeout}s waiting for {self.what}"
        if self.last is not None:
            msg += f" (last error: {self.last!r})"
        return AssertionError(msg)


def _describe(probe: object) -> str:
    """The probe's source line when it has no `what` (a lambda reads better than its repr)."""
    try:
        return inspect.getsource(probe).strip()  # type: ignore[arg-type]
    except (OSError, TypeError):
        return repr(probe)


def wait_until(
    probe: Callable[[], T],
    timeout: float = DEFAULT_TIMEOUT,
    what: str = "",
    *,
    every: float = 0.05,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Call probe() every `every` seconds until it returns something truthy, and return that.
    Exceptions of the types in `ignore` count as "not yet"; anything else fails at once. The
    probe is tried once more after the deadline, so a slow machine does not fail a wait whose
    condition came true during the last sleep."""
    poll = _Poll(probe, timeout, what, ignore)
    while True:
        expired = poll.expired()
        try:
            got = probe()
            if got:
                return got
        except ignore as e:
            poll.last = e
        if expired:
            raise poll.failure()
        time.sleep(every)


async def wait_until_async(
    probe: Callable[[], T | Awaitable[T]],
    timeout: float = DEFAULT_TIMEOUT,
    what: str = "",
    *,
    every: float = 0.02,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """`wait_until` on an event loop: the probe may be a plain function or return an awaitable."""
    poll = _Poll(probe, timeout, what, ignore)
    while True:
        expired = poll.expired()
        try:
            got = probe()
            if inspect.isawaitable(got):
                got = await got
            if got:
                return got
        except ignore as e:
            poll.last = e
        if expired:
            raise poll.failure()
        await asyncio.sleep(every)
