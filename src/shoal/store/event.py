"""What an operation returns and what watchers receive: an Event holding node views, and
their JSON exactly as etcd writes it.

A NodeView is a frozen picture of a node taken when the event happened (etcd's NodeExtern):
its `ttl` is the remaining time at that moment, so a watcher reading a historical event sees
the ttl as of that write, like on etcd. Views are never changed after creation, so one Event
can sit in the history and be handed to any number of watchers.
"""

from __future__ import annotations

from shoal.gocompat.rfc3339 import rfc3339nano
from shoal.store.jsonenc import go_string
from shoal.store.paths import user_key

# Actions (etcd v2store/event.go).
GET = "get"
CREATE = "create"
SET = "set"
UPDATE = "update"
DELETE = "delete"
COMPARE_AND_SWAP = "compareAndSwap"
COMPARE_AND_DELETE = "compareAndDelete"
EXPIRE = "expire"

# With noValueOnSuccess these actions answer with the action alone (v2http writeKeyEvent).
_NO_VALUE_ACTIONS = frozenset((SET, COMPARE_AND_SWAP, CREATE, UPDATE))


class NodeView:
    """A node as a response shows it. `value` is None for directories and for the nodes of
    delete/expire events; `expiration` is unix nanoseconds or None; `nodes` is None unless the
    directory was listed."""

    __slots__ = (
        "created_index",
        "dir",
        "expiration",
        "key",
        "modified_index",
        "nodes",
        "ttl",
        "value",
    )

    def __init__(
        self,
        key: str,
        modified_index: int,
        created_index: int,
        value: str | None = None,
        dir: bool = False,
        expiration: int | None = None,
        ttl: int = 0,
        nodes: list[NodeView] | None = None,
    ) -> None:
        self.key = key
        self.value = value
        self.dir = dir
        self.expiration = expiration
        self.ttl = ttl
        self.nodes = nodes
        self.modified_index = modified_index
        self.created_index = created_index

    def to_json_str(self) -> str:
        """Go's encoding of NodeExtern: fields in struct order, each left out when empty
        (except `value`, present for every file even when ""); keys lose the `/1` prefix.
        Nested listings are written without recursion, so any depth works."""
        if not self.nodes:
            pre, post = self._fields()
            return "{" + ",".join(pre + post) + "}"
        out: list[str] = []
        stack: list[NodeView | str] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                out.append(item)
                continue
            pre, post = item._fields()
            nodes = item.nodes
            if not nodes:
                out.append("{" + ",".join(pre + post) + "}")
                continue
            pre.append('"nodes":[')
            out.append("{" + ",".join(pre))
            stack.append("]" + "".join("," + f for f in post) + "}")
            for i in range(len(nodes) - 1, -1, -1):
                stack.append(nodes[i])
                if i:
                    stack.append(",")
        return "".join(out)

    def _fields(self) -> tuple[list[str], list[str]]:
        """The JSON fields that come before `nodes`, and those after it."""
        pre = []
        key = user_key(self.key)
        if key:
            pre.append('"key":' + go_string(key))
        if self.value is not None:
            pre.append('"value":' + go_string(self.value))
        if self.dir:
            pre.append('"dir":true')
        if self.expiration is not None:
            pre.append('"expiration":"' + rfc3339nano(self.expiration) + '"')
        if self.ttl:
            pre.append(f'"ttl":{self.ttl}')
        post = []
        if self.modified_index:
            post.append(f'"modifiedIndex":{self.modified_index}')
        if self.created_index:
            post.append(f'"createdIndex":{self.created_index}')
        return pre, post

    def to_dict(self) -> dict[str, object]:
        """The same fields as a dict (for tests and tools), keys still in store form."""
        d: dict[str, object] = {"key": self.key}
        if self.value is not None:
            d["value"] = self.value
        if self.dir:
            d["dir"] = True
        if self.expiration is not None:
            d["expiration"] = self.expiration
        if self.ttl:
            d["ttl"] = self.ttl
        if self.nodes:
            d["nodes"] = [n.to_dict() for n in self.nodes]
        d["modifiedIndex"] = self.modified_index
        d["createdIndex"] = self.created_index
        return d

    def __repr__(self) -> str:
        return f"NodeView({self.to_dict()!r})"


class Event:
    """The result of a store operation. `index` is the store index the event happened at
    (the node's modifiedIndex); `etcd_index` is the store index to report in X-Etcd-Index."""

    __slots__ = ("_json", "action", "etcd_index", "node", "prev_node", "refresh")

    def __init__(
        self,
        action: str,
        node: NodeView,
        etcd_index: int,
        prev_node: NodeView | None = None,
        refresh: bool = False,
    ) -> None:
        self.action = action
        self.node = node
        self.prev_node = prev_node
        self.etcd_index = etcd_index
        self.refresh = refresh
        self._json: bytes | None = None

    @property
    def index(self) -> int:
        return self.node.modified_index

    @property
    def is_created(self) -> bool:
        """Whether the write made a new key (HTTP 201): a create, or a set with no prevNode."""
        return self.action == CREATE or (self.action == SET and self.prev_node is None)

    @property
    def status(self) -> int:
        return 201 if self.is_created else 200

    def to_json(self, no_value_on_success: bool = False) -> bytes:
        """The response body etcd writes for this event, newline included."""
        if no_value_on_success and self.action in _NO_VALUE_ACTIONS:
            return b'{"action":"' + self.action.encode() + b'"}\n'
        # Cached: one event from a busy key can go out to many watchers.
        if self._json is None:
            body = '{"action":"' + self.action + '","node":' + self.node.to_json_str()
            if self.prev_node is not None:
                body += ',"prevNode":' + self.prev_node.to_json_str()
            # etcd 3.4 never writes `"refresh":true`: its keys handler copies the event with
            # Event.Clone(), which leaves Refresh out, and watchers never get refresh events.
            self._json = (body + "}\n").encode()
        return self._json

    def __repr__(self) -> str:
        return (
            f"Event({self.action!r}, node={self.node!r}, prev_node={self.prev_node!r}, "
            f"etcd_index={self.etcd_index}, refresh={self.refresh})"
        )
