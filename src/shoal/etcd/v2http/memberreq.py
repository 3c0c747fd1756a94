"""`/v2/members` request bodies as etcd decodes them (httptypes.MemberCreateRequest /
MemberUpdateRequest, types.NewURLs), with the error texts a client sees in `{"message":...}`.

etcd decodes with Go's encoding/json (gocompat.jsonscan: its syntax errors exactly, and its
nesting limit) and parses URLs with net/url; the texts of the common URL and type errors are
reproduced (wrong JSON types, bad or path-carrying URLs). Rare net/url corners may word an error
differently; the status (400) is always etcd's."""

from __future__ import annotations

import json
from typing import Any

from shoal.etcd import facts
from shoal.etcd.v2http.gohttp import FormError, unescape
from shoal.gocompat import jsonscan

# ASCII characters net/url accepts in a host (shouldEscape in encodeHost mode), plus `%`.
_HOST_OK = frozenset("-_.~!$&'()*+,;=:[]<>\"%")


class _Object(list[tuple[str, Any]]):
    """A decoded JSON object: its pairs in document order (duplicates kept, as Go sees them)."""


class BadMemberRequest(Exception):
    """A body etcd refuses with 400; `str(err)` is its message."""


def decode_member_request(body: bytes) -> list[str]:
    """The sorted peer URLs of a member request body (POST and PUT alike)."""
    try:
        doc = jsonscan.loads(body, object_pairs_hook=_Object)
    except jsonscan.JSONSyntaxError as e:
        raise BadMemberRequest(str(e)) from None
    peer_urls: list[Any] | None = None
    type_err: str | None = None
    if isinstance(doc, _Object):
        # An object (pairs, in document order; Go matches field names case-insensitively).
        for key, value in doc:
            k = key.lower()
            if k == "peerurls":
                if value is None:
                    continue
                if not isinstance(value, list) or isinstance(value, _Object):
                    type_err = type_err or _field_error(value, "peerURLs", "[]string")
                    continue
                urls: list[Any] = []
                for v in value:
                    if v is not None and not isinstance(v, str):
                        type_err = type_err or _field_error(v, "peerURLs", "string")
                        v = ""
                    urls.append(v or "")
                peer_urls = urls
    elif doc is not None:
        what = _json_kind(doc)
        raise BadMemberRequest(
            f"json: cannot unmarshal {what} into Go value of type {facts.MEMBER_REQUEST_GO_TYPE}"
        )
    if type_err is not None:
        raise BadMemberRequest(type_err)
    return new_urls(peer_urls or [])


def new_urls(strs: list[str]) -> list[str]:
    """types.NewURLs: every URL trimmed, parsed, http(s)/unix(s), host:port, no path; sorted."""
    if not strs:
        raise BadMemberRequest("no valid URLs given")
    out = []
    for raw in strs:
        s = raw.strip()
        scheme, host, path = _parse_url(s)
        if scheme not in facts.MEMBER_URL_SCHEMES:
            raise BadMemberRequest(f"URL scheme must be http, https, unix, or unixs: {s}")
        if not _has_port(host):
            raise BadMemberRequest(f'URL address does not have the form "host:port": {s}')
        if path:
            raise BadMemberRequest(f"URL must not contain a path: {s}")
        out.append(scheme + s[len(scheme) :])
    out.sort()
    return out


def _json_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, _Object):
        return "object"
    return "array"


def _field_error(v: Any, field: str, go_type: str) -> str:
    return f"json: cannot unmarshal {_json_kind(v)} into Go struct field .{field} of type {go_type}"


def _parse_url(s: str) -> tuple[str, str, str]:
    """The scheme (lowercased), host and path of `s` as Go's url.Parse splits them; raises
    BadMemberRequest with `parse "s": <reason>` where Go's parser fails."""

    def fail(reason: str) -> BadMemberRequest:
        return BadMemberRequest(f"parse {json.dumps(s, ensure_ascii=False)}: {reason}")

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
            raise fail(f"invalid character {json.dumps(ch)} in host name")
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise fail("missing ']' in host")
        port = host[end + 1 :]
        if port and (not port.startswith(":") or (not port[1:].isdigit() and port != ":")):
            raise fail(f'invalid port "{port}" after host')
    elif ":" in host:
        port = host[host.rindex(":") :]
        if port != ":" and not port[1:].isdigit():
            raise fail(f'invalid port "{port}" after host')
    return scheme, host, slash + path


def _has_port(host: str) -> bool:
    """net.SplitHostPort succeeds: a `:port` part (possibly empty), one colon outside `[]`."""
    if host.startswith("["):
        end = host.find("]")
        return end >= 0 and host[end + 1 : end + 2] == ":"
    return host.count(":") == 1
