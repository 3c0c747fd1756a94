"""What a client that writes its own bytes sees, side by side with the real etcd 3.4: odd and
broken requests sent on a raw socket (methods outside the usual few, raw UTF-8 in a target,
empty or extra Content-Length, chunked bodies that break after 300 KB, bare LF line ends,
pipelined requests after a short body...), and every answer on the connection until it ends.

Each transcript ends with a `GET /version` asking to close, so a connection still open is seen
as one more answer rather than waited for. Answers are compared whole: status line, headers
(Date and Server aside; index, raft and cluster-id values and Content-Length made relative), and
body; then how the connection ended (`closed` after the answers, `dropped` without a word).
"""

from __future__ import annotations

import re
import socket
import urllib.parse

import pytest

# Ends every transcript: answered (and then closed) only if the connection is still usable.
_LAST = b"GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
_FORM = b"Content-Type: application/x-www-form-urlencoded\r\n"
_BIG = b"value=" + b"x" * (300_000 - 6)


def _chunked_put(key: bytes, tail: bytes, body: bytes = _BIG) -> bytes:
    """A PUT whose chunked body holds `body` in one chunk, then `tail` (a broken chunk)."""
    return (
        b"PUT /v2/keys/"
        + key
        + b" HTTP/1.1\r\nHost: x\r\n"
        + _FORM
        + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % len(body)
        + body
        + b"\r\n"
        + tail
    )


def _req(line: bytes, *headers: bytes, body: bytes = b"") -> bytes:
    return line + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


_HOST = b"Host: x"

