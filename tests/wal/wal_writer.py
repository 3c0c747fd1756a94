"""A child process for the kill -9 test: appends batches forever, printing each acknowledged index.

    python wal_writer.py DATA_DIR SEED

Entry i carries b"v<i>" so the parent can check contents, and a snapshot is taken every ~200
entries (file, marker, release, purge) so kills also land inside snapshots, cuts and purges.
"""

from __future__ import annotations

import random
import sys

from shoal.raft.types import ConfState, Entry, HardState, Snapshot, SnapshotMeta
from shoal.wal import DiskStorage


def main() -> None:
    data_dir, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    st = DiskStorage(data_dir, segment_size=8192, max_snapshots=2, max_wals=2)
    if st.exists():
        _, snap, _, ents = st.load()
        last = ents[-1].index if ents else (snap.meta.index if snap else 0)
    else:
        st.bootstrap(b"writer")
        last = 0
    next_snap = last + 200
    while True:
        n = rng.randint(1, 40)
        batch = [Entry(1, i, data=b"v%d" % i) for i in range(last + 1, last + n + 1)]
        st.save(HardState(1, 1, last), batch)
        last += n
        print(last, flush=True)
        if last >= next_snap:
            st.save_snapshot(Snapshot(SnapshotMeta(last, 1, ConfState((1,))), b"s%d" % last))
            next_snap = last + 200


if __name__ == "__main__":
    main()
