"""The etcd v2 key tree as a deterministic state machine (etcd release-3.4 v2store).

Applied on every member from the raft log, so everything that changes state depends only on
the arguments: no clock, no I/O, no randomness. `now` (unix seconds) only decides the `ttl`
shown in returned events; what expires, and when, comes from SYNC requests in the log.

Paths are store paths: user keys live under `/1` and membership under `/0`, as in etcd (so
indexes, history and errors come out exactly as etcd's); `paths.keys_path()` maps a
`/v2/keys` URL tail to its store path and the JSON encoders strip `/1` again.

Quirks copied from etcd on purpose are marked "etcd:" where they happen.
"""

from __future__ import annotations

from shoal.store import errors, snapshot
from shoal.store import event as ev
from shoal.store import request as rq
from shoal.store import stats as st
from shoal.store.constants import IN_ORDER_KEY_WIDTH, MIN_EXPIRE_NS, NAMESPACES, READ_ONLY_PATHS
from shoal.store.errors import EtcdError
from shoal.store.event import Event, NodeView
from shoal.store.history import EventHistory
from shoal.store.node import (
    COMPARE_INDEX_NOT_MATCH,
    COMPARE_MATCH,
    COMPARE_VALUE_NOT_MATCH,
    Node,
    ttl_of,
)
from shoal.store.paths import clean_path
from shoal.store.request import Request, to_ns
from shoal.store.stats import Stats
from shoal.store.ttl import TTLHeap
from shoal.store.watch import Watcher, WatcherHub

# etcd: some failures are counted as successes in /v2/stats/store, because etcd's deferred
# counter only sees errors assigned to its `err` variable. (operation counters, code) pairs.
_COUNTED_AS_SUCCESS = frozenset(
    (
        (st.COMPARE_AND_SWAP, errors.ROOT_READ_ONLY),
        (st.DELETE, errors.ROOT_READ_ONLY),
        (st.UPDATE, errors.ROOT_READ_ONLY),
        (st.UPDATE, errors.NOT_FILE),
        (st.COMPARE_AND_DELETE, errors.NOT_FILE),
        (st.COMPARE_AND_DELETE, errors.TEST_FAILED),
    )
)


def _new_root() -> Node:
    root = Node("/", "", 0, None, None, is_dir=True)
    assert root.children is not None
    for ns in NAMESPACES:
        root.children[ns[1:]] = Node(ns, ns[1:], 0, root, None, is_dir=True)
    return root


def _expire_or_none(expiration: int | None) -> int | None:
    # etcd: a zero expiration means "no TTL".
    return expiration or None


