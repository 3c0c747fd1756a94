"""Side-by-side helpers: a raw HTTP session against one etcd-compatible base URL (real etcd 3.4,
the HTTP layer over the fake member, or later a shoal cluster), and the normalisation that
makes two transcripts comparable.

What legitimately differs between two members is replaced, nothing else: store indexes become
relative to the index the session started at, raft index/term and IDs become placeholders,
expiration times and ttls are checked for shape, client/peer URLs become `<url>`, and nodes of
unsorted listings are ordered by key (Go map order is random). Field order, status codes,
header values and the trailing newline are compared as they are.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

_RFC3339NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$")
_IN_ORDER = re.compile(r"/(\d{20})(?=/|$)")
_URL = re.compile(r"https?://[0-9a-zA-Z.\[\]:-]+")

# Headers compared (lowercase); the index/raft ones are normalised.
_HEADERS = (
    "content-type",
    "x-content-type-options",
    "allow",
    "location",
    "x-etcd-cluster-id",
    "x-etcd-index",
    "x-raft-index",
    "x-raft-term",
    "access-control-allow-methods",
    "access-control-allow-origin",
    "access-control-allow-headers",
)


@dataclass
class Record:
    """What a client saw for one step, normalised."""

    step: str
    status: int
    headers: dict[str, str]
    body: Any
    extra: dict[str, Any] = field(default_factory=dict)

    def show(self) -> str:
        return json.dumps(
            {
                "step": self.step,
                "status": self.status,
                "headers": self.headers,
                "body": self.body,
                **self.extra,
            },
            default=repr,
            ensure_ascii=False,
        )


class Session:
    """Requests against one base URL (`http://host:port`). `base` is the store index when the
    session began; `idx(k)` is the absolute index k writes later, for waitIndex."""

    def __init__(self, base_url: str) -> None:
        u = urllib.parse.urlsplit(base_url)
        assert u.hostname is not None and u.port is not None
        self.host, self.port = u.hostname, u.port
        self.base = 0
        status, headers, _ = self.raw("GET", "/v2/keys/")
        assert status == 200, status
        self.base = int(headers["x-etcd-index"])
        self._watches: dict[str, _Watch] = {}

    def idx(self, k: int) -> int:
        return self.base + k

    def conn(self, timeout: float = 10.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def raw(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        c = self.conn()
        try:
            c.request(method, target, body=body, headers=headers or {})
            r = c.getresponse()
            hs = {k.lower(): v for k, v in r.getheaders()}
            return r.status, hs, r.read()
        finally:
            c.close()

    def step(
        self,
        name: str,
        method: str,
        target: str,
        form: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        sort_nodes: bool = True,
    ) -> Record:
        """One request. `form` is sent as a urlencoded body, as `curl -d` sends it."""
        hs = dict(headers or {})
        if form is not None:
            body = form.encode() if isinstance(form, str) else form
            hs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        status, rh, data = self.raw(method, target, body, hs)
        rec = Record(name, status, self.norm_headers(rh), self.norm_body(data, sort_nodes))
        if method == "HEAD":
            rec.extra["content-length"] = rh.get("content-length")
        if rh.get("connection", "").lower() == "close":
            rec.extra["connection"] = "close"
        return rec

    # --- watches -------------------------------------------------------------------------
    def watch(self, name: str, target: str) -> Record:
        """Start a watch; returns once its headers arrived (etcd flushes them at once)."""
        w = _Watch(self.conn(timeout=10.0), target)
        self._watches[name] = w
        status, rh = w.start()
        return Record(f"watch {name}", status, self.norm_headers(rh), None)

    def watch_events(self, name: str, n: int) -> Record:
        """The watch's next n events (one JSON object per line)."""
        w = self._watches[name]
        lines = [w.line() for _ in range(n)]
        body = [self.norm_body(x, True) for x in lines]
        return Record(f"events {name}", 0, {}, body)

    def watch_state(self, name: str, wait: float = 0.4) -> Record:
        """Whether the response ended (`closed`) or is still open after `wait` seconds."""
        w = self._watches[name]
        return Record(f"state {name}", 0, {}, w.state(wait))

    def drop_watch(self, name: str) -> None:
        self._watches.pop(name).close()

    def close(self) -> None:
        for w in self._watches.values():
            w.close()
        self._watches.clear()

    # --- normalisation ---------------------------------------------------------------------
    def rel(self, i: int) -> int | str:
        return i if i == 0 else f"+{i - self.base}"

    def norm_headers(self, h: dict[str, str]) -> dict[str, str]:
        out = {}
        for k in _HEADERS:
            if k not in h:
                continue
            v = h[k]
            if k == "x-etcd-index":
                v = str(self.rel(int(v)))
            elif k in ("x-raft-index", "x-raft-term"):
                assert v.isdigit(), v
                v = "<n>"
            elif k == "x-etcd-cluster-id":
                assert re.fullmatch(r"[0-9a-f]+", v), v
                v = "<id>"
            out[k] = v
        return out

    def norm_body(self, data: bytes, sort_nodes: bool) -> Any:
        nl = data.endswith(b"\n")
        try:
            doc = json.loads(data, object_pairs_hook=list)
        except ValueError:
            return {"text": _URL.sub("<url>", data.decode("utf-8", "replace")), "nl": nl}
        return {"json": self._norm(doc, sort_nodes), "nl": nl}

    def _norm(self, v: Any, sort_nodes: bool, key: str = "") -> Any:
        if isinstance(v, list) and v and all(isinstance(p, tuple) and len(p) == 2 for p in v):
            out = []
            for k, x in v:
                if k in ("modifiedIndex", "createdIndex", "index") and isinstance(x, int):
                    x = self.rel(x)
                elif k == "expiration":
                    assert isinstance(x, str) and _RFC3339NANO.match(x), x
                    x = "<expiration>"
                elif k == "ttl":
                    assert isinstance(x, int) and x > 0, x
                    x = "<ttl>"
                elif k == "key" and isinstance(x, str):
                    x = _IN_ORDER.sub(lambda m: f"/<in-order {self.rel(int(m.group(1)))}>", x)
                elif (k in ("id", "leader") and isinstance(x, str)) or (k == "name" and x):
                    x = "<id>"
                elif k in ("peerURLs", "clientURLs"):
                    x = ["<url>" for _ in x]
                elif k == "nodes" and sort_nodes:
                    x = sorted((self._norm(n, True) for n in x), key=repr)
                else:
                    x = self._norm(x, sort_nodes, k)
                out.append((k, x))
            return out
        if isinstance(v, list):
            return [self._norm(x, sort_nodes) for x in v]
        if isinstance(v, str):
            return _URL.sub("<url>", v)
        return v


