"""etcdctl's --ca-file/--cert-file/--key-file problems, side by side: a missing file and a key
of another certificate print Go's words and exit as etcdctl does."""

from __future__ import annotations

from pathlib import Path

import pytest
from side_by_side import run_real, run_shoal, same

from shoal.tls.certs import CertAuthority


@pytest.mark.parametrize("case", ["missing CA", "key of another certificate"])
def test_bad_tls_files_fail_as_etcdctl_fails(tmp_path: Path, case: str) -> None:
    ca = CertAuthority.create(str(tmp_path), "test CA")
    cert, _ = ca.issue(str(tmp_path), "a", "a", ["127.0.0.1"])
    _, other_key = ca.issue(str(tmp_path), "b", "b", ["127.0.0.1"])
    flags = {
        "missing CA": ["--ca-file", str(tmp_path / "nope.pem")],
        "key of another certificate": ["--cert-file", cert, "--key-file", other_key],
    }[case]
    args = ["--endpoints", "https://127.0.0.1:1", *flags, "ls", "/"]
    same(run_real(args), run_shoal(args))
