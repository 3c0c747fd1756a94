"""The bytes a client reads back, compared with a real etcd 3.4's: header order (sorted, then
Date, Content-Length, Connection, Transfer-Encoding), keep-alive and pipelining, HTTP/1.0,
bodies over Go's 2048-byte buffer sent chunked, watches streamed chunked, and what Go does with
a body the handler never read (drop it and keep the connection, or close when over 256 KiB or
when the client still waits for `100 Continue`).

Only what legitimately differs between two members is replaced: the Date's value, the cluster
id, store and raft indexes (and so the lengths they change)."""

from __future__ import annotations

import re
import socket
import urllib.parse

import pytest

_DATE = re.compile(rb"Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n")
_INDEX_HEADER = re.compile(rb"(X-Etcd-Index|X-Raft-Index|X-Raft-Term|X-Etcd-Cluster-Id): \w+")
_INDEX_BODY = re.compile(rb'"(modifiedIndex|createdIndex|index)":\d+')
_LENGTH = re.compile(rb"Content-Length: \d+")
_CHUNK = re.compile(rb"\r\n\r\n[0-9a-f]+\r\n")


def exchange(base: str, data: bytes, timeout: float = 3.0) -> tuple[bytes, bool]:
    """Send `data` on one connection; everything read back, and whether the server closed the
    connection (rather than leaving it open until `timeout`). A server that closes with bytes
    unread resets the connection: that counts as closed."""
    u = urllib.parse.urlsplit(base)
    assert u.hostname is not None and u.port is not None
    out = b""
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        try:
            s.sendall(data)
            s.settimeout(timeout)
            while chunk := s.recv(65536):
                out += chunk
        except TimeoutError:
            return out, False
        except (ConnectionResetError, BrokenPipeError):
            pass
        return out, True


def normalize(raw: bytes) -> bytes:
    raw = _DATE.sub(b"Date: <date>\r\n", raw)
    raw = _INDEX_HEADER.sub(rb"\1: <n>", raw)
    raw = _INDEX_BODY.sub(rb'"\1":<n>', raw)
    raw = _LENGTH.sub(b"Content-Length: <n>", raw)
    return _CHUNK.sub(b"\r\n\r\n<chunk>\r\n", raw)


def request(method: str, target: str, *headers: str, body: bytes = b"", v: str = "1.1") -> bytes:
    lines = [f"{method} {target} HTTP/{v}", *headers]
    if v == "1.1":
        lines.insert(1, "Host: x")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


FORM = "Content-Type: application/x-www-form-urlencoded"

CASES: dict[str, tuple[bytes, float]] = {
    # Several requests in one write: answered in order on the same connection.
    "pipelined": (
        request("PUT", "/v2/keys/f/k", FORM, "Content-Length: 7", body=b"value=1")
        + request("GET", "/v2/keys/f/k")
        + request("HEAD", "/v2/keys/f/k")
        + request("GET", "/nope")
        + request("GET", "/v2/keys/f/../f/k")
        + request("DELETE", "/v2/keys/f/missing")
        + request("OPTIONS", "/v2/keys/f/k")
        + request("GET", "/v2/keys/f/k", "Connection: close"),
        3.0,
    ),
    "http/1.0": (request("GET", "/v2/keys/f/k", v="1.0"), 3.0),
    "http/1.0 keep-alive": (
        request("GET", "/v2/keys/f/k", "Connection: keep-alive", v="1.0")
        + request("GET", "/version", v="1.0"),
        3.0,
    ),
    # Over Go's 2048-byte response buffer: chunked on 1.1, until close on 1.0.
    "big value": (
        request("PUT", "/v2/keys/f/big", FORM, "Content-Length: 3006", body=b"value=" + b"b" * 3000)
        + request("GET", "/v2/keys/f/big")
        + request("HEAD", "/v2/keys/f/big")
        + request("GET", "/v2/keys/f/big", v="1.0"),
        3.0,
    ),
    # A body the handler does not read (not a form): small ones are dropped, the next request
    # is answered; one of 256 KiB or more closes the connection after the answer.
    "small unread body": (
        request(
            "PUT", "/v2/keys/f/t", "Content-Type: text/plain", "Content-Length: 5", body=b"v=abc"
        )
        + request("GET", "/v2/keys/f/k"),
        3.0,
    ),
    "large unread body": (
        request(
            "PUT",
            "/v2/keys/f/t3",
            "Content-Type: text/plain",
            f"Content-Length: {300 << 10}",
            body=b"x" * (300 << 10),
        )
        + request("GET", "/v2/keys/f/k"),
        3.0,
    ),
    # The client waits for 100 Continue, which a handler that reads no body never sends: Go
    # answers with Connection: close, then reads what follows as that body (here the next
    # request's first bytes, unanswered) before it closes; with nothing following it waits.
    "expect continue, body never read": (
        request(
            "PUT",
            "/v2/keys/f/t4",
            "Content-Type: text/plain",
            "Content-Length: 5",
            "Expect: 100-continue",
        )
        + request("GET", "/v2/keys/f/k"),
        3.0,
    ),
    "expect continue, nothing follows": (
        request(
            "PUT",
            "/v2/keys/f/t5",
            "Content-Type: text/plain",
            "Content-Length: 5",
            "Expect: 100-continue",
        ),
        1.0,
    ),
    # A watch answers its headers at once, then the event as a chunk.
    "watch": (
        request("GET", "/v2/keys/f/k?wait=true&waitIndex=1", "Connection: close"),
        3.0,
    ),
    "watch on http/1.0": (request("GET", "/v2/keys/f/k?wait=true&waitIndex=1", v="1.0"), 3.0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_answers_match_etcd_byte_for_byte(case: str, etcd_url: str, shoal_url: str) -> None:
    data, timeout = CASES[case]
    seed = request("PUT", "/v2/keys/f/k", FORM, "Content-Length: 7", "Connection: close")
    got = {}
    for name, base in (("etcd", etcd_url), ("shoal", shoal_url)):
        exchange(base, seed + b"value=1")
        raw, closed = exchange(base, data, timeout)
        got[name] = (normalize(raw).decode("latin-1"), closed)
    assert got["shoal"] == got["etcd"]


@pytest.mark.parametrize(
    "head",
    [
        # A body the handler does not read, cut short: the answer, then the connection ends.
        b"PUT /v2/keys/f/h1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nvalue=",
        # A form body cut short: Go's 210 for the unexpected EOF, then the end.
        b"PUT /v2/keys/f/h2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\nvalue=",
    ],
)
def test_a_client_that_stops_mid_body_is_let_go(head: bytes, etcd_url: str, shoal_url: str) -> None:
    got = {}
    for name, base in (("etcd", etcd_url), ("shoal", shoal_url)):
        u = urllib.parse.urlsplit(base)
        assert u.hostname is not None and u.port is not None
        with socket.create_connection((u.hostname, u.port), timeout=10) as s:
            s.sendall(head)
            s.shutdown(socket.SHUT_WR)
            out, closed = b"", False
            try:
                while chunk := s.recv(65536):
                    out += chunk
                closed = True
            except TimeoutError:
                pass
        got[name] = (normalize(out).decode("latin-1"), closed)
    assert got["shoal"] == got["etcd"]
    assert got["shoal"][1]
