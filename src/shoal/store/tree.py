"""The shape of the key tree: the root with its namespaces, finding the node at a path, making the
directories on the way to a new one, and taking a subtree out in the order etcd reports it.

These functions know nothing of indexes beyond the ones they are handed (for new directories and
for the errors they raise), nor of TTLs, watchers or stats: `store.py` does that bookkeeping.
"""

from __future__ import annotations

from collections.abc import Iterator

from shoal.store import errors
from shoal.store.constants import NAMESPACES
from shoal.store.errors import EtcdError
from shoal.store.node import Node


def new_root() -> Node:
    """An empty tree: `/` holding the namespace directories (`/0` members, `/1` user keys)."""
    root = Node("/", "", 0, None, None, is_dir=True)
    assert root.children is not None
    for ns in NAMESPACES:
        root.children[ns[1:]] = Node(ns, ns[1:], 0, root, None, is_dir=True)
    return root


def lookup(root: Node, path: str, index: int) -> Node:
    """The node at a clean path: 100 at the first missing segment (cause: the path up to it),
    104 if a segment on the way is a file (cause: that file). `index` is the store index."""
    n = root
    if path == "/":
        return n
    for name in path[1:].split("/"):
        children = n.children
        if children is None:
            raise EtcdError(errors.NOT_DIR, n.path, index)
        child = children.get(name)
        if child is None:
            missing = "/" + name if n.path == "/" else n.path + "/" + name
            raise EtcdError(errors.KEY_NOT_FOUND, missing, index)
        n = child
    return n


def dirs_to(root: Node, path: str, slash: int, created_index: int, index: int) -> Node:
    """The directory holding `path` (its last `/` at `slash`), creating missing ones with
    `created_index`; 104 (at store index `index`) if a file is in the way."""
    d = root
    if slash == 0:
        return d
    for name in path[1:slash].split("/"):
        children = d.children
        assert children is not None
        c = children.get(name)
        if c is None:
            c = Node(
                d.path + "/" + name if d is not root else "/" + name,
                name,
                created_index,
                d,
                None,
                "",
                True,
            )
            children[name] = c
        elif c.children is None:
            raise EtcdError(errors.NOT_DIR, c.path, index)
        d = c
    return d


def detach(n: Node, dir: bool, recursive: bool, index: int) -> None:
    """Unlink `n` from its parent: a directory only with `dir`, a non-empty one only with
    `recursive` (else 102 / 108 at store index `index`). Checks first, so a refusal changes
    nothing."""
    children = n.children
    if children is not None:
        if not dir:
            raise EtcdError(errors.NOT_FILE, n.path, index)
        if children and not recursive:
            raise EtcdError(errors.DIR_NOT_EMPTY, n.path, index)
    parent = n.parent
    assert parent is not None and parent.children is not None
    del parent.children[n.name]
    n.parent = None


def post_order(n: Node) -> Iterator[Node]:
    """`n` and every node below it, children before their directory, as etcd's recursive
    Remove visits them (without recursion, so any depth works)."""
    stack: list[tuple[Node, bool]] = [(n, False)]
    while stack:
        node, expanded = stack.pop()
        if node.children and not expanded:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(node.children.values()))
            continue
        yield node
