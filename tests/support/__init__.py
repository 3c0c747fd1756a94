"""What every test folder shares: waiting on a condition, loopback ports, launching processes that
are always reaped, and a real etcd 3.4 to compare with.

- `support.wait`: `wait_until` (and its awaitable twin) polls a condition with a generous deadline
  and fails saying what it waited for.
- `support.ports`: free loopback ports and subnets.
- `support.procs`: `Procs`, the one launcher: processes on loopback with their logs in a folder,
  stopped, killed and reaped however the test ends; their logs are shown when a test fails.
- `support.etcd`: the flags of an etcd member, the real etcd at /usr/bin/etcd (skipped with a
  reason when absent), and `shoal etcd` started with the same flags.
- `support.cluster`: a swappable three-member cluster (real etcd or shoal etcd) for the client
  and etcdctl tests (import it from there: it is not re-exported here).

tests/conftest.py puts tests/ on sys.path, so a test imports `from support import ...` from any
folder.
"""

from support.etcd import (
    ETCD,
    ETCDCTL,
    HAVE_ETCD,
    HAVE_ETCDCTL,
    SHOAL,
    SHOAL_ETCD,
    SKIP_REASON,
    EtcdMember,
    etcd_command,
    etcd_healthy,
    etcd_ready,
    real_etcd,
    require_etcd,
    start_etcd,
)
from support.ports import free_port, free_subnet, loopback_net
from support.procs import Procs, stop_process
from support.wait import DEFAULT_TIMEOUT, wait_until, wait_until_async

__all__ = [
    "DEFAULT_TIMEOUT",
    "ETCD",
    "ETCDCTL",
    "HAVE_ETCD",
    "HAVE_ETCDCTL",
    "SHOAL",
    "SHOAL_ETCD",
    "SKIP_REASON",
    "EtcdMember",
    "Procs",
    "etcd_command",
    "etcd_healthy",
    "etcd_ready",
    "free_port",
    "free_subnet",
    "loopback_net",
    "real_etcd",
    "require_etcd",
    "start_etcd",
    "stop_process",
    "wait_until",
    "wait_until_async",
]
