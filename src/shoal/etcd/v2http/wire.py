"""How etcd's client port reads requests off the wire, as a sans-I/O reader: bytes in, events
out, no socket. etcd 3.4 serves HTTP/1 through cmux (which looks at a connection's first
request line) and Go 1.19's net/http server; their rules decide what a client sees for a
request that is odd or broken, so they are reproduced here rather than left to a C parser
that refuses what Go takes (methods outside a fixed list, raw UTF-8 in a target, an empty
Content-Length, LF-only line ends) and words its refusals in its own way.

    reader = RequestReader()
    for event in reader.feed(data): ...     Head, Body, BodyEnd, BodyError, Refuse

What Go does, in the order it checks (each checked against /usr/bin/etcd):
- the first request line of a connection must be `A B HTTP/1.x` within 4096 bytes, or cmux
  drops the connection without a word (`Refuse(None)`); later requests skip cmux;
- after a POST, up to 4 stray CR/LF bytes before the next request are skipped (RFC 7230 3.5);
- a request line that does not split in three, an invalid method token, a malformed version
  or a target url.ParseRequestURI refuses (a control byte, a bad `%` escape in the path):
  `400 Bad Request` and the connection closes; raw UTF-8 in a target is taken as it is;
- header lines end in LF (a CR before it is dropped), continuation lines are joined with a
  space, a line without a colon or a first line starting with a space is a 400, an empty name
  is skipped; a head over 1 MiB + 4096 bytes is a 431;
- Transfer-Encoding (ignored on HTTP/1.0) must be one `chunked` or it is a 501; chunked wins over
  Content-Length; differing Content-Lengths, or one that is not digits, are a 400; an empty one
  is no body;
- then a version other than 1.x is a 505, a missing, repeated or malformed Host a 400 (with
  Go's text), an invalid header name or value a 400 with its text, an Expect other than
  100-continue a 417;
- a chunked body is decoded as Go's chunkedReader does; its errors (`invalid byte in chunk
  length`, `malformed chunked encoding`, ...) end the body (`BodyError`) and, once answered,
  the connection.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from shoal.etcd import facts
from shoal.gocompat.nethttp import FormError, unescape

_ERROR_HEADERS = b"\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"


def go_refusal(status: int, reason: str, text: str | None = None) -> bytes:
    """What Go's server writes for a request it cannot read, before closing: a status line,
    two headers, the status again as the body (no length, no Date)."""
    if text is None:
        line = f"{status} {reason}"
        return b"HTTP/1.1 " + line.encode() + _ERROR_HEADERS + line.encode()
    line = f"{status} {reason}: {text}"
    return b"HTTP/1.1 " + line.encode() + _ERROR_HEADERS + line.encode()


BAD_REQUEST = go_refusal(400, "Bad Request")
TOO_LARGE = go_refusal(431, "Request Header Fields Too Large")
# Go does not echo the encoding (its comment: to avoid reflecting attacker text).
UNSUPPORTED_TE = b"HTTP/1.1 501 Not Implemented" + _ERROR_HEADERS + b"Unsupported transfer encoding"
BAD_VERSION = go_refusal(505, "HTTP Version Not Supported", "unsupported protocol version")
EXPECTATION_FAILED = (
    b"HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nContent-Length: 0\r\n"
)
"""sendExpectationFailed's answer, a normal response: the server adds its Date and the blank
line (Refuse.dated)."""

MAX_HEAD = facts.MAX_HEADER_BYTES + 4096
"""Go's initialReadLimitSize: the request line and headers together (then 431)."""

MAX_CHUNK_LINE = 4096
"""Go's chunked.go maxLineLength: a chunk-size line this long (LF included) is refused."""

CMUX_LINE = facts.MAX_REQUEST_LINE
"""cmux reads the first request line into a 4096-byte buffer."""


@dataclass(slots=True)
class Head:
    """A request head as Go's server accepted it. `target` is the request-URI as sent
    (bytes above 0x7f surrogate-escaped); `headers` are (name, value) in order with names
    canonicalized as Go's textproto does and values trimmed; `length` is the body's
    Content-Length, or -1 for chunked."""

    method: str
    target: str
    version: tuple[int, int]
    headers: list[tuple[str, str]]
    keep_alive: bool
    length: int

    @property
    def chunked(self) -> bool:
        return self.length < 0


@dataclass(slots=True)
class Body:
    data: bytes


@dataclass(slots=True)
class BodyEnd:
    """The body is complete (sent at once after a Head without one)."""


