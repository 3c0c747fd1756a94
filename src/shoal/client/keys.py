"""The v2 keys API (/v2/keys): get, set and its compare-and-swap / create / update forms,
in-order create, delete, and watches, with parameters sent as the Go v2 client sends them (so
etcdctl --debug prints the same curl lines).
"""

from __future__ import annotations

import posixpath
from collections.abc import AsyncGenerator, Mapping
from urllib.parse import urlencode

from shoal.client.errors import ClusterError, EndpointError, EtcdError, UnexpectedStatus
from shoal.client.failover import FailoverClient, Reply, Request
from shoal.client.model import (
    DecodeError,
    Response,
    decode_error_body,
    decode_response,
    header_int,
)
from shoal.client.protocol import HEADER_ETCD_INDEX, KEYS_PREFIX

_FORM = "application/x-www-form-urlencoded"


def key_path(key: str) -> str:
    """The canonical /v2/keys path of `key`: leading slash, `.`/`..`/`//` cleaned, a trailing
    slash kept (Go client's CanonicalURLPath)."""
    full = KEYS_PREFIX + "/" + key.lstrip("/") if key else KEYS_PREFIX
    cleaned = posixpath.normpath(full)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if full.endswith("/") and not cleaned.endswith("/"):
        cleaned += "/"
    return cleaned


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _form_request(method: str, key: str, query: Mapping[str, str], form: dict[str, str]) -> Request:
    return Request(method, key_path(key), query, urlencode(sorted(form.items())), _FORM)


def _with_ttl(form: dict[str, str], ttl: int | None) -> dict[str, str]:
    if ttl is not None and ttl > 0:
        form["ttl"] = str(ttl)
    return form


class KeysAPI(FailoverClient):
    """The keys operations of `AsyncClient`."""

    async def _keys(self, req: Request) -> Response:
        while True:
            reply = await self.request(req)
            if reply.status in (200, 201):
                if not reply.body and req.wait:
                    continue  # the server ended a long poll without an event: poll again
                try:
                    return decode_response(reply.body, reply.headers)
                except DecodeError as exc:
                    raise ClusterError(
                        [EndpointError(reply.endpoint, str(exc), connection=False)]
                    ) from None
            raise self._etcd_error(reply)

    @staticmethod
    def _etcd_error(reply: Reply) -> Exception:
        try:
            body = decode_error_body(reply.body)
        except DecodeError:
            return UnexpectedStatus(reply.status, reply.body)
        return EtcdError(
            body, status=reply.status, etcd_index=header_int(reply.headers, HEADER_ETCD_INDEX)
        )

    async def get(
        self, key: str, *, recursive: bool = False, sorted: bool = False, quorum: bool = False
    ) -> Response:
        # Always explicit, as the Go client sends them (and --debug shows them).
        query = {"quorum": _flag(quorum), "recursive": _flag(recursive), "sorted": _flag(sorted)}
        return await self._keys(Request("GET", key_path(key), query))

    async def set(
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
        """PUT a key (or a directory with dir=True). prev_* make it a compare-and-swap,
        prev_exist=False a create and prev_exist=True an update."""
        query: dict[str, str] = {}
        form: dict[str, str] = {}
        if dir:
            query["dir"] = "true"
        else:
            if prev_value:
                query["prevValue"] = prev_value
            form["value"] = value
        if prev_index:
            query["prevIndex"] = str(prev_index)
        if prev_exist is not None:
            query["prevExist"] = _flag(prev_exist)
        if no_value_on_success:
            query["noValueOnSuccess"] = "true"
        _with_ttl(form, ttl)
        if refresh:
            form["refresh"] = "true"
        return await self._keys(_form_request("PUT", key, query, form))

    async def create(
        self, key: str, value: str = "", *, ttl: int | None = None, dir: bool = False
    ) -> Response:
        """Create a key that must not exist yet (error 105 otherwise)."""
        return await self.set(key, value, ttl=ttl, dir=dir, prev_exist=False)

    async def update(
        self, key: str, value: str = "", *, ttl: int | None = None, dir: bool = False
    ) -> Response:
        """Change a key that must exist (error 100 otherwise). No ttl removes an existing TTL."""
        return await self.set(key, value, ttl=ttl, dir=dir, prev_exist=True)

    async def refresh(self, key: str, ttl: int) -> Response:
        """Reset a key's TTL without changing its value or waking watchers."""
        return await self.set(key, ttl=ttl, refresh=True, prev_exist=True)

    async def create_in_order(
        self, dir_key: str, value: str, *, ttl: int | None = None
    ) -> Response:
        """POST: a new child of `dir_key` named by the store index (a queue entry)."""
        form = _with_ttl({"value": value}, ttl)
        return await self._keys(_form_request("POST", dir_key, {}, form))

    async def delete(
        self,
        key: str,
        *,
        dir: bool = False,
        recursive: bool = False,
        prev_value: str | None = None,
        prev_index: int | None = None,
    ) -> Response:
        query: dict[str, str] = {}
        if dir:
            query["dir"] = "true"
        if prev_index:
            query["prevIndex"] = str(prev_index)
        if prev_value:
            query["prevValue"] = prev_value
        if recursive:
            query["recursive"] = "true"
        return await self._keys(Request("DELETE", key_path(key), query))

    async def watch(self, key: str, *, wait_index: int = 0, recursive: bool = False) -> Response:
        """Wait for the first event on `key` at or after `wait_index` (0: the next one)."""
        query = {"wait": "true", "waitIndex": str(wait_index), "recursive": _flag(recursive)}
        return await self._keys(Request("GET", key_path(key), query, wait=True))

    async def watch_iter(
        self, key: str, *, after_index: int = 0, recursive: bool = False
    ) -> AsyncGenerator[Response, None]:
        """Every event on `key` after `after_index` (0: from now), forever, in index order.

        Each event is fetched by a long poll that resumes at the previous event's index + 1,
        so no event is skipped across endpoint failover; an outdated index raises EtcdError 401.
        """
        wait_index = after_index + 1 if after_index else 0
        while True:
            resp = await self.watch(key, wait_index=wait_index, recursive=recursive)
            wait_index = resp.node.modified_index + 1
            yield resp
