"""The etcd v2 key tree as a deterministic state machine (etcd release-3.4 v2store).

Applied on every member from the raft log, so everything that changes state depends only on
the arguments: no clock, no I/O, no randomness. `now` (unix seconds) only decides the `ttl`
shown in returned events; what expires, and when, comes from SYNC requests in the log.

Paths are store paths: user keys live under `/1` and membership under `/0`, as in etcd (so
indexes, history and errors come out exactly as etcd's); `paths.keys_path()` maps a
`/v2/keys` URL tail to its store path and the JSON encoders strip `/1` again.

Quirks copied from etcd on purpose are marked "etcd:" where they happen. The tree's shape
(lookup, parent directories, detaching) is `tree.py`'s, the compare-and-swap condition
`compare.py`'s, which operation a logged request is `apply.py`'s; this module keeps the index,
TTLs, watchers and stats in step with each operation.
"""

from __future__ import annotations

from shoal.store import errors, snapshot, tree
from shoal.store import event as ev
from shoal.store import stats as st
from shoal.store.apply import apply_request
from shoal.store.compare import require_match
from shoal.store.constants import IN_ORDER_KEY_WIDTH, MIN_EXPIRE_NS, READ_ONLY_PATHS
from shoal.store.errors import EtcdError
from shoal.store.event import Event, NodeView
from shoal.store.history import EventHistory
from shoal.store.node import Node, ttl_of
from shoal.store.paths import clean_path
from shoal.store.request import Request, to_ns
from shoal.store.stats import Stats
from shoal.store.ttl import TTLHeap
from shoal.store.watch import Watcher, WatcherHub


def _expire_or_none(expiration: int | None) -> int | None:
    # etcd: a zero expiration means "no TTL".
    return expiration or None


