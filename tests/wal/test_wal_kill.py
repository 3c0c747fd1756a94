"""kill -9 at random moments while writing: every acknowledged entry is there after restart."""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from pathlib import Path

from shoal.wal import DiskStorage
from support import Procs

WRITER = os.path.join(os.path.dirname(__file__), "wal_writer.py")


def test_kill_9_during_writes_loses_nothing_acknowledged(tmp_path: Path) -> None:
    rng = random.Random(20261125)
    data_dir = str(tmp_path / "data")
    acked = 0
    for round_no in range(8):
        with Procs(tmp_path / "procs") as procs:
            name = f"writer{round_no}"
            proc = procs.start(
                name, [sys.executable, WRITER, data_dir, str(round_no)], stdout="pipe"
            )
            assert proc.stdout is not None
            deadline = time.monotonic() + 60
            for _ in range(rng.randint(5, 120)):
                line = proc.stdout.readline()
                assert line, procs.log(name) or "writer died"
                acked = int(line)
                assert time.monotonic() < deadline
            time.sleep(rng.random() * 0.003)  # land the kill anywhere inside the next save
            proc.send_signal(signal.SIGKILL)
        # Out of the block the writer is reaped: nothing writes while the WAL is read back.
        st = DiskStorage(data_dir, segment_size=8192, max_snapshots=2, max_wals=2)
        try:
            _, snap, _, ents = st.load()
        finally:
            st.close()
        first = snap.meta.index + 1 if snap is not None else 1
        if snap is not None:
            assert snap.data == b"s%d" % snap.meta.index
        assert [e.index for e in ents] == list(range(first, first + len(ents)))
        assert all(e.data == b"v%d" % e.index for e in ents)
        last = ents[-1].index if ents else first - 1
        assert last >= acked, f"round {round_no}: acknowledged {acked}, recovered {last}"