@dataclass(slots=True)
class BodyError:
    """The body cannot be read on; `text` is Go's error. Nothing more is read."""

    text: str


@dataclass(slots=True)
class Refuse:
    """The request cannot be read: write `answer` (None: write nothing) and close. When
    `dated`, the answer's head is open: a Date header and the blank line go after it."""

    answer: bytes | None
    dated: bool = False


Event = Head | Body | BodyEnd | BodyError | Refuse

# RFC 7230 token characters (httpguts.IsTokenRune).
_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_TOKEN_STR = frozenset(chr(c) for c in _TOKEN)
_HEX = {c: int(chr(c), 16) for c in b"0123456789abcdefABCDEF"}
_SPACE = b" \t\r\n"


def parse_version(proto: bytes) -> tuple[int, int] | None:
    """http.ParseHTTPVersion (Go 1.19): `HTTP/` and one digit each side of the dot."""
    if proto == b"HTTP/1.1":
        return (1, 1)
    if proto == b"HTTP/1.0":
        return (1, 0)
    if len(proto) != 8 or not proto.startswith(b"HTTP/") or proto[6] != 0x2E:
        return None
    major, minor = proto[5] - 0x30, proto[7] - 0x30
    if not (0 <= major <= 9 and 0 <= minor <= 9):
        return None
    return (major, minor)


def split_request_line(line: bytes) -> tuple[bytes, bytes, bytes] | None:
    """parseRequestLine: cut at the first space, then at the next one (so `GET  /` has an
    empty target and the rest as its protocol)."""
    method, sp, rest = line.partition(b" ")
    if not sp:
        return None
    target, sp, proto = rest.partition(b" ")
    if not sp:
        return None
    return method, target, proto


def cmux_matches(line: bytes) -> bool:
    """cmux's HTTP1 matcher for a connection's first line (CR/LF already removed)."""
    parts = split_request_line(line)
    if parts is None:
        return False
    version = parse_version(parts[2])
    return version is not None and version[0] == 1


def valid_target(target: bytes) -> bool:
    """Whether url.ParseRequestURI takes the request-URI: no control bytes, a path (whose
    escapes must be valid; the query's are ParseForm's business), `*`, or an absolute URI."""
    if not target or any(c < 0x20 or c == 0x7F for c in target):
        return False
    if target.startswith(b"/"):
        path = target.partition(b"?")[0]
        if b"%" in path:
            try:
                unescape(path.decode("utf-8", "surrogateescape"), query_mode=False)
            except FormError:
                return False
        return True
    if target == b"*":
        return True
    # An absolute URI: a scheme (a letter, then letters, digits, + - .) and a colon.
    colon = target.find(b":")
    if colon <= 0 or not (chr(target[0]).isascii() and chr(target[0]).isalpha()):
        return False
    return all(chr(c).isascii() and (chr(c).isalnum() or c in b"+-.") for c in target[:colon])


@functools.lru_cache(maxsize=512)
def _canonical(name: str) -> str:
    return canonical_key(name)


