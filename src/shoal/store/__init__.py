"""The etcd v2 key tree as a deterministic state machine: `Store.apply(request, now)`.

Public surface (see each module for details):
  Store          the key space: get/set/create/update/compare_and_swap/delete/
                 compare_and_delete/create_in_order/refresh/expire/sync/watch/apply/save/
                 restore/hash
  Request        a v2 request as it goes through the raft log (encode/decode)
  Event          an operation's result; `to_json()` is etcd's response body
  EtcdError      a v2 error; `to_json()` and `status` are etcd's body and HTTP status
  Watcher        a watch: pop() events, set_wakeup(callback), done, remove()
  keys_path      `/v2/keys` URL tail -> store path (user keys live under `/1`, as in etcd)
"""

from shoal.store.errors import EtcdError
from shoal.store.event import Event, NodeView
from shoal.store.paths import keys_path
from shoal.store.request import Request, expiration_for_ttl
from shoal.store.store import Store
from shoal.store.watch import Watcher

__all__ = [
    "EtcdError",
    "Event",
    "NodeView",
    "Request",
    "Store",
    "Watcher",
    "expiration_for_ttl",
    "keys_path",
]
