"""The blocking face of the client, for scripts, tests and CLIs that do not run an event loop.

`Client` owns a private event loop and drives an `AsyncClient` on it, so every method has the
same arguments, results and exceptions as its async twin: each is made from that twin by
`_blocking`, so a signature is written once. Do not call it from inside a running event loop
(use `AsyncClient` there).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from shoal.client.aio import AsyncClient, RequestHook
from shoal.client.failover import DEFAULT_TIMEOUT
from shoal.client.model import Response
from shoal.client.protocol import DEFAULT_ENDPOINTS

T = TypeVar("T")
P = ParamSpec("P")


def _blocking(
    method: Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Client, P], T]:
    """`AsyncClient.method` as a blocking `Client` method with the same signature."""

    @functools.wraps(method)
    def run(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._run(method(self.aio, *args, **kwargs))

    return run


class Client:
    """Blocking etcd v2 client. `with Client([...]) as c: c.set("/a", "1")`."""

    def __init__(
        self,
        endpoints: Sequence[str] = DEFAULT_ENDPOINTS,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        total_timeout: float | None = None,
        username: str | None = None,
        password: str | None = None,
        on_request: RequestHook | None = None,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self.aio = AsyncClient(
            endpoints,
            timeout=timeout,
            total_timeout=total_timeout,
            username=username,
            password=password,
            on_request=on_request,
        )

    def _run(self, aw: Awaitable[T]) -> T:
        return self._loop.run_until_complete(aw)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if not self._loop.is_closed():
            self._run(self.aio.close())
            self._loop.close()

    @property
    def endpoints(self) -> list[str]:
        return self.aio.endpoints

    sync = _blocking(AsyncClient.sync)
    get = _blocking(AsyncClient.get)
    set = _blocking(AsyncClient.set)
    create = _blocking(AsyncClient.create)
    update = _blocking(AsyncClient.update)
    refresh = _blocking(AsyncClient.refresh)
    create_in_order = _blocking(AsyncClient.create_in_order)
    delete = _blocking(AsyncClient.delete)
    watch = _blocking(AsyncClient.watch)

    def watch_iter(
        self, key: str, *, after_index: int = 0, recursive: bool = False
    ) -> Iterator[Response]:
        events = self.aio.watch_iter(key, after_index=after_index, recursive=recursive)
        try:
            while True:
                yield self._run(anext(events))
        finally:
            # After an interruption mid-poll the generator is still marked running.
            if not self._loop.is_closed():
                with contextlib.suppress(RuntimeError):
                    self._run(events.aclose())

    members = _blocking(AsyncClient.members)
    leader = _blocking(AsyncClient.leader)
    add_member = _blocking(AsyncClient.add_member)
    update_member = _blocking(AsyncClient.update_member)
    remove_member = _blocking(AsyncClient.remove_member)
    health = _blocking(AsyncClient.health)
    version = _blocking(AsyncClient.version)
    stats = _blocking(AsyncClient.stats)
