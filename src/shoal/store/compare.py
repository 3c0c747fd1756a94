"""The condition of compareAndSwap and compareAndDelete (etcd v2store's Compare and the
"Compare failed" error it raises).

A condition is a `prevValue` and a `prevIndex`; an empty value or a zero index always holds. It
applies to files only: a directory fails with 102 before anything is compared.
"""

from __future__ import annotations

from shoal.store import errors
from shoal.store.errors import EtcdError
from shoal.store.node import Node

# Results of `compare` (etcd's Compare* constants).
COMPARE_MATCH = 0
COMPARE_INDEX_NOT_MATCH = 1
COMPARE_VALUE_NOT_MATCH = 2
COMPARE_NOT_MATCH = 3


def compare(n: Node, prev_value: str, prev_index: int) -> int:
    """etcd's Compare: which half of the condition `n` fails, if any."""
    index_ok = prev_index == 0 or n.modified_index == prev_index
    value_ok = prev_value == "" or n.value == prev_value
    if index_ok:
        return COMPARE_MATCH if value_ok else COMPARE_VALUE_NOT_MATCH
    return COMPARE_INDEX_NOT_MATCH if value_ok else COMPARE_NOT_MATCH


def require_match(n: Node, path: str, prev_value: str, prev_index: int, index: int) -> None:
    """Raise unless `n` is a file meeting the condition: 102 for a directory, else 101 with
    etcd's cause (`[want != have]` for each half that fails). `index` is the store index."""
    if n.children is not None:
        raise EtcdError(errors.NOT_FILE, path, index)
    which = compare(n, prev_value, prev_index)
    if which == COMPARE_MATCH:
        return
    if which == COMPARE_INDEX_NOT_MATCH:
        cause = f"[{prev_index} != {n.modified_index}]"
    elif which == COMPARE_VALUE_NOT_MATCH:
        cause = f"[{prev_value} != {n.value}]"
    else:
        cause = f"[{prev_value} != {n.value}] [{prev_index} != {n.modified_index}]"
    raise EtcdError(errors.TEST_FAILED, cause, index)
