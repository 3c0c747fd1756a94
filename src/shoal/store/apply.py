"""Which store operation a v2 request from the raft log is (etcd release-3.4 `apply_v2.go`).

A PUT is an update, a compare-and-swap, a create or a set depending on `prevExist`, `prevIndex`
and `prevValue`; a DELETE with a condition is a compare-and-delete; a quorum GET is a GET applied
in log order; SYNC expires keys with the leader's clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shoal.store import errors
from shoal.store import request as rq
from shoal.store.errors import EtcdError
from shoal.store.event import Event
from shoal.store.request import Request

if TYPE_CHECKING:
    from shoal.store.store import Store


def apply_request(store: Store, req: Request, now: float) -> Event | None:
    """Carry out `req` on `store`; None for SYNC. Raises EtcdError when the operation fails
    (the state is then unchanged)."""
    m = req.method
    if m == rq.PUT:
        if req.prev_exist is not None:
            if req.prev_exist:
                if req.prev_index == 0 and req.prev_value == "":
                    return store.update(req.path, req.value, req.expiration, req.refresh, now=now)
                return _compare_and_swap(store, req, now)
            return store.create(req.path, req.value, req.dir, req.expiration, now=now)
        if req.prev_index > 0 or req.prev_value != "":
            return _compare_and_swap(store, req, now)
        return store.set(req.path, req.value, req.dir, req.expiration, req.refresh, now=now)
    if m == rq.POST:
        return store.create(req.path, req.value, req.dir, req.expiration, True, now=now)
    if m == rq.DELETE:
        if req.prev_index > 0 or req.prev_value != "":
            return store.compare_and_delete(req.path, req.prev_value, req.prev_index, now=now)
        return store.delete(req.path, req.dir, req.recursive, now=now)
    if m in (rq.QGET, rq.GET, rq.HEAD):
        return store.get(req.path, req.recursive, req.sorted, now=now)
    if m == rq.SYNC:
        store.sync(req.time)
        return None
    # etcd answers an unknown method with its ErrUnknownMethod, wrapped as a 300.
    raise EtcdError(errors.RAFT_INTERNAL, "etcdserver: unknown method", 0)


def _compare_and_swap(store: Store, req: Request, now: float) -> Event:
    return store.compare_and_swap(
        req.path,
        req.prev_value,
        req.prev_index,
        req.value,
        req.expiration,
        req.refresh,
        now=now,
    )
