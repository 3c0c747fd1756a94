"""`shoal etcd` with a planted bug, for the tests of `shoal torture` (never shipped).

    SHOAL_TEST_BUG=<bug> python tests/torture/mutants/shoal_etcd.py [etcd flags]

patches the member before `shoal etcd`'s main runs, so the member under test is the production
code plus exactly one known fault, and torture must report it. Bugs:

- local-quorum-reads: a quorum GET is answered from the member's local store without ReadIndex
  (the stale reads etcd 0.4 had): a leader cut off by a partition keeps serving old values.
- no-wal-sync: the WAL's fdatasync does nothing after the first three, so writes are
  acknowledged before they are on disk (a power cut of every member loses them).
- no-dir-fsync: directories are never fsynced after a create or rename (a power cut takes the
  member's new files, even its whole `member/` directory, away).
- ignore-fsync-errors: a failed fdatasync is ignored and the member carries on (Postgres's
  "fsyncgate"): it keeps acknowledging writes a failing disk may never have stored.
- every-member-syncs: every member, not only the leader, proposes its clock to expire TTL keys
  (etcd lets only the leader): a follower whose clock runs ahead expires keys early.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable

import shoal.wal.snap
import shoal.wal.storage
import shoal.wal.wal
from shoal.etcd import cli
from shoal.etcd import member as member_mod
from shoal.etcd.member import Member
from shoal.raft.errors import ProposalDroppedError
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


def plant_no_wal_sync() -> None:
    honest = shoal.wal.wal.datasync
    calls = [0]

    def datasync(fd: int) -> None:
        # The first few (the bootstrap entries, the first election) are synced, so the cluster
        # still knows its members after a power cut and the run shows lost writes quickly.
        calls[0] += 1
        if calls[0] <= 3:
            honest(fd)

    shoal.wal.wal.datasync = datasync


def plant_no_dir_fsync() -> None:
    for mod in (shoal.wal.wal, shoal.wal.snap, shoal.wal.storage):
        mod.fsync_dir = lambda path: None  # type: ignore[attr-defined]
    shoal.wal.files.fsync_dir = lambda path: None  # makedirs_durable calls it by this name


def plant_ignore_fsync_errors() -> None:
    honest = shoal.wal.wal.datasync

    def datasync(fd: int) -> None:
        with contextlib.suppress(OSError):
            honest(fd)

    shoal.wal.wal.datasync = datasync


def plant_every_member_syncs() -> None:
    async def _sync_loop(self: Member) -> None:
        while True:
            await asyncio.sleep(member_mod.SYNC_INTERVAL)
            if not self.store.has_ttl_keys():
                continue
            with contextlib.suppress(ProposalDroppedError):
                self.node.propose(Request.sync(time.time()).encode())

    Member._sync_loop = _sync_loop  # type: ignore[method-assign]


MUTANTS: dict[str, Callable[[], None]] = {
    "local-quorum-reads": plant_local_quorum_reads,
    "no-wal-sync": plant_no_wal_sync,
    "no-dir-fsync": plant_no_dir_fsync,
    "ignore-fsync-errors": plant_ignore_fsync_errors,
    "every-member-syncs": plant_every_member_syncs,
}


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