class Store:
    """The key space. `index` is the store index: it grows by one with every successful write
    and every expiry, and events carry it."""

    def __init__(self) -> None:
        self.index = 0
        self.root = tree.new_root()
        self.hub = WatcherHub()
        self.stats = Stats()
        self._ttl = TTLHeap()

    # ----------------------------------------------------------------------------- reads

    def get(self, path: str, recursive: bool = False, sort: bool = False, *, now: float) -> Event:
        """The node at `path`; a directory with its visible children (their subtrees too with
        `recursive`), sorted by key with `sort`."""
        if recursive:
            self.stats.recursive_gets += 1
        try:
            n = self._node(clean_path(path))
        except EtcdError as err:
            self.stats.fail(st.GET, err.code)
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
        except EtcdError as err:
            self.stats.fail(st.SET, err.code)
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
        except EtcdError as err:
            self.stats.fail(st.CREATE, err.code)
            raise
        self.stats.inc(st.CREATE[0])
        self._publish(e, False)
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
        path = clean_path(path)
        try:
            self._check_writable(path)
            n = self._node(path)
            if n.children is not None and value:
                raise EtcdError(errors.NOT_FILE, path, self.index)
        except EtcdError as err:
            self.stats.fail(st.UPDATE, err.code)
            raise
        return self._rewrite(n, path, value, expiration, refresh, ev.UPDATE, to_ns(now))

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
        path = clean_path(path)
        try:
            self._check_writable(path)
            n = self._node(path)
            require_match(n, path, prev_value, prev_index, self.index)
        except EtcdError as err:
            self.stats.fail(st.COMPARE_AND_SWAP, err.code)
            raise
        return self._rewrite(n, path, value, expiration, refresh, ev.COMPARE_AND_SWAP, to_ns(now))

    def delete(self, path: str, dir: bool = False, recursive: bool = False, *, now: float) -> Event:
        """Remove a file, an empty directory (`dir`), or a directory and everything below it
        (`recursive`, which implies `dir`)."""
        path = clean_path(path)
        try:
            self._check_writable(path)
            n = self._node(path)
            return self._take_out(n, path, dir or recursive, recursive, ev.DELETE, to_ns(now))
        except EtcdError as err:
            self.stats.fail(st.DELETE, err.code)
            raise

    def compare_and_delete(
        self, path: str, prev_value: str = "", prev_index: int = 0, *, now: float
    ) -> Event:
        """Remove a file if its value and modifiedIndex match (as compare_and_swap)."""
        path = clean_path(path)
        # etcd: no read-only check here; `/1` fails below as a directory (102).
        try:
            n = self._node(path)
            require_match(n, path, prev_value, prev_index, self.index)
        except EtcdError as err:
            self.stats.fail(st.COMPARE_AND_DELETE, err.code)
            raise
        return self._take_out(n, path, False, False, ev.COMPARE_AND_DELETE, to_ns(now))

    def expire(self, now: float) -> list[Event]:
        """Remove every node whose expire time is at or before `now`, soonest first, each
        removal an `expire` event with its own index."""
        return self._expire(to_ns(now), to_ns(now))

    def sync(self, time_ns: int) -> None:
        """Apply a SYNC from the log: expire with the leader's clock, and show the expired
        nodes as of that time, so every member produces the same events."""
        self._expire(time_ns, time_ns)

    # ------------------------------------------------------------------------------ apply

    def apply(self, req: Request, now: float) -> Event | None:
        """Carry out a request from the raft log, as etcd's apply_v2 does; None for SYNC.
        Raises EtcdError when the operation fails (the state is then unchanged)."""
        return apply_request(self, req, now)

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
        return tree.lookup(self.root, path, self.index)

    def _check_writable(self, path: str) -> None:
        if path in READ_ONLY_PATHS:
            raise EtcdError(errors.ROOT_READ_ONLY, "/", self.index)

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
        self._check_writable(path)
        # etcd: an expire time before 2000 means "no TTL" (times that went through JS).
        if expiration is not None and expiration < MIN_EXPIRE_NS:
            expiration = None
        slash = path.rfind("/")
        name = path[slash + 1 :]
        try:
            d = tree.dirs_to(self.root, path, slash, nxt, cur)
        except EtcdError:
            # etcd: this failure also counts as a failed set, whatever the operation.
            self.stats.inc(st.SET[1])
            raise
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

    def _rewrite(
        self,
        n: Node,
        path: str,
        value: str,
        expiration: int | None,
        refresh: bool,
        action: str,
        now_ns: int,
    ) -> Event:
        """Give existing node `n` a new value and expire time, as event `action` (update or
        compareAndSwap) taking the next index; with `refresh` only the expire time changes and
        no watcher is told."""
        if refresh:
            value = n.value
        nxt = self.index + 1
        prev = n.view(now_ns)
        is_dir = n.children is not None
        # etcd: writing a directory fails silently, so its modifiedIndex stays put.
        if not is_dir:
            n.value = value
            n.modified_index = nxt
        self._ttl.set_expiry(n, _expire_or_none(expiration))
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
        e = Event(action, node, nxt, prev)
        self.index = nxt
        self.stats.inc(_SUCCESS[action])
        self._publish(e, refresh)
        return e

    def _take_out(
        self, n: Node, path: str, dir: bool, recursive: bool, action: str, now_ns: int
    ) -> Event:
        """Remove `n` (see `tree.detach` for `dir` and `recursive`) as event `action` taking
        the next index, dropping TTLs and telling watchers of each removed path."""
        nxt = self.index + 1
        e = Event(
            action,
            NodeView(path, nxt, n.created_index, None, n.children is not None),
            nxt,
            n.view(now_ns),
        )
        tree.detach(n, dir, recursive, self.index)
        if not n.children:
            self._removed(n, e)
        elif self._ttl or self.hub.count:  # else nothing below needs to hear about it
            for node in tree.post_order(n):
                self._removed(node, e)
        self.index = nxt
        self.stats.inc(_SUCCESS[action])
        self.hub.notify(e)
        return e

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
            out.append(self._take_out(n, n.path, True, True, ev.EXPIRE, now_ns))

    def _publish(self, e: Event, refresh: bool) -> None:
        if refresh:
            # etcd: a refresh takes an index and a history slot but notifies nobody.
            e.refresh = True
            self.hub.add(e)
        else:
            self.hub.notify(e)


# The counter an operation's success bumps, by its event's action.
_SUCCESS = {
    ev.UPDATE: st.UPDATE[0],
    ev.COMPARE_AND_SWAP: st.COMPARE_AND_SWAP[0],
    ev.DELETE: st.DELETE[0],
    ev.COMPARE_AND_DELETE: st.COMPARE_AND_DELETE[0],
    ev.EXPIRE: "expireCount",
}
