"""The proxy's endpoints: the members' client URLs, refreshed from the members themselves.

As etcd 3.4's proxy/httpproxy/director.go: the list is fetched once at start, then every
--proxy-refresh-interval (every second instead while none is known and the interval is at least
etcd's 30 s default, so a proxy started before its cluster finds it soon); each refresh shuffles
the list so that clients do not all stick to one member. An endpoint a request could not reach
is left out for --proxy-failure-wait, then tried again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from shoal.etcd import log

PKG = "proxy/httpproxy"
DEFAULT_REFRESH_INTERVAL = 30.0
"""director.go defaultRefreshInterval: at or above it, an empty list is retried every second."""
EMPTY_RETRY = 1.0
MIN_WAIT = 0.01
"""etcd would spin on --proxy-refresh-interval 0; shoal waits this long between refreshes."""


@dataclass(eq=False)
class Endpoint:
    """One client URL and whether requests may go to it now."""

    url: str
    available: bool = True
    _timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    def failed(self, wait: float) -> None:
        """A request could not reach it: leave it out for `wait` seconds (once per failure)."""
        if not self.available:
            return
        self.available = False
        log.info(PKG, f"marked endpoint {self.url} unavailable")
        self._timer = asyncio.get_running_loop().call_later(wait, self._retest)

    def _retest(self) -> None:
        self.available = True
        log.info(PKG, f"marked endpoint {self.url} available, to retest connectivity")


class Director:
    """The endpoints requests go to; `fetch` returns the client URLs (empty when unknown)."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[list[str]]],
        failure_wait: float,
        refresh_interval: float,
        rng: random.Random | None = None,
    ) -> None:
        self._fetch = fetch
        self.failure_wait = failure_wait
        self.refresh_interval = refresh_interval
        self._rng = rng or random.Random()
        self._all: list[Endpoint] = []
        self._announced = False

    @classmethod
    def fixed(cls, urls: list[str], failure_wait: float = 5.0) -> Director:
        """Endpoints that never change (and are not shuffled): `shoal discovery`'s etcd."""

        async def same() -> list[str]:
            return list(urls)

        d = cls(same, failure_wait, DEFAULT_REFRESH_INTERVAL)
        d._all = [Endpoint(u) for u in urls]
        return d

    def endpoints(self) -> list[Endpoint]:
        """The endpoints not held out after a failure, in this refresh's (shuffled) order."""
        return [e for e in self._all if e.available]

    async def refresh(self) -> None:
        urls = await self._fetch()
        fresh = [Endpoint(u) for u in urls]
        self._rng.shuffle(fresh)
        self._all = fresh

    def _next_wait(self) -> float:
        if self.refresh_interval >= DEFAULT_REFRESH_INTERVAL and not self.endpoints():
            return EMPTY_RETRY
        return max(self.refresh_interval, MIN_WAIT)

    async def keep_fresh(self) -> None:
        """Refresh forever (cancel to stop); the first endpoints found are logged once."""
        while True:
            eps = self.endpoints()
            if eps and not self._announced:
                self._announced = True
                quoted = " ".join(f'"{e.url}"' for e in eps)  # Go's %q of a []string
                log.info(PKG, f"endpoints found [{quoted}]")
            await asyncio.sleep(self._next_wait())
            await self.refresh()
