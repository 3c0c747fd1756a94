"""A member whose log is damaged before its end refuses to start with one line naming the file,
the byte offset and what to do, as etcd's "read wal error (...) and cannot be repaired" does;
a torn tail is repaired instead (tests/wal covers which is which)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import msgpack
import pytest

from shoal.raft.types import Entry, HardState
from shoal.wal.files import read_written
from shoal.wal.record import last_nonzero
from shoal.wal.storage import DiskStorage
from support.ports import free_port

pytestmark = pytest.mark.timeout(120)


def test_a_flipped_bit_mid_log_is_refused_naming_file_and_offset(tmp_path: Path) -> None:
    data = tmp_path / "d"
    disk = DiskStorage(str(data))
    disk.bootstrap(msgpack.packb([1, 2]))
    for i in range(1, 60):
        disk.save(HardState(1, 1, i), [Entry(1, i, data=b"value %d" % i)])
    disk.close()
    seg = next((data / "member" / "wal").glob("*.wal"))
    raw, _ = read_written(str(seg))
    pos = (last_nonzero(raw) + 1) // 2
    with open(seg, "r+b") as f:
        f.seek(pos)
        f.write(bytes([raw[pos] ^ 0x10]))
    before = seg.read_bytes()
    peer, client = free_port(), free_port()
    r = subprocess.run(
        [sys.executable, "-m", "shoal.cli", "etcd", "--data-dir", str(data),
         "--listen-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-cluster", f"default=http://127.0.0.1:{peer}",
         "--listen-client-urls", f"http://127.0.0.1:{client}",
         "--advertise-client-urls", f"http://127.0.0.1:{client}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "unexpected error" not in r.stderr, r.stderr
    fatal = [ln for ln in r.stderr.splitlines() if " C | " in ln]
    assert len(fatal) == 1, r.stderr
    m = re.search(r"read wal error \(wal: [a-z ]+ in (\S+) at byte offset (\d+):", fatal[0])
    assert m, fatal[0]
    assert m.group(1) == str(seg) and int(m.group(2)) <= pos
    assert "etcdctl member remove" in fatal[0] and "cannot be repaired" in fatal[0]
    assert seg.read_bytes() == before  # nothing "repaired" away