class Store:
    """The key space. `index` is the store index: it grows by one with every successful write
    and every expiry, and events carry it."""

    def __init__(self) -> None:
        self.index = 0
        self.root = _new_root()
        self.hub = WatcherHub()
        self.stats = Stats()
        self._ttl = TTLHeap()

    # ----------------------------------------------------------------------------- reads

    def get(self, path: str, recursive: bool = False, sort: bool = False, *, now: float) -> Event:
        """The node at `path`; a directory with its visible children (their subtrees too with
        `recursive`), sorted by key with `sort`."""
        try:
            n = self._node(clean_path(path))
        except EtcdError:
            self.stats.inc(st.GET[1])
            raise
        self.stats.inc(st.GET[0])
        return Event(ev.GET, n.listing(to_ns(now), recursive, sort), self.index)

    def watch(
        self, path: str, recursive: bool = False, stream: bool = False, wait_index: int = 0
    ) -> Watcher:
        """A watcher for the first (or, with `stream`, every) change at `path` from
        `wait_index` on (0: from the next index). Raises 401 when `wait_index` is older than
        the 1000-event history."""
        since = wait_index or self.index + 1
        return self.hub.watch(clean_path(path), recursive, stream, since, self.index)

    def has_ttl_keys(self) -> bool:
        """Whether a SYNC could expire anything (etcd's leader only proposes SYNC then)."""
        return len(self._ttl) != 0

    def next_expiry(self) -> float | None:
        """When the next key expires (unix seconds), or None."""
        n = self._ttl.top()
        return None if n is None or n.expire_ns is None else n.expire_ns / 1e9

    def stats_json(self) -> bytes:
        """The `/v2/stats/store` body."""
        return self.stats.to_json(self.hub.count)

    # ---------------------------------------------------------------------------- writes

    def set(
        self,
        path: str,
        value: str = "",
        dir: bool = False,
        expiration: int | None = None,
        refresh: bool = False,
        *,
        now: float,
    ) -> Event:
        """Create or replace the node at `path` (a directory cannot be replaced). With
        `refresh`, keep the value and only reset the expire time, notifying no watcher."""
        now_ns = to_ns(now)
        path = clean_path(path)
        try:
            try:
                n: Node | None = self._node(path)
            except EtcdError as err:
                if err.code != errors.KEY_NOT_FOUND or refresh:
                    raise
                n = None
            if refresh:
                assert n is not None
                value = n.value
            e = self._create(path, dir, value, False, True, expiration, ev.SET, now_ns)
        except EtcdError:
            self.stats.inc(st.SET[1])
            raise
        self.stats.inc(st.SET[0])
        self._publish(e, refresh)
        return e

    def create(
        self,
        path: str,
        value: str = "",
        dir: bool = False,
        expiration: int | None = None,
        unique: bool = False,
        *,
        now: float,
    ) -> Event:
        """Create the node at `path`, failing with 105 if it exists. With `unique`, create a
        child of `path` named after the next index (an in-order key)."""
        try:
            e = self._create(path, dir, value, unique, False, expiration, ev.CREATE, to_ns(now))
        except EtcdError:
            self.stats.inc(st.CREATE[1])
            raise
        self.stats.inc(st.CREATE[0])
        self.hub.notify(e)
        return e

    def create_in_order(
        self,
        path: str,
        value: str = "",
        dir: bool = False,
        expiration: int | None = None,
        *,
        now: float,
    ) -> Event:
        """POST: a new child of `path` named with the next index, 20 digits zero-padded."""
        return self.create(path, value, dir, expiration, True, now=now)

    def update(
        self,
        path: str,
        value: str = "",
        expiration: int | None = None,
        refresh: bool = False,
        *,
        now: float,
    ) -> Event:
        """Change an existing node's value (files) and expire time. No `expiration` makes the
        node permanent (etcd: an update without ttl removes the TTL)."""
        now_ns = to_ns(now)
        path = clean_path(path)
        try:
            if path in READ_ONLY_PATHS:
                raise EtcdError(errors.ROOT_READ_ONLY, "/", self.index)
            n = self._node(path)
            nxt = self.index + 1
            is_dir = n.children is not None
            if is_dir and value:
                raise EtcdError(errors.NOT_FILE, path, self.index)
        except EtcdError as err:
            self._count_failure(st.UPDATE, err)
            raise
        if refresh:
            value = n.value
        prev = n.view(now_ns)
        # etcd: writing a directory fails silently, so its modifiedIndex stays put.
        if not is_dir:
            n.value = value
            n.modified_index = nxt
        self._update_ttl(n, _expire_or_none(expiration))
        exp = n.expire_ns
        node = NodeView(
            path,
            nxt,
            n.created_index,
            None if is_dir else value,
            is_dir,
            exp,
            0 if exp is None else ttl_of(exp, now_ns),
        )
        e = Event(ev.UPDATE, node, nxt, prev)
        self.index = nxt
        self.stats.inc(st.UPDATE[0])
        self._publish(e, refresh)
        return e

    def refresh(self, path: str, expiration: int, *, now: float) -> Event:
        """Reset the expire time of an existing node without changing it or notifying
        watchers (PUT refresh=true&prevExist=true)."""
        return self.update(path, "", expiration, True, now=now)

    def compare_and_swap(
        self,
        path: str,
        prev_value: str = "",
        prev_index: int = 0,
        value: str = "",
        expiration: int | None = None,
        refresh: bool = False,
        *,
        now: float,
    ) -> Event:
        """Write `value` if the file's value is `prev_value` and its modifiedIndex is
        `prev_index` (an empty/zero condition always holds)."""
        now_ns = to_ns(now)
        path = clean_path(path)
        try:
            if path in READ_ONLY_PATHS:
                raise EtcdError(errors.ROOT_READ_ONLY, "/", self.index)
            n = self._node(path)
            if n.children is not None:
                raise EtcdError(errors.NOT_FILE, path, self.index)
            self._check(n, prev_value, prev_index)
        except EtcdError as err:
            self._count_failure(st.COMPARE_AND_SWAP, err)
            raise
        if refresh:
            value = n.value
        self.index += 1
        prev = n.view(now_ns)
        n.value = value
        n.modified_index = self.index
        self._update_ttl(n, _expire_or_none(expiration))
        exp = n.expire_ns
        node = NodeView(
            path,
            self.index,
            n.created_index,
            value,
            False,
            exp,
            0 if exp is None else ttl_of(exp, now_ns),
        )
        e = Event(ev.COMPARE_AND_SWAP, node, self.index, prev)
        self.stats.inc(st.COMPARE_AND_SWAP[0])
        self._publish(e, refresh)
        return e

    def delete(self, path: str, dir: bool = False, recursive: bool = False, *, now: float) -> Event:
        """Remove a file, an empty directory (`dir`), or a directory and everything below it
        (`recursive`, which implies `dir`)."""
        path = clean_path(path)
        try:
            if path in READ_ONLY_PATHS:
                raise EtcdError(errors.ROOT_READ_ONLY, "/", self.index)
            n = self._node(path)
            nxt = self.index + 1
            is_dir = n.children is not None
            e = Event(
                ev.DELETE,
                NodeView(path, nxt, n.created_index, None, is_dir),
                nxt,
                n.view(to_ns(now)),
            )
            self._remove(n, dir or recursive, recursive, e)
        except EtcdError as err:
            self._count_failure(st.DELETE, err)
            raise
        self.index = nxt
        self.stats.inc(st.DELETE[0])
        self.hub.notify(e)
        return e

    def compare_and_delete(
        self, path: str, prev_value: str = "", prev_index: int = 0, *, now: float
    ) -> Event:
        """Remove a file if its value and modifiedIndex match (as compare_and_swap)."""
        path = clean_path(path)
        # etcd: no read-only check here; `/1` fails below as a directory (102).
        try:
            n = self._node(path)
            if n.children is not None:
                raise EtcdError(errors.NOT_FILE, path, self.index)
            self._check(n, prev_value, prev_index)
        except EtcdError as err:
            self._count_failure(st.COMPARE_AND_DELETE, err)
            raise
        self.index += 1
        e = Event(
            ev.COMPARE_AND_DELETE,
            NodeView(path, self.index, n.created_index),
            self.index,
            n.view(to_ns(now)),
        )
        self._remove(n, False, False, e)
        self.stats.inc(st.COMPARE_AND_DELETE[0])
        self.hub.notify(e)
        return e

    def expire(self, now: float) -> list[Event]:
        """Remove every node whose expire time is at or before `now`, soonest first, each
        removal an `expire` event with its own index."""
        return self._expire(to_ns(now), to_ns(now))

    # ------------------------------------------------------------------------------ apply

    def apply(self, req: Request, now: float) -> Event | None:
        """Carry out a request from the raft log, as etcd's apply_v2 does; None for SYNC.
        Raises EtcdError when the operation fails (the state is then unchanged)."""
        m = req.method
        if m == rq.PUT:
            if req.prev_exist is not None:
                if req.prev_exist:
                    if req.prev_index == 0 and req.prev_value == "":
                        return self.update(
                            req.path, req.value, req.expiration, req.refresh, now=now
                        )
                    return self.compare_and_swap(
                        req.path,
                        req.prev_value,
                        req.prev_index,
                        req.value,
                        req.expiration,
                        req.refresh,
                        now=now,
                    )
                return self.create(req.path, req.value, req.dir, req.expiration, now=now)
            if req.prev_index > 0 or req.prev_value != "":
                return self.compare_and_swap(
                    req.path,
                    req.prev_value,
                    req.prev_index,
                    req.value,
                    req.expiration,
                    req.refresh,
                    now=now,
                )
            return self.set(req.path, req.value, req.dir, req.expiration, req.refresh, now=now)
        if m == rq.POST:
            return self.create(req.path, req.value, req.dir, req.expiration, True, now=now)
        if m == rq.DELETE:
            if req.prev_index > 0 or req.prev_value != "":
                return self.compare_and_delete(req.path, req.prev_value, req.prev_index, now=now)
            return self.delete(req.path, req.dir, req.recursive, now=now)
        if m in (rq.QGET, rq.GET, rq.HEAD):
            return self.get(req.path, req.recursive, req.sorted, now=now)
        if m == rq.SYNC:
            # Expired nodes are shown as of the SYNC time, the same on every member.
            self._expire(req.time, req.time)
            return None
        # etcd answers an unknown method with its ErrUnknownMethod, wrapped as a 300.
        raise EtcdError(errors.RAFT_INTERNAL, "etcdserver: unknown method", 0)

    # --------------------------------------------------------------------------- snapshot

    def save(self) -> bytes:
        """The whole state (tree, index, stats, history; not the watchers) as bytes that
        `restore` reads back. The same state always gives the same bytes."""
        return snapshot.save(self.root, self.index, self.stats, self.hub.history)

    def restore(self, data: bytes) -> None:
        """Replace the state with a saved one. Registered watchers stay (as in etcd)."""
        root, index, stats, events = snapshot.load(data)
        self._ttl.clear()
        self.root = root
        self.index = index
        self.stats.load_list(stats)
        history = EventHistory(self.hub.history.capacity)
        for e in events:
            history.add(e)
        self.hub.history = history
        for n in snapshot.walk(root):
            if n.expire_ns is not None:
                self._ttl.push(n)

    @classmethod
    def from_snapshot(cls, data: bytes) -> Store:
        s = cls()
        s.restore(data)
        return s

    def hash(self) -> int:
        """A 64-bit digest of the key space and index (not stats or history), equal on members
        that applied the same log."""
        return snapshot.tree_hash(self.root, self.index)

    # --------------------------------------------------------------------------- internals

    def _node(self, path: str) -> Node:
        """The node at a clean path: 100 at the first missing segment (cause: the path up to
        it), 104 if a segment on the way is a file (cause: that file)."""
        n = self.root
        if path == "/":
            return n
        for name in path[1:].split("/"):
            children = n.children
            if children is None:
                raise EtcdError(errors.NOT_DIR, n.path, self.index)
            child = children.get(name)
            if child is None:
                missing = "/" + name if n.path == "/" else n.path + "/" + name
                raise EtcdError(errors.KEY_NOT_FOUND, missing, self.index)
            n = child
        return n

    def _create(
        self,
        path: str,
        dir: bool,
        value: str,
        unique: bool,
        replace: bool,
        expiration: int | None,
        action: str,
        now_ns: int,
    ) -> Event:
        cur = self.index
        nxt = cur + 1
        if unique:
            path += "/" + str(nxt).zfill(IN_ORDER_KEY_WIDTH)
        path = clean_path(path)
        if path in READ_ONLY_PATHS:
            raise EtcdError(errors.ROOT_READ_ONLY, "/", cur)
        # etcd: an expire time before 2000 means "no TTL" (times that went through JS).
        if expiration is not None and expiration < MIN_EXPIRE_NS:
            expiration = None
        slash = path.rfind("/")
        name = path[slash + 1 :]
        d = self._dirs_to(path, slash, nxt)
        children = d.children
        assert children is not None
        old = children.get(name)
        prev = None
        if old is not None:
            if not replace:
                raise EtcdError(errors.NODE_EXIST, path, cur)
            if old.children is not None:
                raise EtcdError(errors.NOT_FILE, path, cur)
            prev = old.view(now_ns)
            del children[name]
            self._ttl.remove(old)
        n = Node(path, name, nxt, d, expiration, "" if dir else value, dir)
        children[name] = n
        ttl = 0
        if expiration is not None:
            self._ttl.push(n)
            ttl = ttl_of(expiration, now_ns)
        self.index = nxt
        node = NodeView(path, nxt, nxt, None if dir else value, dir, expiration, ttl)
        return Event(action, node, nxt, prev)

    def _dirs_to(self, path: str, slash: int, index: int) -> Node:
        """The directory holding `path` (its last `/` at `slash`), creating missing ones with
        `index`; 104 if a file is in the way."""
        d = self.root
        if slash == 0:
            return d
        for name in path[1:slash].split("/"):
            children = d.children
            assert children is not None
            c = children.get(name)
            if c is None:
                c = Node(
                    d.path + "/" + name if d is not self.root else "/" + name,
                    name,
                    index,
                    d,
                    None,
                    "",
                    True,
                )
                children[name] = c
            elif c.children is None:
                # etcd: this failure also counts as a failed set, whatever the operation.
                self.stats.inc(st.SET[1])
                raise EtcdError(errors.NOT_DIR, c.path, self.index)
            d = c
        return d

    def _check(self, n: Node, prev_value: str, prev_index: int) -> None:
        which = n.compare(prev_value, prev_index)
        if which == COMPARE_MATCH:
            return
        if which == COMPARE_INDEX_NOT_MATCH:
            cause = f"[{prev_index} != {n.modified_index}]"
        elif which == COMPARE_VALUE_NOT_MATCH:
            cause = f"[{prev_value} != {n.value}]"
        else:
            cause = f"[{prev_value} != {n.value}] [{prev_index} != {n.modified_index}]"
        raise EtcdError(errors.TEST_FAILED, cause, self.index)

    def _update_ttl(self, n: Node, expiration: int | None) -> None:
        if n.expire_ns is not None:
            n.expire_ns = expiration
            if expiration is None:
                self._ttl.remove(n)
            else:
                self._ttl.update(n)
        elif expiration is not None:
            n.expire_ns = expiration
            self._ttl.push(n)

    def _remove(self, n: Node, dir: bool, recursive: bool, e: Event) -> None:
        """Detach `n` (and its subtree), dropping TTLs and telling watchers of each removed
        path. Checks first, so a refusal changes nothing."""
        children = n.children
        if children is not None:
            if not dir:
                raise EtcdError(errors.NOT_FILE, n.path, self.index)
            if children and not recursive:
                raise EtcdError(errors.DIR_NOT_EMPTY, n.path, self.index)
        parent = n.parent
        assert parent is not None and parent.children is not None
        del parent.children[n.name]
        n.parent = None
        if not children:
            self._removed(n, e)
            return
        if not self._ttl and not self.hub.count:
            return  # nothing below needs to hear about it
        # Post-order (children before their directory), as etcd's recursive Remove.
        stack: list[tuple[Node, bool]] = [(n, False)]
        while stack:
            node, expanded = stack.pop()
            if node.children and not expanded:
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(node.children.values()))
                continue
            self._removed(node, e)

    def _removed(self, n: Node, e: Event) -> None:
        if n.ttl_entry is not None:
            self._ttl.remove(n)
        if self.hub.count:
            self.hub.notify_watchers(e, n.path, True)

    def _expire(self, cutoff_ns: int, now_ns: int) -> list[Event]:
        out: list[Event] = []
        while True:
            n = self._ttl.top()
            if n is None or n.expire_ns is None or n.expire_ns > cutoff_ns:
                return out
            self.index += 1
            is_dir = n.children is not None
            e = Event(
                ev.EXPIRE,
                NodeView(n.path, self.index, n.created_index, None, is_dir),
                self.index,
                n.view(now_ns),
            )
            self._remove(n, True, True, e)
            self.stats.inc("expireCount")
            self.hub.notify(e)
            out.append(e)

    def _count_failure(self, counters: tuple[str, str], err: EtcdError) -> None:
        ok = (counters, err.code) in _COUNTED_AS_SUCCESS
        self.stats.inc(counters[0] if ok else counters[1])

    def _publish(self, e: Event, refresh: bool) -> None:
        if refresh:
            # etcd: a refresh takes an index and a history slot but notifies nobody.
            e.refresh = True
            self.hub.add(e)
        else:
            self.hub.notify(e)
