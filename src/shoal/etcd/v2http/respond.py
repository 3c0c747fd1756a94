"""The response shapes etcd's client port writes, each in one place: Go's http.Error (plain
text, nosniff), allowMethod's 405, etcd's `{"message":...}` HTTPError, the v2 error body, and
the CORS headers every response carries. Bodies are bytes prepared by the caller; nothing here
re-encodes JSON."""

from __future__ import annotations

from shoal.etcd import facts
from shoal.etcd.v2http.message import Response
from shoal.store import EtcdError
from shoal.store.jsonenc import go_string


def go_json(obj: object) -> str:
    """Go's json.Marshal of plain values: compact, maps in the given order, strings escaped
    as Go escapes them (`<`, `>`, `&` included), integral floats without a fraction."""
    if isinstance(obj, str):
        return go_string(obj)
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        return str(int(obj)) if obj.is_integer() and abs(obj) < 1e21 else repr(obj)
    if isinstance(obj, dict):
        return "{" + ",".join(f"{go_string(str(k))}:{go_json(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(go_json(v) for v in obj) + "]"
    raise TypeError(f"no JSON form for {type(obj).__name__}")


def base_headers() -> dict[str, str]:
    """A fresh header dict holding the CORS headers (etcd's access controller adds them before
    any handler runs)."""
    return dict(facts.CORS_HEADERS)


def go_error(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    """Go's http.Error: text/plain, nosniff, the text and a newline."""
    h = headers if headers is not None else base_headers()
    h["Content-Type"] = facts.TEXT
    h["X-Content-Type-Options"] = "nosniff"
    return Response(status=status, body=(text + "\n").encode(), headers=h)


def method_not_allowed(allowed: tuple[str, ...]) -> Response:
    """etcd's allowMethod refusal: 405 with `Allow` listing the methods, comma-joined."""
    h = base_headers()
    h["Allow"] = ",".join(allowed)
    return go_error(405, facts.METHOD_NOT_ALLOWED, h)


def not_found() -> Response:
    """Go's http.NotFound, which etcd's mux serves for every unknown path."""
    return go_error(404, facts.NOT_FOUND_PAGE)


def message(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    """etcd's httptypes.HTTPError: `{"message":"..."}` as JSON, no trailing newline."""
    h = headers if headers is not None else base_headers()
    h["Content-Type"] = facts.JSON
    body = '{"message":' + go_string(text) + "}"
    return Response(status=status, body=body.encode(), headers=h)


def etcd_error(err: EtcdError, headers: dict[str, str]) -> Response:
    """v2error.Error.WriteTo: the error body with X-Etcd-Index set to the error's index."""
    headers["Content-Type"] = facts.JSON
    headers["X-Etcd-Index"] = str(err.index)
    return Response(status=err.status, body=err.to_json(), headers=headers)


def json_body(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    h = headers if headers is not None else base_headers()
    h["Content-Type"] = facts.JSON
    return Response(status=status, body=body, headers=h)


def text_body(body: bytes, status: int = 200) -> Response:
    """A body written with no Content-Type, which Go sniffs as plain text."""
    h = base_headers()
    h["Content-Type"] = facts.TEXT
    return Response(status=status, body=body, headers=h)