def canonical_key(name: str) -> str:
    """textproto.CanonicalMIMEHeaderKey: `content-length` -> `Content-Length`; a name with a
    byte outside the token set is left as sent (and refused later as an invalid name)."""
    if not name or any(ch not in _TOKEN_STR for ch in name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _valid_value(value: str) -> bool:
    # httpguts.ValidHeaderFieldValue: no control bytes but tab (DEL is a control byte).
    return not any((ord(ch) < 0x20 and ch != "\t") or ch == "\x7f" for ch in value)


def _valid_host(host: str) -> bool:
    # httpguts.ValidHostHeader: the bytes a host (and port, brackets) may hold.
    return _HOST_OK.fullmatch(host) is not None


_HOST_OK = re.compile(r"[!$%&'()*+,\-.0-9:;=A-Z\[\]_a-z~]*")


def _has_token(values: list[str], token: str) -> bool:
    """httpguts.HeaderValuesContainsToken: a comma-separated list holds the token."""
    return any(part.strip(" \t").lower() == token for value in values for part in value.split(","))


class _Refused(Exception):
    def __init__(self, answer: bytes | None, dated: bool = False) -> None:
        super().__init__()
        self.answer = answer
        self.dated = dated


def read_head(block: bytes) -> Head:
    """A complete head (request line and header lines, the blank line excluded) as Go's
    readRequest takes it; raises _Refused with Go's answer."""
    head = _fast_head(block)
    if head is not None:
        return head
    lines = block.split(b"\n")
    parts = split_request_line(lines[0].removesuffix(b"\r"))
    if parts is None:
        raise _Refused(BAD_REQUEST)
    method_b, target_b, proto = parts
    if _METHOD.fullmatch(method_b) is None:
        raise _Refused(BAD_REQUEST)
    version = parse_version(proto)
    if version is None or not valid_target(target_b):
        raise _Refused(BAD_REQUEST)
    headers = _read_mime_header(lines[1:])
    special: dict[str, list[str]] = {}
    for name, value in headers:
        if name in _SPECIAL:
            special.setdefault(name, []).append(value)
    bad = _bad_field(headers)
    return _judge(method_b, target_b, version, headers, special, bad)


# The common head, checked by regular expressions: CRLF line ends, HTTP/1.x, a token method,
# a target without control bytes or `%`, `Name: value` fields with nothing odd in them.
_METHOD = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PLAIN_TARGET = re.compile(rb"/[^\x00-\x20\x7f%]*")
_FIELDS = re.compile(
    rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*"
    rb"(?:\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*)*"
)
_SPECIAL = frozenset(("Host", "Connection", "Transfer-Encoding", "Content-Length", "Expect"))


def _fast_head(block: bytes) -> Head | None:
    """read_head for a head with nothing unusual in it, or None to take the exact path."""
    lines = block.removesuffix(b"\r").split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) != 3:
        return None
    method_b, target_b, proto = parts
    if proto == b"HTTP/1.1":
        version = (1, 1)
    elif proto == b"HTTP/1.0":
        version = (1, 0)
    else:
        return None
    if _METHOD.fullmatch(method_b) is None or _PLAIN_TARGET.fullmatch(target_b) is None:
        return None
    del lines[0]
    if lines and _FIELDS.fullmatch(b"\n".join(lines)) is None:
        return None
    headers: list[tuple[str, str]] = []
    special: dict[str, list[str]] = {}
    for line in lines:
        name_b, _, value_b = line.partition(b":")
        name = _canonical_b(name_b)
        value = value_b.strip(b" \t").decode("utf-8", "surrogateescape")
        headers.append((name, value))
        if name in _SPECIAL:
            special.setdefault(name, []).append(value)
    return _judge(method_b, target_b, version, headers, special, None)


@functools.lru_cache(maxsize=512)
def _canonical_b(name: bytes) -> str:
    return canonical_key(name.decode("ascii"))


def _bad_field(headers: list[tuple[str, str]]) -> bytes | None:
    """Go's answer for the first invalid header name or value, if any."""
    for name, value in headers:
        if any(ch not in _TOKEN_STR for ch in name):
            return go_refusal(400, "Bad Request", "invalid header name")
        if not _valid_value(value):
            return go_refusal(400, "Bad Request", "invalid header value")
    return None


def _judge(
    method_b: bytes,
    target_b: bytes,
    version: tuple[int, int],
    headers: list[tuple[str, str]],
    values: dict[str, list[str]],
    bad_field: bytes | None,
) -> Head:
    """readRequest's checks after the fields are read, in Go's order."""
    if len(values.get("Host", ())) > 1:
        raise _Refused(BAD_REQUEST)  # "too many Host headers", worded as a plain 400

    # readTransfer: Connection, then Transfer-Encoding, then Content-Length.
    conn = values.get("Connection")
    close = conn is not None and _has_token(conn, "close")
    if version < (1, 0):
        keep_alive = False
    elif version == (1, 0):
        keep_alive = not close and conn is not None and _has_token(conn, "keep-alive")
    else:
        keep_alive = not close
    length = 0
    te = values.get("Transfer-Encoding")
    if te is not None and version >= (1, 1):
        if len(te) != 1 or te[0].strip(" \t").lower() != "chunked":
            raise _Refused(UNSUPPORTED_TE)
        length = -1
    else:
        lens = values.get("Content-Length")
        if lens is not None:
            cl = lens[0].strip(" \t")
            if any(v.strip(" \t") != cl for v in lens):
                raise _Refused(BAD_REQUEST)
            if cl:
                if not cl.isascii() or not cl.isdigit() or int(cl) >= 1 << 63:
                    raise _Refused(BAD_REQUEST)
                length = int(cl)

    if version[0] != 1:
        raise _Refused(BAD_VERSION)
    host = values.get("Host")
    if version >= (1, 1) and not host:
        raise _Refused(go_refusal(400, "Bad Request", "missing required Host header"))
    if host and not _valid_host(host[0]):
        raise _Refused(go_refusal(400, "Bad Request", "malformed Host header"))
    if bad_field is not None:
        raise _Refused(bad_field)
    expect = values.get("Expect")
    if expect is not None and expect[0] and not _has_token(expect[:1], "100-continue"):
        raise _Refused(EXPECTATION_FAILED, dated=True)
    method = method_b.decode("ascii")
    target = target_b.decode("utf-8", "surrogateescape")
    return Head(method, target, version, headers, keep_alive, length)


