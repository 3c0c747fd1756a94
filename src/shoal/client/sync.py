"""The blocking face of the client, for scripts, tests and CLIs that do not run an event loop.

`Client` owns a private event loop and drives an `AsyncClient` on it, so every method has the
same arguments, results and exceptions as its async twin. Do not call it from inside a running
event loop (use `AsyncClient` there).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

from shoal.client.aio import AsyncClient, RequestHook
from shoal.client.model import Health, Member, Response, Version
from shoal.client.protocol import DEFAULT_ENDPOINTS

T = TypeVar("T")


class Client:
    """Blocking etcd v2 client. `with Client([...]) as c: c.set("/a", "1")`."""

    def __init__(
        self,
        endpoints: Sequence[str] = DEFAULT_ENDPOINTS,
        *,
        timeout: float | None = 2.0,
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

    def sync(self) -> list[str]:
        return self._run(self.aio.sync())

    def get(
        self, key: str, *, recursive: bool = False, sorted: bool = False, quorum: bool = False
    ) -> Response:
        return self._run(self.aio.get(key, recursive=recursive, sorted=sorted, quorum=quorum))

    def set(
        self,
        key: str,
        value: str = "",
        *,
        ttl: int | None = None,
        prev_value: str | None = None,
        prev_index: int | None = None,
        prev_exist: bool | None = None,
        dir: bool = False,
        refresh: bool = False,
        no_value_on_success: bool = False,
    ) -> Response:
        return self._run(
            self.aio.set(
                key,
                value,
                ttl=ttl,
                prev_value=prev_value,
                prev_index=prev_index,
                prev_exist=prev_exist,
                dir=dir,
                refresh=refresh,
                no_value_on_success=no_value_on_success,
            )
        )

    def create(
        self, key: str, value: str = "", *, ttl: int | None = None, dir: bool = False
    ) -> Response:
        return self._run(self.aio.create(key, value, ttl=ttl, dir=dir))

    def update(
        self, key: str, value: str = "", *, ttl: int | None = None, dir: bool = False
    ) -> Response:
        return self._run(self.aio.update(key, value, ttl=ttl, dir=dir))

    def refresh(self, key: str, ttl: int) -> Response:
        return self._run(self.aio.refresh(key, ttl))

    def create_in_order(self, dir_key: str, value: str, *, ttl: int | None = None) -> Response:
        return self._run(self.aio.create_in_order(dir_key, value, ttl=ttl))

    def delete(
        self,
        key: str,
        *,
        dir: bool = False,
        recursive: bool = False,
        prev_value: str | None = None,
        prev_index: int | None = None,
    ) -> Response:
        return self._run(
            self.aio.delete(
                key, dir=dir, recursive=recursive, prev_value=prev_value, prev_index=prev_index
            )
        )

    def watch(self, key: str, *, wait_index: int = 0, recursive: bool = False) -> Response:
        return self._run(self.aio.watch(key, wait_index=wait_index, recursive=recursive))

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

    def members(self) -> list[Member]:
        return self._run(self.aio.members())

    def leader(self) -> Member:
        return self._run(self.aio.leader())

    def add_member(self, peer_urls: Sequence[str]) -> Member:
        return self._run(self.aio.add_member(peer_urls))

    def update_member(self, member_id: str, peer_urls: Sequence[str]) -> None:
        self._run(self.aio.update_member(member_id, peer_urls))

    def remove_member(self, member_id: str) -> None:
        self._run(self.aio.remove_member(member_id))

    def health(self, endpoint: str | None = None) -> Health:
        return self._run(self.aio.health(endpoint))

    def version(self) -> Version:
        return self._run(self.aio.version())

    def stats(self, which: str) -> dict[str, Any]:
        return self._run(self.aio.stats(which))
