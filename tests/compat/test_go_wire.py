"""wire.RequestReader, the sans-I/O reading of requests by Go's rules, without a server: the
events it gives are the same however the bytes are split, and each refusal is the answer Go
writes. (test_wire_etcd.py checks the same rules end to end beside the real etcd.)"""

from __future__ import annotations

from shoal.etcd.v2http import wire
from shoal.etcd.v2http.wire import Body, BodyEnd, BodyError, Head, Refuse, RequestReader

GET = b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n"


def events(data: bytes, step: int = 0) -> list[wire.Event]:
    reader = RequestReader()
    if not step:
        return reader.feed(data)
    out: list[wire.Event] = []
    for i in range(0, len(data), step):
        out += reader.feed(data[i : i + step])
    return out


def joined(evs: list[wire.Event]) -> list[object]:
    """Events with consecutive Body pieces merged (their split depends on the feed)."""
    out: list[object] = []
    for e in evs:
        if isinstance(e, Body) and out and isinstance(out[-1], Body):
            out[-1] = Body(out[-1].data + e.data)
        else:
            out.append(e)
    return out


PIPELINE = (
    b"PUT /v2/keys/a HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\nvalue=1"
    b"POST /v2/keys/q HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n"
    b"3;ext\r\nval\r\n4\r\nue=2\r\n0\r\nX-Trailer: t\r\n\r\n"
    b"\r\n" + GET + b"GET /v2/keys/\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n"
)


def test_events_do_not_depend_on_how_the_bytes_arrive() -> None:
    whole = joined(events(PIPELINE))
    for step in (1, 2, 3, 7, 64):
        assert joined(events(PIPELINE, step)) == whole, step
    heads = [e for e in whole if isinstance(e, Head)]
    assert [(h.method, h.target, h.length) for h in heads] == [
        ("PUT", "/v2/keys/a", 7),
        ("POST", "/v2/keys/q", -1),
        ("GET", "/version", 0),
        ("GET", "/v2/keys/\u00e9", 0),
    ]
    bodies = [e.data for e in whole if isinstance(e, Body)]
    assert bodies == [b"value=1", b"value=2"]
    assert sum(isinstance(e, BodyEnd) for e in whole) == 4


def test_a_connections_first_line_must_please_cmux_later_ones_only_go() -> None:
    for first in (b"GET /version HTTP/2.0\r\n\r\n", b"GET /version\r\n\r\n", b"\r\n" + GET):
        assert events(first) == [Refuse(None)], first
    later = events(GET + b"GET /version HTTP/2.0\r\nHost: x\r\n\r\n")
    assert later[-1] == Refuse(wire.BAD_VERSION)
    assert later[-1].answer == (
        b"HTTP/1.1 505 HTTP Version Not Supported: unsupported protocol version\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
        b"505 HTTP Version Not Supported: unsupported protocol version"
    )
    assert events(GET + b"GET /version\r\nHost: x\r\n\r\n")[-1] == Refuse(wire.BAD_REQUEST)


def test_any_token_is_a_method_and_the_handler_judges_it() -> None:
    (head, _) = events(b"BREW /v2/keys/a HTTP/1.1\r\nHost: x\r\n\r\n")
    assert isinstance(head, Head) and head.method == "BREW"
    assert events(b"BR@W /v2/keys/a HTTP/1.1\r\nHost: x\r\n\r\n") == [Refuse(wire.BAD_REQUEST)]


def test_a_broken_chunk_ends_the_body_with_gos_reason() -> None:
    head = b"PUT /k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    for tail, text in [
        (b"zz\r\n", "invalid byte in chunk length"),
        (b"-1\r\n", "invalid byte in chunk length"),
        (b"3\nabc\n0\n\n", "malformed chunked encoding"),
        (b"3\r\nabcde", "malformed chunked encoding"),
        (b"1" * 17 + b"\r\n", "http chunk length too large"),
        (b"1;" + b"a" * 5000, "header line too long"),
        (b"0\r\nnocolon\r\n", 'malformed MIME header: missing colon: "nocolon"'),
    ]:
        got = events(head + b"3\r\nabc\r\n" + tail + GET)
        assert got[-1] == BodyError(text), tail
        # Nothing after the broken body is read as a request.
        assert sum(isinstance(e, Head) for e in got) == 1


def test_framing_rules() -> None:
    def first(data: bytes) -> wire.Event:
        return events(data)[0]

    put = b"PUT /k HTTP/1.1\r\nHost: x\r\n"
    assert first(put + b"Content-Length:\r\n\r\n") == Head(
        "PUT", "/k", (1, 1), [("Host", "x"), ("Content-Length", "")], True, 0
    )
    assert first(put + b"Content-Length: +5\r\n\r\n") == Refuse(wire.BAD_REQUEST)
    assert first(put + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n") == Refuse(
        wire.BAD_REQUEST
    )
    assert first(put + b"Transfer-Encoding: gzip\r\n\r\n") == Refuse(wire.UNSUPPORTED_TE)
    # Chunked wins over a Content-Length; HTTP/1.0 ignores Transfer-Encoding.
    head = first(put + b"Transfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n")
    assert isinstance(head, Head) and head.chunked
    head = first(b"PUT /k HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n")
    assert isinstance(head, Head) and head.length == 2 and not head.keep_alive
    big = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X: " + b"a" * (wire.MAX_HEAD) + b"\r\n\r\n"
    assert first(big) == Refuse(wire.TOO_LARGE)
    assert first(b"GET / HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n") == Refuse(
        wire.EXPECTATION_FAILED, dated=True
    )