CASES: dict[str, bytes] = {
    # Row 13: a method etcd has no handler for reaches the handler, which says 405.
    "brew keys": _req(b"BREW /v2/keys/a HTTP/1.1", _HOST),
    "brew version": _req(b"BREW /version HTTP/1.1", _HOST),
    "brew members": _req(b"BREW /v2/members HTTP/1.1", _HOST),
    "brew unknown path": _req(b"BREW /nope HTTP/1.1", _HOST),
    "lowercase method": _req(b"get /version HTTP/1.1", _HOST),
    "method not a token": _req(b"BR@W /v2/keys/a HTTP/1.1", _HOST),
    # Row 18: a chunked body that breaks after 300 KB is refused at once with Go's reason.
    "chunk bad hex after 300 KB": _chunked_put(b"t1", b"zz\r\nabc\r\n0\r\n\r\n"),
    "chunk -1 after 300 KB": _chunked_put(b"t1", b"-1\r\n"),
    "chunk LF only after 300 KB": _chunked_put(b"t1", b"3\nabc\n0\n\n"),
    "chunk missing CRLF after 300 KB": _chunked_put(b"t1", b"3\r\nabcde0\r\n\r\n"),
    "chunk bad hex small": _chunked_put(b"t2", b"zz\r\n", body=b"value=1"),
    "chunk size too large": _chunked_put(b"t3", b"11111111111111111\r\n", body=b"value=1"),
    "chunk size line too long": _chunked_put(b"t4", b"1;" + b"a" * 5000 + b"\r\n", b"v=1"),
    "chunk trailer without colon": _chunked_put(b"t5", b"0\r\nnocolon\r\n\r\n", b"value=1"),
    "chunk extension and trailer": _chunked_put(b"t6", b"0\r\nX-T: 1\r\n\r\n", b"value=1")
    + _req(b"GET /v2/keys/t6 HTTP/1.1", _HOST),
    "chunk empty size ends the body": _chunked_put(b"t7", b"\r\n\r\n", b"value=1")
    + _req(b"GET /v2/keys/t7 HTTP/1.1", _HOST),
    "chunk broken, body not a form": _req(
        b"PUT /v2/keys/t8?value=1 HTTP/1.1", _HOST, b"Transfer-Encoding: chunked", body=b"zz\r\n"
    ),
    "members body chunk broken": _req(
        b"POST /v2/members HTTP/1.1",
        _HOST,
        b"Content-Type: application/json",
        b"Transfer-Encoding: chunked",
        body=b'3\r\n{"p\r\nzz\r\n',
    ),
    # Row 20: raw UTF-8, an empty Content-Length, a body longer than its Content-Length.
    "raw utf-8 key": _req(b"PUT /v2/keys/\xc3\xa9?value=\xc3\xa9 HTTP/1.1", _HOST)
    + _req(b"GET /v2/keys/\xc3\xa9 HTTP/1.1", _HOST),
    "empty content-length": _req(b"PUT /v2/keys/cl?value=1 HTTP/1.1", _HOST, b"Content-Length:")
    + _req(b"GET /v2/keys/cl HTTP/1.1", _HOST),
    "body longer than content-length": _req(
        b"PUT /v2/keys/ov HTTP/1.1", _HOST, _FORM.strip(), b"Content-Length: 7", body=b"value=ab"
    )
    + _req(b"GET /v2/keys/ov HTTP/1.1", _HOST),
    "crlf after a put body": _req(
        b"PUT /v2/keys/pc HTTP/1.1", _HOST, _FORM.strip(), b"Content-Length: 7", body=b"value=a"
    )
    + b"\r\n"
    + _req(b"GET /v2/keys/pc HTTP/1.1", _HOST),
    "crlf after a post body": _req(
        b"POST /v2/keys/pp?value=1 HTTP/1.1", _HOST, b"Content-Length: 0"
    )
    + b"\r\n"
    + _req(b"GET /health HTTP/1.1", _HOST),
    # Siblings: the request line and the head.
    "first line HTTP/2.0": _req(b"GET /version HTTP/2.0", _HOST),
    "first line without version": _req(b"GET /version", _HOST),
    "first line two spaces": _req(b"GET  /version HTTP/1.1", _HOST),
    "first line empty": b"\r\n" + _req(b"GET /version HTTP/1.1", _HOST),
    "later line HTTP/2.0": _req(b"GET /health HTTP/1.1", _HOST)
    + _req(b"GET /version HTTP/2.0", _HOST),
    "later line without version": _req(b"GET /health HTTP/1.1", _HOST)
    + _req(b"GET /version", _HOST),
    "HTTP/1.7": _req(b"GET /health HTTP/1.7", _HOST),
    "HTTP/1.0 keep-alive": _req(b"GET /health HTTP/1.0", b"Connection: keep-alive"),
    "no host": _req(b"GET /version HTTP/1.1"),
    "two hosts": _req(b"GET /version HTTP/1.1", _HOST, b"Host: y"),
    "host with a space": _req(b"GET /version HTTP/1.1", b"Host: x y"),
    "host with @": _req(b"GET /version HTTP/1.1", b"Host: a@b"),
    "LF line ends": b"GET /health HTTP/1.1\nHost: x\n\n",
    "header name with a space": _req(b"GET /version HTTP/1.1", _HOST, b"X Y: 1"),
    "header without colon": _req(b"GET /version HTTP/1.1", _HOST, b"XY"),
    "header value with a control byte": _req(b"GET /version HTTP/1.1", _HOST, b"X: a\x01b"),
    "folded header": _req(b"GET /health HTTP/1.1", _HOST, b"X: a", b" b"),
    "first header indented": _req(b"GET /version HTTP/1.1", b" Host: x"),
    "empty header name": _req(b"GET /health HTTP/1.1", _HOST, b": v"),
    "transfer-encoding gzip": _req(b"PUT /v2/keys/te HTTP/1.1", _HOST, b"Transfer-Encoding: gzip"),
    "transfer-encoding twice": _req(
        b"PUT /v2/keys/te HTTP/1.1",
        _HOST,
        b"Transfer-Encoding: chunked",
        b"Transfer-Encoding: chunked",
    ),
    "transfer-encoding list": _req(
        b"PUT /v2/keys/te HTTP/1.1", _HOST, b"Transfer-Encoding: gzip, chunked"
    ),
    "transfer-encoding on HTTP/1.0": _req(
        b"PUT /v2/keys/t10?value=1 HTTP/1.0", b"Transfer-Encoding: chunked", b"Content-Length: 0"
    ),
    "content-length +5": _req(b"PUT /v2/keys/c5 HTTP/1.1", _HOST, b"Content-Length: +5"),
    "content-lengths differ": _req(
        b"PUT /v2/keys/cd HTTP/1.1", _HOST, b"Content-Length: 1", b"Content-Length: 2", body=b"ab"
    ),
    "content-lengths agree": _req(
        b"PUT /v2/keys/ca?value=2 HTTP/1.1",
        _HOST,
        b"Content-Length: 1",
        b"Content-Length: 1",
        body=b"a",
    ),
    "get with an unread body": _req(
        b"GET /health HTTP/1.1", _HOST, b"Content-Length: 5", body=b"abcde"
    ),
    "control byte in target": _req(b"GET /version\x01 HTTP/1.1", _HOST),
    "bad escape in path": _req(b"GET /v2/keys/%zz HTTP/1.1", _HOST),
    "target without slash": _req(b"GET version HTTP/1.1", _HOST),
    "absolute target": _req(b"GET http://foo/health HTTP/1.1", _HOST),
    "OPTIONS *": _req(b"OPTIONS * HTTP/1.1", _HOST),
    "expect something else": _req(b"GET /version HTTP/1.1", _HOST, b"Expect: foo"),
    "head over 1 MiB": _req(b"GET /version HTTP/1.1", _HOST, *[b"X: " + b"a" * 27] * 40_000),
    "header line of 5000 bytes": _req(b"GET /health HTTP/1.1", _HOST, b"X: " + b"a" * 5000),
}

