"""Operation counters served at `/v2/stats/store` (etcd's v2store Stats), in etcd's field
order. Counted on every member as it applies, so only the member's own view."""

from __future__ import annotations

import json

from shoal.store import errors

# JSON names in the order etcd's Stats struct declares them.
FIELDS = (
    "getsSuccess",
    "getsFail",
    "setsSuccess",
    "setsFail",
    "deleteSuccess",
    "deleteFail",
    "updateSuccess",
    "updateFail",
    "createSuccess",
    "createFail",
    "compareAndSwapSuccess",
    "compareAndSwapFail",
    "compareAndDeleteSuccess",
    "compareAndDeleteFail",
    "expireCount",
)

# Counter name per operation: (on success, on failure).
GET = ("getsSuccess", "getsFail")
SET = ("setsSuccess", "setsFail")
DELETE = ("deleteSuccess", "deleteFail")
UPDATE = ("updateSuccess", "updateFail")
CREATE = ("createSuccess", "createFail")
COMPARE_AND_SWAP = ("compareAndSwapSuccess", "compareAndSwapFail")
COMPARE_AND_DELETE = ("compareAndDeleteSuccess", "compareAndDeleteFail")

# etcd: some failures are counted as successes in /v2/stats/store, because etcd's deferred
# counter only sees errors assigned to its `err` variable. (operation counters, code) pairs.
_COUNTED_AS_SUCCESS = frozenset(
    (
        (COMPARE_AND_SWAP, errors.ROOT_READ_ONLY),
        (DELETE, errors.ROOT_READ_ONLY),
        (UPDATE, errors.ROOT_READ_ONLY),
        (UPDATE, errors.NOT_FILE),
        (COMPARE_AND_DELETE, errors.NOT_FILE),
        (COMPARE_AND_DELETE, errors.TEST_FAILED),
    )
)


class Stats:
    """`counts` travel with snapshots (etcd saves its Stats in them); `seen` and
    `recursive_gets` are this process's own, for the etcd_debugging_store_* metrics, which
    start from zero with the process and only grow."""

    __slots__ = ("counts", "recursive_gets", "seen")

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(FIELDS, 0)
        self.seen: dict[str, int] = dict.fromkeys(FIELDS, 0)
        self.recursive_gets = 0

    def inc(self, name: str) -> None:
        self.counts[name] += 1
        self.seen[name] += 1

    def fail(self, counters: tuple[str, str], code: int) -> None:
        """Count an operation (`counters`: one of the pairs above) that failed with `code`."""
        ok = (counters, code) in _COUNTED_AS_SUCCESS
        name = counters[0] if ok else counters[1]
        self.counts[name] += 1
        self.seen[name] += 1

    def to_list(self) -> list[int]:
        return [self.counts[f] for f in FIELDS]

    def load_list(self, values: list[int]) -> None:
        self.counts = dict(zip(FIELDS, values, strict=True))

    def to_json(self, watchers: int) -> bytes:
        """The `/v2/stats/store` body (no trailing newline, as etcd writes it)."""
        body = dict(self.counts)
        body["watchers"] = watchers
        return json.dumps(body, separators=(",", ":")).encode()
