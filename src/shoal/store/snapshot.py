"""The store's state as bytes (msgpack) and back, and a digest of the key space.

Strings are kept byte for byte (surrogate-escaped text round-trips, see request.py).
Canonical: children are written in key order, so equal states give equal bytes and equal
hashes whatever order the keys were made in. Written without recursion, so any depth works.

Layout: [format, index, nodes, stats, history]
  nodes:   [path, createdIndex, modifiedIndex, expire_ns | None, value | None (directory)],
           every node but the root, parents before children
  stats:   the counters in `stats.FIELDS` order
  history: events, oldest first: [action, node, prevNode | None, etcdIndex, refresh]
           with a node as [key, value, dir, expiration, ttl, nodes | None, modified, created]
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import msgpack

from shoal.store.event import Event, NodeView
from shoal.store.history import EventHistory
from shoal.store.node import Node
from shoal.store.stats import Stats

_FORMAT = 1


def walk(root: Node) -> Iterator[Node]:
    """Every node below `root`, parents first, siblings in key order."""
    stack = [root]
    while stack:
        n = stack.pop()
        if n is not root:
            yield n
        if n.children:
            stack.extend(n.children[k] for k in sorted(n.children, reverse=True))


def _node_records(root: Node) -> list[list[Any]]:
    return [
        [
            n.path,
            n.created_index,
            n.modified_index,
            n.expire_ns,
            None if n.children is not None else n.value,
        ]
        for n in walk(root)
    ]


def _view_record(v: NodeView) -> list[Any]:
    nodes = None if v.nodes is None else [_view_record(c) for c in v.nodes]
    return [v.key, v.value, v.dir, v.expiration, v.ttl, nodes, v.modified_index, v.created_index]


def _view_from(r: list[Any]) -> NodeView:
    nodes = None if r[5] is None else [_view_from(c) for c in r[5]]
    return NodeView(r[0], r[6], r[7], r[1], r[2], r[3], r[4], nodes)


def _event_record(e: Event) -> list[Any]:
    prev = None if e.prev_node is None else _view_record(e.prev_node)
    return [e.action, _view_record(e.node), prev, e.etcd_index, e.refresh]


def _event_from(r: list[Any]) -> Event:
    prev = None if r[2] is None else _view_from(r[2])
    return Event(r[0], _view_from(r[1]), r[3], prev, r[4])


def save(root: Node, index: int, stats: Stats, history: EventHistory) -> bytes:
    return msgpack.packb(  # type: ignore[no-any-return]
        [_FORMAT, index, _node_records(root), stats.to_list(), [_event_record(e) for e in history]],
        unicode_errors="surrogateescape",
    )


def load(data: bytes) -> tuple[Node, int, list[int], list[Event]]:
    """The tree, index, stats and history events saved in `data`."""
    t: Any = msgpack.unpackb(data, unicode_errors="surrogateescape")
    if not isinstance(t, list) or len(t) != 5 or t[0] != _FORMAT:
        raise ValueError(f"not a shoal store snapshot (format {_FORMAT})")
    root = Node("/", "", 0, None, None, is_dir=True)
    by_path = {"/": root}
    for path, created, modified, expire_ns, value in t[2]:
        slash = path.rfind("/")
        parent = by_path[path[:slash] or "/"]
        name = path[slash + 1 :]
        n = Node(path, name, created, parent, expire_ns, value or "", value is None)
        n.modified_index = modified
        assert parent.children is not None
        parent.children[name] = n
        if value is None:
            by_path[path] = n
    return root, t[1], t[3], [_event_from(r) for r in t[4]]


def tree_hash(root: Node, index: int) -> int:
    h = hashlib.blake2b(digest_size=8)
    h.update(msgpack.packb(index))
    packer = msgpack.Packer(unicode_errors="surrogateescape")
    for rec in _node_records(root):
        h.update(packer.pack(rec))
    return int.from_bytes(h.digest(), "big")
