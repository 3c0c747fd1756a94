"""What Go's net/http and net/url do to a request before a Go server's handlers see it, as pure
functions: splitting and unescaping the request target, ServeMux's path cleaning (answered with a
301 redirect), ParseForm's query/body parsing and merge, and url.Parse's split of a URL (with
net.SplitHostPort's test). Clients of etcd notice all of these (error texts included), so they
are reproduced here rather than left to aiohttp and yarl, which normalise differently.

Text that is not UTF-8 is carried surrogate-escaped (`decode("utf-8", "surrogateescape")`), the
way the store carries Go strings.
"""

from __future__ import annotations

import posixpath
import urllib.parse
from typing import Final

from shoal.gocompat.strconv import quote

# net/http's maxFormSize: a urlencoded body of more bytes fails ParseForm with this error (etcd's
# 210). etcd 3.4 enforces nothing smaller on v2 keys bodies: its --max-request-bytes (1.5 MiB)
# only guards v3 gRPC requests.
MAX_FORM_BYTES: Final = 10 << 20
POST_TOO_LARGE: Final = "http: POST too large"

_HEX = frozenset(b"0123456789abcdefABCDEF")

# Bytes Go's url.PathEscape-like encodePath mode leaves alone (shouldEscape): unreserved plus
# the reserved characters allowed in a path, i.e. everything but `?` of `$&+,/:;=?@`.
_PATH_SAFE = "$&+,/:;=@-_.~"


class FormError(Exception):
    """ParseForm failed; `str(err)` is Go's error text (etcd's cause for code 210)."""


class Target:
    """A request target split as Go's url.ParseRequestURI splits it. `path` is the unescaped
    path, `raw_query` the query as sent (unparsed)."""

    __slots__ = ("path", "raw_query")

    def __init__(self, path: str, raw_query: str) -> None:
        self.path = path
        self.raw_query = raw_query


def parse_target(raw: str) -> Target:
    """Split and unescape a request target (origin form). Raises FormError where Go's
    server refuses the target (with `400 Bad Request`)."""
    path, _, query = raw.partition("?")
    if not path.startswith("/"):
        # Absolute-form and `*` targets: Go accepts them, etcd then 404s; treat as a path.
        parsed = urllib.parse.urlsplit(path)
        path = parsed.path or "/"
    return Target(unescape(path, query_mode=False), query)


def unescape(s: str, query_mode: bool) -> str:
    """Go's url.PathUnescape / QueryUnescape (`+` is a space only in a query). Raises
    FormError with Go's `invalid URL escape "%zz"` text."""
    if "%" not in s and not (query_mode and "+" in s):
        return s
    b = s.encode("utf-8", "surrogateescape")
    out = bytearray()
    i, n = 0, len(b)
    while i < n:
        c = b[i]
        if c == 0x25:  # %
            if i + 2 >= n or b[i + 1] not in _HEX or b[i + 2] not in _HEX:
                raise FormError(
                    "invalid URL escape " + quote(b[i : i + 3].decode("utf-8", "surrogateescape"))
                )
            out.append(int(b[i + 1 : i + 3], 16))
            i += 3
            continue
        out.append(0x20 if (c == 0x2B and query_mode) else c)
        i += 1
    return out.decode("utf-8", "surrogateescape")


def clean_path(p: str) -> str:
    """ServeMux's cleanPath: rooted, `.`, `..` and `//` removed, a trailing slash kept."""
    if not p:
        return "/"
    if p[0] != "/":
        p = "/" + p
    if "//" not in p and "/." not in p:
        return p  # the common case: already clean
    np = posixpath.normpath(p)
    if np.startswith("//"):
        np = np[1:]  # POSIX keeps two leading slashes; Go does not
    if p.endswith("/") and np != "/":
        np += "/"
    return np


def redirect_location(path: str, raw_query: str) -> str:
    """The Location of ServeMux's redirect to the cleaned path: the path escaped as Go's
    url.URL.String() escapes it, the query kept as sent (a bare `?` is dropped, as etcd's
    answer shows)."""
    loc = urllib.parse.quote(path.encode("utf-8", "surrogateescape"), safe=_PATH_SAFE)
    if raw_query:
        loc += "?" + raw_query
    return loc


def redirect_body(location: str) -> bytes:
    """http.Redirect's body for GET (a link, then Fprintln's extra newline)."""
    esc = (
        location.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )
    return f'<a href="{esc}">Moved Permanently</a>.\n\n'.encode()


Form = dict[str, list[str]]


def parse_query(query: str, form: Form) -> str | None:
    """Go's url.ParseQuery into `form`; returns the error text Go reports, if any (Go keeps
    parsing after an error, and a semicolon error replaces any earlier one)."""
    err: str | None = None
    for part in query.split("&"):
        if ";" in part:
            err = "invalid semicolon separator in query"
            continue
        if not part:
            continue
        key, _, value = part.partition("=")
        try:
            key = unescape(key, query_mode=True)
            value = unescape(value, query_mode=True)
        except FormError as e:
            if err is None:
                err = str(e)
            continue
        form.setdefault(key, []).append(value)
    return err


