"""Typed structs for etcd v2 API bodies, and the one decoder that builds them from JSON.

Every response body the client reads goes through `decode_*` here, so a field etcd adds or
renames is handled in one place. The structs are frozen: a Response is a fact about the past.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shoal.client.protocol import (
    HEADER_CLUSTER_ID,
    HEADER_ETCD_INDEX,
    HEADER_RAFT_INDEX,
    HEADER_RAFT_TERM,
)


class DecodeError(ValueError):
    """A body that is not the JSON shape etcd sends (wrong server, truncated reply)."""


@dataclass(frozen=True, slots=True)
class Node:
    """One key or directory. `value` is "" for directories, as in the Go client."""

    key: str
    value: str = ""
    dir: bool = False
    expiration: str | None = None  # RFC3339Nano UTC, exactly as the server sent it
    ttl: int = 0  # seconds left (0: no TTL)
    nodes: tuple[Node, ...] | None = None  # None when the server sent no "nodes"
    created_index: int = 0
    modified_index: int = 0

    def walk(self) -> list[Node]:
        """This node and all its descendants, depth first, in the server's order."""
        out = [self]
        for child in self.nodes or ():
            out.extend(child.walk())
        return out


@dataclass(frozen=True, slots=True)
class Response:
    """A keys API event (`action`, `node`, `prevNode`) plus the headers that came with it."""

    action: str
    node: Node
    prev_node: Node | None = None
    index: int = 0  # X-Etcd-Index: the store index after the operation
    cluster_id: str = ""
    raft_index: int = 0
    raft_term: int = 0
    refresh: bool = False


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    name: str
    peer_urls: tuple[str, ...] = ()
    client_urls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Version:
    server: str
    cluster: str


@dataclass(frozen=True, slots=True)
class Health:
    healthy: bool
    status: int
    body: Mapping[str, Any] = field(default_factory=dict)


def _loads(body: bytes | str) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise DecodeError(f"invalid JSON from server: {exc}") from None


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DecodeError(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


def _int(raw: Mapping[str, Any], name: str) -> int:
    v = raw.get(name, 0)
    if isinstance(v, bool) or not isinstance(v, int):
        raise DecodeError(f"field {name!r}: expected an integer, got {v!r}")
    return v


def _str(raw: Mapping[str, Any], name: str) -> str:
    v = raw.get(name, "")
    if v is None:
        return ""
    if not isinstance(v, str):
        raise DecodeError(f"field {name!r}: expected a string, got {v!r}")
    return v


def _strs(raw: Mapping[str, Any], name: str) -> tuple[str, ...]:
    v = raw.get(name) or []
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise DecodeError(f"field {name!r}: expected a list of strings, got {v!r}")
    return tuple(v)


def node_from_json(raw: Any) -> Node:
    obj = _obj(raw, "node")
    children = obj.get("nodes")
    nodes: tuple[Node, ...] | None = None
    if children is not None:
        if not isinstance(children, list):
            raise DecodeError("field 'nodes': expected a list")
        nodes = tuple(node_from_json(c) for c in children)
    expiration = obj.get("expiration")
    return Node(
        key=_str(obj, "key"),
        value=_str(obj, "value"),
        dir=bool(obj.get("dir", False)),
        expiration=expiration if isinstance(expiration, str) else None,
        ttl=_int(obj, "ttl"),
        nodes=nodes,
        created_index=_int(obj, "createdIndex"),
        modified_index=_int(obj, "modifiedIndex"),
    )


def decode_response(body: bytes | str, headers: Mapping[str, str]) -> Response:
    """A successful keys API reply (200/201) and its headers."""
    obj = _obj(_loads(body), "response")
    if "node" not in obj:
        raise DecodeError("response has no 'node'")
    prev = obj.get("prevNode")
    return Response(
        action=_str(obj, "action"),
        node=node_from_json(obj["node"]),
        prev_node=node_from_json(prev) if prev is not None else None,
        index=header_int(headers, HEADER_ETCD_INDEX),
        cluster_id=header(headers, HEADER_CLUSTER_ID),
        raft_index=header_int(headers, HEADER_RAFT_INDEX),
        raft_term=header_int(headers, HEADER_RAFT_TERM),
        refresh=bool(obj.get("refresh", False)),
    )


def header(headers: Mapping[str, str], name: str) -> str:
    """A header by case-insensitive name ("" when absent); plain dicts work as well."""
    if name in headers:
        return headers[name]
    lower = name.lower()
    for key, value in headers.items():
        if key.lower() == lower:
            return value
    return ""


def header_int(headers: Mapping[str, str], name: str) -> int:
    raw = header(headers, name)
    return int(raw) if raw.isdigit() else 0


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """etcd's error body: `{"errorCode", "message", "cause", "index"}`."""

    code: int
    message: str
    cause: str
    index: int


def decode_error_body(body: bytes | str) -> ErrorBody:
    obj = _obj(_loads(body), "error")
    if "errorCode" not in obj:
        raise DecodeError("error body has no 'errorCode'")
    return ErrorBody(
        code=_int(obj, "errorCode"),
        message=_str(obj, "message"),
        cause=_str(obj, "cause"),
        index=_int(obj, "index"),
    )


def member_from_json(raw: Any) -> Member:
    obj = _obj(raw, "member")
    return Member(
        id=_str(obj, "id"),
        name=_str(obj, "name"),
        peer_urls=_strs(obj, "peerURLs"),
        client_urls=_strs(obj, "clientURLs"),
    )


def decode_members(body: bytes | str) -> list[Member]:
    obj = _obj(_loads(body), "members")
    members = obj.get("members") or []
    if not isinstance(members, list):
        raise DecodeError("field 'members': expected a list")
    return [member_from_json(m) for m in members]


def decode_member(body: bytes | str) -> Member:
    return member_from_json(_loads(body))


def go_json_error(body: bytes | str) -> str:
    """What Go's encoding/json says about a body that is not JSON ("" if it is JSON): the Go
    client returns that text as the error when a refusal is not etcd's JSON (e.g. a plain-text
    "404 page not found" from a server without the endpoint)."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else body
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        rest = text[exc.pos :].lstrip()
        if exc.msg.startswith("Extra data") and rest:
            return f"invalid character {rest[0]!r} after top-level value"
        if exc.pos >= len(text.rstrip()):
            return "unexpected end of JSON input"
        return f"invalid character {text[exc.pos]!r} looking for beginning of value"
    return ""


def decode_message(body: bytes | str) -> str:
    """The `{"message": ...}` body of a members API failure ("" when there is none)."""
    try:
        obj = json.loads(body)
    except ValueError:
        return ""
    return obj.get("message", "") if isinstance(obj, dict) else ""


def decode_version(body: bytes | str) -> Version:
    obj = _obj(_loads(body), "version")
    return Version(server=_str(obj, "etcdserver"), cluster=_str(obj, "etcdcluster"))


def decode_health(status: int, body: bytes | str) -> Health:
    """`/health`: etcd 3.4 sends {"health":"true"}; 2.x sent {"health": true}. Accept both."""
    obj = _obj(_loads(body), "health")
    flag = obj.get("health")
    return Health(healthy=flag in ("true", True), status=status, body=obj)


def decode_object(body: bytes | str) -> dict[str, Any]:
    """Any JSON object body (stats): etcd's stats shapes differ per member state."""
    return _obj(_loads(body), "body")