_VARYING = re.compile(rb"^(X-Etcd-Index|X-Raft-Index|X-Raft-Term|X-Etcd-Cluster-Id|Content-Length)")
_INDEXES = re.compile(rb'"(modifiedIndex|createdIndex|index)":\d+|/\d{20}')


def _relative(m: re.Match[bytes]) -> bytes:
    if m.group(1):
        return b'"' + m.group(1) + b'":<n>'
    return b"/<n>"


def _responses(data: bytes) -> list[str]:
    """Split what the server wrote into answers; each normalized to one comparable string."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            out.append("<garbage> " + data.decode("latin1"))
            break
        status, *lines = head.split(b"\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(b": ")
            headers[name.title()] = value
        length = headers.get(b"Content-Length")
        body, data = (rest, b"") if length is None else (rest[: int(length)], rest[int(length) :])
        shown = []
        for name in sorted(headers):
            if name in (b"Date", b"Server"):
                continue
            value = b"<n>" if _VARYING.match(name) else headers[name]
            shown.append(name + b": " + value)
        body = _INDEXES.sub(_relative, body)
        out.append(b"\n".join([status, *shown, b"", body]).decode("utf-8", "replace"))
    return out


def transcript(base: str, name: str, request: bytes) -> list[str]:
    """Send `request` then the closing probe; every answer and how the connection ended."""
    u = urllib.parse.urlsplit(base)
    assert u.hostname is not None and u.port is not None
    # Keys differ per server run: the two members each start empty, but one test module
    # shares them, so each case writes only its own keys (named in the case).
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        try:
            s.sendall(request)
            s.sendall(_LAST)
        except OSError:
            pass  # the server may close before reading everything (Go does)
        got = b""
        try:
            while chunk := s.recv(65536):
                got += chunk
        except ConnectionResetError:
            pass  # closing with unread bytes resets; the answers before it count the same
    answers = _responses(got)
    return [*answers, "dropped" if not got else "closed"]


@pytest.mark.parametrize("name", list(CASES))
def test_raw_requests_are_answered_as_etcd_answers_them(
    name: str, etcd_url: str, shoal_url: str
) -> None:
    theirs = transcript(etcd_url, name, CASES[name])
    ours = transcript(shoal_url, name, CASES[name])
    assert ours == theirs, f"{name}:\netcd:  {theirs}\nshoal: {ours}"


def test_a_broken_chunk_after_300_kb_is_answered_at_once(shoal_url: str) -> None:
    # Row 18 as the user saw it: the answer comes while the connection is still open (no
    # closing probe needed), with Go's reason, and then the connection ends.
    u = urllib.parse.urlsplit(shoal_url)
    assert u.hostname is not None and u.port is not None
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(_chunked_put(b"t9", b"3\nabc\n0\n\n"))
        got = b""
        while chunk := s.recv(65536):
            got += chunk
    assert got.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"\r\nConnection: close\r\n" in got
    assert got.endswith(
        b'{"errorCode":210,"message":"Invalid POST form",'
        b'"cause":"malformed chunked encoding","index":0}\n'
    )


def _exchange(base: str, request: bytes) -> bytes:
    u = urllib.parse.urlsplit(base)
    assert u.hostname is not None and u.port is not None
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(request)
        got = b""
        while chunk := s.recv(65536):
            got += chunk
    return got


def test_brew_is_refused_as_a_method_not_allowed(shoal_url: str) -> None:
    # Row 13: `curl -X BREW .../v2/keys/a` was a 400 carrying a Python bytes repr.
    got = _exchange(shoal_url, _req(b"BREW /v2/keys/a HTTP/1.1", _HOST, b"Connection: close"))
    assert got.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")
    assert b"\r\nAllow: HEAD,GET,PUT,POST,DELETE\r\n" in got
    assert got.endswith(b"\r\n\r\nMethod Not Allowed\n")


def test_a_raw_utf8_key_is_created(shoal_url: str) -> None:
    # Row 20: `PUT /v2/keys/é` was "Invalid char in url path".
    got = _exchange(
        shoal_url, _req(b"PUT /v2/keys/\xc3\xa9u?value=1 HTTP/1.1", _HOST, b"Connection: close")
    )
    assert got.startswith(b"HTTP/1.1 201 Created\r\n")
    assert b'"key":"/\xc3\xa9u","value":"1"' in got