def form_content_type(content_type: str | None) -> tuple[bool, str | None]:
    """Whether ParseForm reads a body with this Content-Type (urlencoded), and the error from
    Go's mime.ParseMediaType if the header is malformed. A missing header means
    application/octet-stream (not read)."""
    if not content_type:
        return False, None
    base, semi, params = content_type.partition(";")
    media = base.strip().lower()
    err = _check_media_type(media)
    if err is not None:
        return False, err
    if semi and not _media_params_ok(params):
        # Go still returns the media type here, so a urlencoded body is read, but the error
        # fails ParseForm.
        return media == "application/x-www-form-urlencoded", "mime: invalid media parameter"
    return media == "application/x-www-form-urlencoded", None


_TSPECIALS = frozenset('()<>@,;:\\"/[]?=')


def _token_len(s: str) -> int:
    i = 0
    while i < len(s) and s[i] not in _TSPECIALS and " " < s[i] < "\x7f":
        i += 1
    return i


def _check_media_type(s: str) -> str | None:
    n = _token_len(s)
    if n == 0:
        return "mime: no media type"
    rest = s[n:]
    if not rest:
        return None
    if not rest.startswith("/"):
        return "mime: expected slash after first token"
    m = _token_len(rest[1:])
    if m == 0:
        return "mime: expected token after slash"
    if rest[1 + m :]:
        return "mime: unexpected content after media subtype"
    return None


def _media_params_ok(params: str) -> bool:
    """A simplified mime parameter check: `; key=value` pairs (value a token or a quoted
    string), trailing semicolons allowed, no duplicate keys."""
    seen: set[str] = set()
    for raw in params.split(";"):
        p = raw.strip()
        if not p:
            continue
        key, eq, value = p.partition("=")
        key = key.strip().lower()
        value = value.strip()
        if not eq or not key or _token_len(key) != len(key) or not value:
            return False
        if not (value.startswith('"') and value.endswith('"') and len(value) >= 2) and (
            _token_len(value) != len(value)
        ):
            return False
        if key in seen:
            return False
        seen.add(key)
    return True


def parse_form(
    raw_query: str, body: bytes | None, content_type: str | None
) -> tuple[Form, str | None]:
    """Go's Request.ParseForm for a server request: body values (only for POST/PUT/PATCH with a
    urlencoded body; pass None otherwise) first, then the query's. Returns the merged form and
    the first error's text (body errors before query errors), as etcd turns it into 210."""
    form: Form = {}
    err: str | None = None
    if body is not None:
        read, err = form_content_type(content_type)
        if read:
            if len(body) > MAX_FORM_BYTES:
                return form, POST_TOO_LARGE
            e = parse_query(body.decode("utf-8", "surrogateescape"), form)
            err = err or e
    e = parse_query(raw_query, form)
    return form, err or e


# ASCII characters net/url accepts in a host (shouldEscape in encodeHost mode), plus `%`.
_HOST_OK = frozenset("-_.~!$&'()*+,;=:[]<>\"%")


class URLError(ValueError):
    """url.Parse refused a URL; `str()` is Go's `parse "<url>": <reason>`."""


def parse_url(s: str) -> tuple[str, str, str]:
    """The scheme (lowercased), host and path of `s` as Go's url.Parse splits them; raises
    URLError where Go's parser fails (the common cases; rare corners may be worded otherwise)."""

    def fail(reason: str) -> URLError:
        return URLError(f"parse {quote(s)}: {reason}")

    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in s):
        raise fail("net/url: invalid control character in URL")
    rest = s.partition("#")[0]
    try:
        unescape(rest, query_mode=False)
    except FormError as err:
        raise fail(str(err)) from None
    scheme = ""
    for i, ch in enumerate(rest):
        if ch.isascii() and ch.isalpha():
            continue
        if i > 0 and ((ch.isascii() and ch.isdigit()) or ch in "+-."):
            continue
        if ch == ":":
            if i == 0:
                raise fail("missing protocol scheme")
            scheme, rest = rest[:i].lower(), rest[i + 1 :]
        break
    rest = rest.partition("?")[0]
    if not scheme and ":" in rest.partition("/")[0]:
        raise fail("first path segment in URL cannot contain colon")
    if not rest.startswith("//") or (scheme and not rest.startswith("/")):
        return scheme, "", rest if rest.startswith("/") or not scheme else ""
    authority, slash, path = rest[2:].partition("/")
    host = authority.rpartition("@")[2]
    for ch in host:
        if ch < "\x80" and not (ch.isalnum() or ch in _HOST_OK):
            raise fail(f"invalid character {quote(ch)} in host name")
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise fail("missing ']' in host")
        port = host[end + 1 :]
        if port and (not port.startswith(":") or (not port[1:].isdigit() and port != ":")):
            raise fail(f"invalid port {quote(port)} after host")
    elif ":" in host:
        port = host[host.rindex(":") :]
        if port != ":" and not port[1:].isdigit():
            raise fail(f"invalid port {quote(port)} after host")
    return scheme, host, slash + path


def has_port(host: str) -> bool:
    """net.SplitHostPort succeeds: a `:port` part (possibly empty), one colon outside `[]`."""
    if host.startswith("["):
        end = host.find("]")
        return end >= 0 and host[end + 1 : end + 2] == ":"
    return host.count(":") == 1
