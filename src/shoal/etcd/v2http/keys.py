"""`/v2/keys[/...]`: etcd's keysHandler. Plain GET/HEAD read the local store; quorum GETs and
writes go through `server.do`; `wait=true` registers a store watcher and streams its events.

Response bodies are the store's own bytes (`Event.to_json`, `EtcdError.to_json`), written as
they are: this handler is on every request's path, so it parses and builds headers only."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from shoal.etcd import facts
from shoal.etcd.server_iface import ServerAPI
from shoal.etcd.v2auth.access import Access
from shoal.etcd.v2http import respond
from shoal.etcd.v2http.auth import credentials, key_refusal
from shoal.etcd.v2http.keyreq import parse_key_request
from shoal.etcd.v2http.message import Answer, BodyError, Request, Response, StreamResponse
from shoal.gocompat.nethttp import MAX_FORM_BYTES, parse_form
from shoal.store import EtcdError, Event, Watcher
from shoal.store import Request as KeyRequest
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
    __slots__ = ("_http", "_wakes", "access", "closing", "cluster_id", "server")

    def __init__(self, server: ServerAPI, access: Access | None = None) -> None:
        self.server = server
        self.access = access
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

    def handle(
        self, request: Request, path: str, raw_query: str
    ) -> Answer | Coroutine[Any, Any, Answer]:
        """The answer at once where it needs no waiting (reads of the local store, refusals),
        else a coroutine for it (a body still arriving, writes, quorum reads, watches)."""
        method = request.method
        if method not in facts.KEYS_METHODS:
            return respond.method_not_allowed(facts.KEYS_METHODS)
        started = time.perf_counter()
        if method in _FORM_BODY_METHODS and _reads_form(request):
            if not request.body_ready(MAX_FORM_BYTES):
                return self._after_body(request, path, raw_query, started)
            try:
                body, too_large = request.take_body(MAX_FORM_BYTES)
            except BodyError as e:
                return self._form_error(request, str(e))
            return self._answer(request, path, raw_query, body, too_large, started)
        no_body = b"" if method in _FORM_BODY_METHODS else None
        return self._answer(request, path, raw_query, no_body, False, started)

    async def _after_body(
        self, request: Request, path: str, raw_query: str, started: float
    ) -> Answer:
        try:
            body, too_large = await request.read_body(MAX_FORM_BYTES)
        except BodyError as e:
            return self._form_error(request, str(e))
        answer = self._answer(request, path, raw_query, body, too_large, started)
        if isinstance(answer, Response | StreamResponse):
            return answer
        return await answer

    def _form_error(self, request: Request, text: str) -> Response:
        """ParseForm failed reading the body (a broken chunk, the client's end): etcd's 210
        with Go's text; the connection ends after it (saying so, unless the client already
        closed its side, as etcd does)."""
        headers = self._headers()
        resp = respond.etcd_error(EtcdError(codes.INVALID_FORM, text), headers)
        if not request.lost:
            resp.force_close()
        return resp

    def _headers(self) -> dict[str, str]:
        headers = respond.base_headers()
        headers["X-Etcd-Cluster-Id"] = self.cluster_id
        return headers

    def _answer(
        self,
        request: Request,
        path: str,
        raw_query: str,
        body: bytes | None,
        too_large: bool,
        started: float,
    ) -> Answer | Coroutine[Any, Any, Answer]:
        headers = self._headers()
        form, form_err = parse_form(raw_query, body, request.headers.get("Content-Type"))
        try:
            if form_err is not None:
                raise EtcdError(codes.INVALID_FORM, form_err)
            req, no_value = parse_key_request(
                request.method, path[len(KEYS_PREFIX) :], form, time.time()
            )
        except EtcdError as err:
            resp = respond.etcd_error(err, headers)
            if too_large and not request.body_done:
                resp.force_close()  # the rest of the body was never read (Go closes too)
            return resp
        access = self.access
        if access is not None and access.store.auth_enabled():
            return self._authorized(access, request, path, req, no_value, headers, started)
        return self._serve(request, req, no_value, headers, started)

    async def _authorized(
        self,
        access: Access,
        request: Request,
        path: str,
        req: KeyRequest,
        no_value: bool,
        headers: dict[str, str],
        started: float,
    ) -> Answer:
        """hasKeyPrefixAccess before anything is read or proposed (auth is on)."""
        key = path[len(KEYS_PREFIX) :]
        if not await access.key(request.method, key, req.recursive, credentials(request)):
            return key_refusal(headers)
        answer = self._serve(request, req, no_value, headers, started)
        if isinstance(answer, Response | StreamResponse):
            return answer
        return await answer

    def _serve(
        self,
        request: Request,
        req: KeyRequest,
        no_value: bool,
        headers: dict[str, str],
        started: float,
    ) -> Answer | Coroutine[Any, Any, Answer]:
        server, http = self.server, self._http
        if req.method == rq.GET or req.method == rq.HEAD:
            if req.wait:
                return self._watch(request, req, headers)
            http.request_received(req.method)
            try:
                ev = server.store.get(req.path, req.recursive, req.sorted, now=time.time())
            except EtcdError as err:
                http.request_failed(req.method, err.status)
                return respond.etcd_error(err, headers)
            resp = self._event(ev, no_value, headers)
            http.request_completed(req.method, time.perf_counter() - started)
            return resp
        http.request_received(req.method)
        return self._through_raft(req, no_value, headers, started)

    async def _through_raft(
        self, req: KeyRequest, no_value: bool, headers: dict[str, str], started: float
    ) -> Answer:
        http = self._http
        try:
            ev = await _do(self.server, req)
        except EtcdError as err:
            http.request_failed(req.method, err.status)
            return respond.etcd_error(err, headers)
        resp = self._event(ev, no_value, headers)
        http.request_completed(req.method, time.perf_counter() - started)
        return resp

    def _event(self, ev: Event, no_value: bool, headers: dict[str, str]) -> Response:
        """writeKeyEvent: the event's body, 201 for a creation, the index headers."""
        server = self.server
        headers["Content-Type"] = facts.JSON
        headers["X-Etcd-Index"] = str(ev.etcd_index)
        headers["X-Raft-Index"] = str(server.raft_index())
        headers["X-Raft-Term"] = str(server.raft_term())
        return Response(ev.status, ev.to_json(no_value), headers)

    async def _watch(self, request: Request, req: KeyRequest, headers: dict[str, str]) -> Answer:
        """handleKeyWatch: headers at once (long polling clients wait on them), then one event,
        or with stream=true every event until the watcher is dropped, the client leaves or the
        watch times out."""
        server = self.server
        try:
            w = server.store.watch(req.path, req.recursive, req.stream, req.wait_index)
        except EtcdError as err:
            return respond.etcd_error(err, headers)
        wake = asyncio.Event()
        w.set_wakeup(wake.set)
        headers["Content-Type"] = facts.JSON
        headers["X-Etcd-Index"] = str(w.start_index)
        headers["X-Raft-Index"] = str(server.raft_index())
        headers["X-Raft-Term"] = str(server.raft_term())
        resp = StreamResponse(200, headers)
        self._wakes.add(wake)
        request.on_lost(wake.set)
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
        request: Request,
        w: Watcher,
        wake: asyncio.Event,
        resp: StreamResponse,
        stream: bool,
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + facts.WATCH_TIMEOUT
        while not self.closing and not request.closing:
            if await _next_events(w, resp, stream):
                if not stream:
                    return
                continue
            # etcd ends a stream when the hub drops the watcher (its channel closes); a stream
            # answered from history is never registered and stays open until the timeout.
            if w.dropped or (w.done and not stream):
                return
            wake.clear()
            if w.pending or w.dropped or self.closing or request.closing:
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(wake.wait(), min(remaining, DISCONNECT_POLL))
            except TimeoutError:
                if request.closing:
                    return


async def _next_events(w: Watcher, resp: StreamResponse, stream: bool) -> bool:
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


async def _do(server: ServerAPI, req: KeyRequest) -> Event:
    """server.do. Errors other than the store's become 300 with the error's text, as etcd's
    writeKeyError does. The HTTP server does not cancel a handler whose client left (etcd's
    handler uses a background context: an accepted write goes on)."""
    try:
        return await server.do(req)
    except EtcdError:
        raise
    except asyncio.CancelledError:
        raise
    except Exception as e:
        log.warning("v2 request %s %s failed: %s", req.method, req.path, e or type(e).__name__)
        raise EtcdError(codes.RAFT_INTERNAL, str(e)) from e


def _reads_form(request: Request) -> bool:
    """Whether ParseForm would read the body (a urlencoded Content-Type)."""
    ct = request.headers.get("Content-Type", "")
    return "x-www-form-urlencoded" in ct.lower()
