"""`/v2/members` request bodies as etcd decodes them (httptypes.MemberCreateRequest /
MemberUpdateRequest, types.NewURLs), with the error texts a client sees in `{"message":...}`.

etcd decodes with Go's encoding/json (gocompat.jsonscan: its syntax errors exactly, and its
nesting limit) and parses URLs with net/url; the texts of the common URL and type errors are
reproduced (wrong JSON types, bad or path-carrying URLs). Rare net/url corners may word an error
differently; the status (400) is always etcd's."""

from __future__ import annotations

from typing import Any

from shoal.client import urls
from shoal.etcd import facts
from shoal.gocompat import jsonscan


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
    """types.NewURLs, its refusal as a BadMemberRequest."""
    try:
        return urls.new_urls(strs)
    except urls.URLsError as e:
        raise BadMemberRequest(str(e)) from None


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
