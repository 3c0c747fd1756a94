"""`shoal bench` end to end with tiny durations: the table and the JSON a user gets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shoal.bench.loadgen import run_load
from shoal.bench.runner import _get
from shoal.bench.trivial import TrivialServer

ETCD = "/usr/bin/etcd"


def test_load_generator_against_trivial_server() -> None:
    with TrivialServer() as srv:
        res = run_load(
            "127.0.0.1", [srv.port], 8, _get(f"127.0.0.1:{srv.port}", False), 0.5, 0.2, 2
        )
    assert res.errors == 0, res.first_error
    assert res.ops > 100
    assert len(res.latencies) == res.ops


def test_unknown_row_is_refused() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "shoal.cli", "bench", "--rows", "put1,nope"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2
    assert "unknown rows nope" in r.stderr


@pytest.mark.skipif(not os.path.exists(ETCD), reason=f"{ETCD} (etcd 3.4) is not installed")
@pytest.mark.timeout(240)
def test_bench_prints_table_with_ratios_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "shoal.cli",
            "bench",
            "--duration",
            "0.3",
            "--warmup",
            "0.1",
            "--rows",
            "put1,qget64,watch,cli",
            "--watchers",
            "20",
            "--watch-rounds",
            "2",
            "--no-ceiling",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=220,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    header = next(line for line in lines if line.startswith("row"))
    assert "etcd" in header and "ratio" in header
    for row in ("put1", "qget64", "watch", "cli"):
        assert any(line.startswith(row + " ") for line in lines), r.stdout
    data = json.loads(out.read_text())
    for row in ("put1", "qget64", "watch", "cli"):
        d = data["rows"][row]
        assert d["shoal"]["value"] > 0 and d["etcd"]["value"] > 0
        assert d["shoal"]["errors"] == 0, d["shoal"]["note"]
        assert d["ratio"] > 0
    assert data["rows"]["put1"]["target"].startswith("p50 <=2.0x")
    assert data["rows"]["cli"]["target"].startswith("value <=3.0x")
