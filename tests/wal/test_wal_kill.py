"""kill -9 at random moments while writing: every acknowledged entry is there after restart."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from shoal.wal import DiskStorage

WRITER = os.path.join(os.path.dirname(__file__), "wal_writer.py")


def test_kill_9_during_writes_loses_nothing_acknowledged(tmp_path: Path) -> None:
    rng = random.Random(20261125)
    data_dir = str(tmp_path / "data")
    acked = 0
    for round_no in range(8):
        proc = subprocess.Popen(
            [sys.executable, WRITER, data_dir, str(round_no)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            deadline = time.monotonic() + 60
            for _ in range(rng.randint(5, 120)):
                line = proc.stdout.readline()
                assert line, proc.stderr.read() if proc.stderr else "writer died"
                acked = int(line)
                assert time.monotonic() < deadline
            time.sleep(rng.random() * 0.003)  # land the kill anywhere inside the next save
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(timeout=30)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
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
