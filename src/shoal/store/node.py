"""A node of the key tree: a file (a value) or a directory (children), with its indexes and
optional expire time, and the views a response shows of it. Mirrors etcd's v2store node; the
tree's shape is `tree.py`'s, the operations on it `store.py`'s."""

from __future__ import annotations

from shoal.store.constants import NS_PER_SECOND
from shoal.store.event import NodeView

TTLEntry = tuple[int, str, int, "Node"]
"""A node's place in the TTL heap: (expire_ns, path, sequence, node)."""


def ttl_of(expire_ns: int, now_ns: int) -> int:
    """Remaining whole seconds, rounded up (etcd: ceil, so 1..n rather than 1..n+1); Go's
    truncating division makes an already past expiry round toward zero."""
    d = expire_ns - now_ns
    if d >= 0:
        q, r = divmod(d, NS_PER_SECOND)
        return q + 1 if r else q
    return -(-d // NS_PER_SECOND)


class Node:
    """`children` is None for a file and a dict (insertion ordered) for a directory.
    `expire_ns` is None for a permanent node. `ttl_entry` is the node's live entry in the TTL
    heap, None when it has none."""

    __slots__ = (
        "children",
        "created_index",
        "expire_ns",
        "modified_index",
        "name",
        "parent",
        "path",
        "ttl_entry",
        "value",
    )

    def __init__(
        self,
        path: str,
        name: str,
        index: int,
        parent: Node | None,
        expire_ns: int | None,
        value: str = "",
        is_dir: bool = False,
    ) -> None:
        self.path = path
        self.name = name
        self.created_index = index
        self.modified_index = index
        self.parent = parent
        self.expire_ns = expire_ns
        self.value = value
        self.children: dict[str, Node] | None = {} if is_dir else None
        self.ttl_entry: TTLEntry | None = None

    @property
    def is_dir(self) -> bool:
        return self.children is not None

    def view(self, now_ns: int, recursive: bool = False, sort: bool = False) -> NodeView:
        """etcd's Repr: the node alone, or with `recursive` its whole visible subtree (built
        without recursion, so any depth can be listed)."""
        top = self._alone(now_ns)
        if recursive and self.children is not None:
            self._fill(top, now_ns, True, sort)
        return top

    def listing(self, now_ns: int, recursive: bool, sort: bool) -> NodeView:
        """What GET shows: a file, or a directory with its visible children (their own
        children only when `recursive`)."""
        top = self._alone(now_ns)
        if self.children is not None:
            self._fill(top, now_ns, recursive, sort)
        return top

    def _alone(self, now_ns: int) -> NodeView:
        exp = self.expire_ns
        ttl = 0 if exp is None else ttl_of(exp, now_ns)
        if self.children is None:
            return NodeView(
                self.path, self.modified_index, self.created_index, self.value, False, exp, ttl
            )
        return NodeView(self.path, self.modified_index, self.created_index, None, True, exp, ttl)

    def _fill(self, top: NodeView, now_ns: int, deep: bool, sort: bool) -> None:
        """Give `top` (this directory's view) the views of its visible children, and with
        `deep` theirs too, all the way down. Hidden children (`_` names) never appear."""
        stack: list[tuple[Node, NodeView]] = [(self, top)]
        while stack:
            node, v = stack.pop()
            assert node.children is not None
            views = v.nodes = []
            for name, c in node.children.items():
                if name[0] == "_":
                    continue
                cv = c._alone(now_ns)
                views.append(cv)
                if deep and c.children is not None:
                    stack.append((c, cv))
            if sort:
                views.sort(key=_view_key)

    def __repr__(self) -> str:
        kind = "dir" if self.children is not None else f"value={self.value!r}"
        return f"Node({self.path!r}, {kind}, {self.created_index}/{self.modified_index})"


def _view_key(v: NodeView) -> str:
    return v.key