class _Watch:
    """One long-poll response read line by line from a background thread, so a test can ask
    for events with a deadline and see whether the response ended."""

    def __init__(self, conn: http.client.HTTPConnection, target: str) -> None:
        self.conn = conn
        self.target = target
        self.resp: http.client.HTTPResponse | None = None
        self._lines: list[bytes] = []
        self._ended = False
        self._cond = threading.Condition()

    def start(self) -> tuple[int, dict[str, str]]:
        self.conn.request("GET", self.target)
        r = self.conn.getresponse()
        self.resp = r
        threading.Thread(target=self._read, daemon=True).start()
        return r.status, {k.lower(): v for k, v in r.getheaders()}

    def _read(self) -> None:
        assert self.resp is not None
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                with self._cond:
                    self._lines.append(line)
                    self._cond.notify_all()
        except (OSError, ValueError, http.client.HTTPException, AttributeError):
            pass
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def line(self, timeout: float = 10.0) -> bytes:
        with self._cond:
            ok = self._cond.wait_for(lambda: self._lines or self._ended, timeout)
            if not ok or not self._lines:
                return b'"<no event>"'
            return self._lines.pop(0)

    def state(self, wait: float) -> str:
        with self._cond:
            self._cond.wait_for(lambda: self._ended or self._lines, wait)
            if self._lines:
                return "more data"
            return "closed" if self._ended else "open"

    def close(self) -> None:
        sock = self.conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()
