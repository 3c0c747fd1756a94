"""Helpers for the store tests: a twin that sends the same v2 request to a real etcd 3.4 (started
by `support.real_etcd`) and to a shoal Store, and compares what a client would see."""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from shoal.store import EtcdError, Request, Store, expiration_for_ttl, keys_path

_RFC3339NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$")


def http_call(
    addr: str, method: str, path: str, timeout: float = 10.0, lines: int = 0
) -> tuple[int, dict[str, str], bytes]:
    """One request; the whole body, or with `lines` only that many lines (a stream watch
    stays open)."""
    conn = http.client.HTTPConnection(addr, timeout=timeout)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        headers = {k.lower(): v for k, v in r.getheaders()}
        if lines:
            return r.status, headers, b"".join(r.readline() for _ in range(lines))
        return r.status, headers, r.read()
    finally:
        conn.close()


def parse_bool(v: str) -> bool:
    """Go's strconv.ParseBool (the test only sends valid values)."""
    if v in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if v in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise ValueError(v)


def to_request(method: str, key: str, params: dict[str, str], now: float) -> Request:
    """What the HTTP layer will build from a /v2/keys request (etcd's parseKeyRequest)."""
    ttl = params.get("ttl", "")
    pe = params.get("prevExist")
    quorum = parse_bool(params.get("quorum", "false"))
    if method == "GET" and quorum:
        method = "QGET"
    return Request(
        method,
        keys_path(key),
        value=params.get("value", ""),
        dir=parse_bool(params.get("dir", "false")),
        prev_value=params.get("prevValue", ""),
        prev_index=int(params.get("prevIndex", "0")),
        prev_exist=None if pe is None else parse_bool(pe),
        expiration=expiration_for_ttl(now, int(ttl)) if ttl else None,
        refresh=parse_bool(params.get("refresh", "false")),
        recursive=parse_bool(params.get("recursive", "false")),
        sorted=parse_bool(params.get("sorted", "false")),
        wait=parse_bool(params.get("wait", "false")),
        wait_index=int(params.get("waitIndex", "0")),
        stream=parse_bool(params.get("stream", "false")),
        quorum=quorum,
        no_value_on_success=parse_bool(params.get("noValueOnSuccess", "false")),
    )


@dataclass
class Answer:
    status: int
    index: int | None
    body: bytes

    def normal(self, sort_nodes: bool) -> Any:
        """The body with what legitimately differs made comparable: expiration values (checked
        for Go's format), ttl within a second, and, for unsorted listings, the order of nodes
        (Go map order)."""
        return _normalise(json.loads(self.body, object_pairs_hook=list), sort_nodes)


class Ttl:
    """A ttl compared with one second of slack: both sides round up the time left with their
    own clock, milliseconds apart, so a read that lands on a second boundary may differ."""

    def __init__(self, v: int) -> None:
        self.v = v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ttl) and abs(self.v - other.v) <= 1

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "<ttl>"


def _normalise(v: Any, sort_nodes: bool) -> Any:
    if isinstance(v, list) and v and all(isinstance(p, tuple) and len(p) == 2 for p in v):
        out = []
        for k, x in v:
            if k == "expiration":
                assert isinstance(x, str) and _RFC3339NANO.match(x), x
                x = "<expiration>"
            elif k == "ttl":
                x = Ttl(x)
            elif k == "nodes" and sort_nodes:
                x = sorted((_normalise(n, True) for n in x), key=repr)
            else:
                x = _normalise(x, sort_nodes)
            out.append((k, x))
        return out
    if isinstance(v, list):
        return [_normalise(x, sort_nodes) for x in v]
    return v


def ours(store: Store, method: str, key: str, params: dict[str, str]) -> Answer:
    """The answer shoal's store gives, the way the HTTP layer will call it."""
    now = time.time()
    req = to_request(method, key, params, now)
    try:
        if req.method == "GET" and req.wait:
            w = store.watch(req.path, req.recursive, req.stream, req.wait_index)
            e = w.pop()
            assert e is not None, "watch did not answer from history"
            w.remove()
            return Answer(200, w.start_index, e.to_json())
        if req.method == "GET":
            e = store.get(req.path, req.recursive, req.sorted, now=now)
        else:
            # Through the log codec, as every write will be.
            got = store.apply(Request.decode(req.encode()), now)
            assert got is not None
            e = got
    except EtcdError as err:
        return Answer(err.status, err.index, err.to_json())
    return Answer(e.status, e.etcd_index, e.to_json(req.no_value_on_success))


def url(key: str, params: dict[str, str]) -> str:
    """The request URL; text may carry surrogate-escaped bytes that are not UTF-8."""

    def raw(s: str) -> bytes:
        return s.encode("utf-8", "surrogateescape")

    q = urllib.parse.urlencode({k: raw(v) for k, v in params.items()})
    return "/v2/keys" + urllib.parse.quote(raw(key)) + ("?" + q if q else "")


def theirs(addr: str, method: str, key: str, params: dict[str, str]) -> Answer:
    stream = params.get("stream") == "true"
    status, headers, body = http_call(addr, method, url(key, params), lines=1 if stream else 0)
    idx = headers.get("x-etcd-index")
    return Answer(status, None if idx is None else int(idx), body)
