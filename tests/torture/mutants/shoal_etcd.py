"""`shoal etcd` with a planted bug, for the tests of `shoal torture` (never shipped).

    SHOAL_TEST_BUG=<bug> python tests/torture/mutants/shoal_etcd.py [etcd flags]

patches the member before `shoal etcd`'s main runs, so the member under test is the production
code plus exactly one known fault, and torture must report it. Bugs:

- local-quorum-reads: a quorum GET is answered from the member's local store without ReadIndex
  (the stale reads etcd 0.4 had): a leader cut off by a partition keeps serving old values.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from shoal.etcd import cli
from shoal.etcd.member import Member
from shoal.store import Event, Request
from shoal.store import request as rq

BUG_ENV = "SHOAL_TEST_BUG"


def plant_local_quorum_reads() -> None:
    honest = Member.do

    async def do(self: Member, req: Request) -> Event:
        if req.method == rq.QGET:
            return self.store.get(req.path, req.recursive, req.sorted, now=time.time())
        return await honest(self, req)

    Member.do = do  # type: ignore[method-assign]


MUTANTS: dict[str, Callable[[], None]] = {"local-quorum-reads": plant_local_quorum_reads}


def main(argv: list[str]) -> int:
    bug = os.environ.get(BUG_ENV, "")
    if bug not in MUTANTS:
        known = ", ".join(MUTANTS)
        sys.stderr.write(f"{BUG_ENV}={bug!r}: no such planted bug (known: {known})\n")
        return 2
    MUTANTS[bug]()
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
