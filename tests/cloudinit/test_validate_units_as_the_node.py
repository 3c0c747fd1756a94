"""`shoal cloudinit --validate` applies the checks the node applies to a unit when it loads it
(issue 19, row 15): a service the node would refuse is an error at validate time, and a
directive systemd does not know gets systemd's "Unknown lvalue" warning, at the cloud-config's
own line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONFIG = """#cloud-config
coreos:
  units:
  - name: noexec.service
    command: start
    content: |
      [Unit]
      Description=no exec
      [Service]
      Type=simple
  - name: frob.service
    command: start
    content: |
      [Service]
      ExecStart=/bin/true
      Frobnicate=yes
      LimitNOFILE=4096
      Environment=A=1
  - name: fixed.service
    command: start
    content: |
      [Service]
      Type=simple
    drop_ins:
    - name: 10-exec.conf
      content: |
        [Service]
        ExecStart=/bin/true
"""


def validate(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    f = tmp_path / "user-data"
    f.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "shoal.cli", "cloudinit", "--validate", "--from-file", str(f)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_validate_reports_what_the_node_would_refuse_and_systemd_would_ignore(
    tmp_path: Path,
) -> None:
    r = validate(tmp_path, CONFIG)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "line 8: error: noexec.service: service has no ExecStart= and no ExecStop=; refusing",
        "line 16: warning: frob.service: Unknown lvalue 'Frobnicate' in section 'Service'",
    ], r.stderr


def test_a_valid_unit_validates_clean(tmp_path: Path) -> None:
    ok = "#cloud-config\ncoreos:\n  units:\n  - name: a.service\n    content: |\n" \
         "      [Service]\n      ExecStart=/bin/true\n"  # fmt: skip
    r = validate(tmp_path, ok)
    assert (r.returncode, r.stderr) == (0, "")