def _read_mime_header(lines: list[bytes]) -> list[tuple[str, str]]:
    """textproto.ReadMIMEHeader over the header lines (LF-split, blank line excluded)."""
    out: list[tuple[str, str]] = []
    if lines and lines[0][:1] in (b" ", b"\t"):
        raise _Refused(BAD_REQUEST)  # "malformed MIME header initial line"
    current: bytes | None = None
    for raw in lines:
        line = raw.removesuffix(b"\r")
        if line[:1] in (b" ", b"\t") and current is not None:
            current += b" " + line.strip(b" \t")  # a continuation line, joined by one space
            continue
        if current is not None:
            _add_field(out, current)
        if b":" not in line:
            raise _Refused(BAD_REQUEST)  # "malformed MIME header: missing colon"
        current = line.strip(b" \t")
    if current is not None:
        _add_field(out, current)
    return out


def _add_field(out: list[tuple[str, str]], line: bytes) -> None:
    name, _, value = line.partition(b":")
    key = _canonical(name.decode("utf-8", "surrogateescape"))
    if key:  # Go skips a field with an empty name
        out.append((key, value.strip(b" \t").decode("utf-8", "surrogateescape")))


class RequestReader:
    """Requests from one connection's bytes, in order. Feed what arrives; each call returns
    the events it completed. After a Refuse or a BodyError nothing more is read."""

    __slots__ = ("_buf", "_chunk_left", "_dead", "_first", "_last_post", "_left", "_pos", "_state")

    def __init__(self) -> None:
        self._buf = b""
        self._pos = 0  # where the unread part of _buf starts
        self._first = True  # cmux still has to match the connection
        self._last_post = False
        self._state = _HEAD
        self._left = 0  # Content-Length bytes still to come
        self._chunk_left = 0
        self._dead = False

    @property
    def dead(self) -> bool:
        """A Refuse or BodyError was returned: the connection ends after its answer."""
        return self._dead

    def feed(self, data: bytes) -> list[Event]:
        if self._dead:
            return []
        self._buf = self._buf[self._pos :] + data if self._pos < len(self._buf) else data
        self._pos = 0
        out: list[Event] = []
        try:
            while self._step(out):
                pass
        except _Refused as r:
            self._dead = True
            out.append(Refuse(r.answer, r.dated))
        except _BadBody as e:
            self._dead = True
            out.append(BodyError(str(e)))
        if self._dead:
            self._buf, self._pos = b"", 0
        return out

    def _step(self, out: list[Event]) -> bool:
        """One step of progress; False when more bytes are needed."""
        state = self._state
        if state == _HEAD:
            return self._head(out)
        buf, pos = self._buf, self._pos
        if pos >= len(buf) and state != _TRAILER:
            return False
        if state == _LENGTH:
            n = min(self._left, len(buf) - pos)
            out.append(Body(buf[pos : pos + n]))
            self._pos = pos + n
            self._left -= n
            if self._left == 0:
                out.append(BodyEnd())
                self._state = _HEAD
            return True
        if state == _CHUNK_SIZE:
            nl = buf.find(b"\n", pos, pos + MAX_CHUNK_LINE)
            if nl < 0:
                if len(buf) - pos >= MAX_CHUNK_LINE:
                    raise _BadBody("header line too long")
                return False
            if nl + 1 - pos >= MAX_CHUNK_LINE:
                raise _BadBody("header line too long")
            line = buf[pos:nl].rstrip(_SPACE).partition(b";")[0]
            self._pos = nl + 1
            size = _parse_hex(line)
            if size == 0:
                self._state = _TRAILER
            else:
                self._chunk_left = size
                self._state = _CHUNK_DATA
            return True
        if state == _CHUNK_DATA:
            n = min(self._chunk_left, len(buf) - pos)
            out.append(Body(buf[pos : pos + n]))
            self._pos = pos + n
            self._chunk_left -= n
            if self._chunk_left == 0:
                self._state = _CHUNK_END
            return True
        if state == _CHUNK_END:
            if len(buf) - pos < 2:
                return False
            if buf[pos : pos + 2] != b"\r\n":
                raise _BadBody("malformed chunked encoding")
            self._pos = pos + 2
            self._state = _CHUNK_SIZE
            return True
        # _TRAILER: header lines until a blank one (Go reads and drops undeclared trailers).
        nl = buf.find(b"\n", pos)
        if nl < 0:
            if len(buf) - pos >= MAX_HEAD:
                raise _BadBody("http: unexpected EOF reading trailer")
            return False
        line = buf[pos:nl].removesuffix(b"\r")
        self._pos = nl + 1
        if line:
            if b":" not in line:
                text = line.decode("utf-8", "surrogateescape")
                raise _BadBody(f"malformed MIME header: missing colon: {_go_quote(text)}")
            return True
        out.append(BodyEnd())
        self._state = _HEAD
        return True

    def _head(self, out: list[Event]) -> bool:
        buf, pos = self._buf, self._pos
        if self._last_post:
            # Go skips stray CR/LF (at most the 4 bytes it peeks) after a POST's body.
            skip = 0
            while skip < 4 and pos + skip < len(buf) and buf[pos + skip] in (0x0D, 0x0A):
                skip += 1
            if skip < 4 and pos + skip == len(buf):
                return False  # cannot tell yet where the next request starts
            pos = self._pos = pos + skip
            self._last_post = False
        if pos >= len(buf):
            return False
        end = buf.find(b"\r\n\r\n", pos, pos + MAX_HEAD)
        if end >= 0 and buf.count(b"\n", pos, end) == buf.count(b"\r\n", pos, end):
            blank = 4  # the common head: CRLF line ends only
        else:
            end, blank = -1, 0
        nl = buf.find(b"\n", pos, pos + MAX_HEAD)
        if self._first:
            if nl < 0 or nl - pos >= CMUX_LINE:
                if nl < 0 and len(buf) - pos < CMUX_LINE:
                    return False
                # etcd's cmux drops the connection here; shoal answers 400 instead, which
                # tells a client more (tests/compat asserts it).
                raise _Refused(BAD_REQUEST)
            if not cmux_matches(buf[pos:nl].removesuffix(b"\r")):
                raise _Refused(None)
        if end < 0:
            if nl < 0:
                if len(buf) - pos >= MAX_HEAD:
                    raise _Refused(TOO_LARGE)
                return False
            # The request line is judged as soon as it is complete (Go reads it first).
            if split_request_line(buf[pos:nl].removesuffix(b"\r")) is None:
                raise _Refused(BAD_REQUEST)
            end, blank = _head_end(buf, nl)
            if end < 0:
                if len(buf) - pos >= MAX_HEAD:
                    raise _Refused(TOO_LARGE)
                return False
        if end - pos > MAX_HEAD:
            raise _Refused(TOO_LARGE)
        head = read_head(buf[pos:end])
        self._pos = end + blank
        self._first = False
        self._last_post = head.method == "POST"
        out.append(head)
        if head.length < 0:
            self._state = _CHUNK_SIZE
        elif head.length > 0:
            self._left = head.length
            self._state = _LENGTH
        else:
            out.append(BodyEnd())
        return True


def _head_end(buf: bytes, first_nl: int) -> tuple[int, int]:
    """Where the header block ends (the index of the LF ending the last header line, or of the
    request line's LF) and how many bytes from there the blank line takes; (-1, 0) if the
    blank line has not arrived."""
    i = first_nl
    while True:
        if buf[i + 1 : i + 2] == b"\n":
            return i, 2
        if buf[i + 1 : i + 3] == b"\r\n":
            return i, 3
        if i + 1 >= len(buf) or (buf[i + 1 : i + 2] == b"\r" and i + 2 >= len(buf)):
            return -1, 0
        i = buf.find(b"\n", i + 1)
        if i < 0:
            return -1, 0


class _BadBody(Exception):
    pass


def _parse_hex(line: bytes) -> int:
    """chunked.go parseHexUint (an empty size is 0, the last chunk, as in Go 1.19)."""
    n = 0
    for i, c in enumerate(line):
        v = _HEX.get(c)
        if v is None:
            raise _BadBody("invalid byte in chunk length")
        if i == 16:
            raise _BadBody("http chunk length too large")
        n = n << 4 | v
    return n


def _go_quote(s: str) -> str:
    # %q of a short ASCII-ish line (the trailer error); enough for what clients send.
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER = range(6)
