"""`/v2/keys[/...]`: etcd's keysHandler. Plain GET/HEAD read the local store; quorum GETs and
writes go through `server.do`; `wait=true` registers a store watcher and streams its events.

Response bodies are the store's own bytes (`Event.to_json`, `EtcdError.to_json`), written as
they are: this handler is on every request's path, so it parses and builds headers only."""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web

from shoal.etcd import facts
from shoal.etcd.server_iface import ServerAPI
from shoal.etcd.v2http import respond
from shoal.etcd.v2http.body import read_body
from shoal.etcd.v2http.goserver import BodyError
from shoal.etcd.v2http.keyreq import parse_key_request
from shoal.gocompat.nethttp import MAX_FORM_BYTES, parse_form
from shoal.store import EtcdError, Event, Request, Watcher
from shoal.store import errors as codes
from shoal.store import request as rq

log = logging.getLogger("shoal.v2http")

KEYS_PREFIX = "/v2/keys"

# ParseForm reads a body only for these methods (Go's net/http).
_FORM_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))


DISCONNECT_POLL = 5.0
"""How often a waiting watch checks that its client is still connected, for servers run
without aiohttp's handler cancellation (with it, a disconnect ends the watch at once)."""


class KeysHandler:
    __slots__ = ("_http", "_wakes", "closing", "cluster_id", "server")

    def __init__(self, server: ServerAPI) -> None:
        self.server = server
        self._http = server.metrics.http  # etcd_http_*, counted as etcd's keysHandler does
        self.cluster_id = f"{server.cluster_id:x}"
        self.closing = False
        self._wakes: set[asyncio.Event] = set()

    def close(self) -> None:
        """End every open watch response now (the server is stopping), so shutting down does
        not wait on long polls."""
        self.closing = True
        for wake in self._wakes:
            wake.set()

    async def handle(self, request: web.Request, path: str, raw_query: str) -> web.StreamResponse:
        method = request.method
        if method not in facts.KEYS_METHODS:
            return respond.method_not_allowed(facts.KEYS_METHODS)
        started = time.perf_counter()
        headers = respond.base_headers()
        headers["X-Etcd-Cluster-Id"] = self.cluster_id

        body: bytes | None = None
        too_large = False
        broken: str | None = None
        if method in _FORM_BODY_METHODS:
            try:
                body, too_large = await read_form_body(request)
            except BodyError as e:
                # A malformed chunk: ParseForm fails with the reader's error (Go's text), at
                # once, whatever came before it; the connection closes after the answer.
                body, broken = b"", str(e)
        form, form_err = parse_form(raw_query, body, request.headers.get("Content-Type"))
        form_err = broken or form_err
        try:
            if form_err is not None:
                raise EtcdError(codes.INVALID_FORM, form_err)
            req, no_value = parse_key_request(method, path[len(KEYS_PREFIX) :], form, time.time())
        except EtcdError as err:
            resp = respond.etcd_error(err, headers)
            if too_large and not request.content.at_eof():
                resp.force_close()  # the rest of the body was never read (Go closes too)
            return resp

        server, http = self.server, self._http
        if not req.wait:
            http.request_received(req.method)
        try:
            if req.method == rq.GET or req.method == rq.HEAD:
                if req.wait:
                    return await self._watch(request, req, headers)
                ev = server.store.get(req.path, req.recursive, req.sorted, now=time.time())
            else:
                ev = await _do(server, req)
        except EtcdError as err:
            http.request_failed(req.method, err.status)
            return respond.etcd_error(err, headers)
        resp = self._event(ev, no_value, headers)
        http.request_completed(req.method, time.perf_counter() - started)
        return resp

    def _event(self, ev: Event, no_value: bool, headers: dict[str, str]) -> web.Response:
        """writeKeyEvent: the event's body, 201 for a creation, the index headers."""
        server = self.server
        headers["Content-Type"] = facts.JSON
        headers["X-Etcd-Index"] = str(ev.etcd_index)
        headers["X-Raft-Index"] = str(server.raft_index())
        headers["X-Raft-Term"] = str(server.raft_term())
        return web.Response(status=ev.status, body=ev.to_json(no_value), headers=headers)

    async def _watch(
        self, request: web.Request, req: Request, headers: dict[str, str]
    ) -> web.StreamResponse:
        """handleKeyWatch: headers at once (long polling clients wait on them), then one event,
        or with stream=true every event until the watcher is dropped, the client leaves or the
        watch times out."""
        server = self.server
        w = server.store.watch(req.path, req.recursive, req.stream, req.wait_index)
        wake = asyncio.Event()
        w.set_wakeup(wake.set)
        headers["Content-Type"] = facts.JSON
        headers["X-Etcd-Index"] = str(w.start_index)
        headers["X-Raft-Index"] = str(server.raft_index())
        headers["X-Raft-Term"] = str(server.raft_term())
        resp = web.StreamResponse(status=200, headers=headers)
        resp.enable_chunked_encoding()
        self._wakes.add(wake)
        try:
            await resp.prepare(request)
            await self._pump(request, w, wake, resp, req.stream)
            await resp.write_eof()
        except ConnectionError:
            pass  # the client went away; nothing left to answer
        finally:
            # Also on cancellation (the client disconnected while we waited).
            self._wakes.discard(wake)
            w.remove()
        return resp

    async def _pump(
        self,
        request: web.Request,
        w: Watcher,
        wake: asyncio.Event,
        resp: web.StreamResponse,
        stream: bool,
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + facts.WATCH_TIMEOUT
        while not self.closing:
            if await _next_events(w, resp, stream):
                if not stream:
                    return
                continue
            # etcd ends a stream when the hub drops the watcher (its channel closes); a stream
            # answered from history is never registered and stays open until the timeout.
            if w.dropped or (w.done and not stream):
                return
            wake.clear()
            if w.pending or w.dropped or self.closing:
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(wake.wait(), min(remaining, DISCONNECT_POLL))
            except TimeoutError:
                transport = request.transport
                if transport is None or transport.is_closing():
                    return


async def _next_events(w: Watcher, resp: web.StreamResponse, stream: bool) -> bool:
    """Write what the watcher holds (one event without stream); whether there was any."""
    chunk = []
    while (ev := w.pop()) is not None:
        chunk.append(ev.to_json())
        if not stream:
            break
    if not chunk:
        return False
    await resp.write(b"".join(chunk))
    return True


async def _do(server: ServerAPI, req: Request) -> Event:
    """server.do, not cancelled when the client leaves (etcd's handler uses a background
    context: an accepted write goes on). Errors other than the store's become 300 with the
    error's text, as etcd's writeKeyError does."""
    task = asyncio.ensure_future(server.do(req))
    task.add_done_callback(_consume)
    try:
        return await asyncio.shield(task)
    except EtcdError:
        raise
    except asyncio.CancelledError:
        raise
    except Exception as e:
        log.warning("v2 request %s %s failed: %s", req.method, req.path, e or type(e).__name__)
        raise EtcdError(codes.RAFT_INTERNAL, str(e)) from e


def _consume(t: asyncio.Future[Event]) -> None:
    # Retrieve the outcome of a request whose client left, so asyncio does not warn about it.
    if not t.cancelled():
        t.exception()


async def read_form_body(request: web.Request) -> tuple[bytes, bool]:
    """The request body if ParseForm would read it (a urlencoded Content-Type), up to Go's
    10 MiB form limit plus one byte; and whether it went over (the rest stays unread)."""
    ct = request.headers.get("Content-Type", "")
    if "x-www-form-urlencoded" not in ct.lower():
        return b"", False
    return await read_body(request, MAX_FORM_BYTES)
