"""fleetctl's command line: flags before or after the command, and from FLEETCTL_* variables."""

from __future__ import annotations

import pytest

from shoal.fleetctl.flags import UsageError, parse_args


def test_fleetctl_flags_anywhere_and_from_environment() -> None:
    inv = parse_args(
        ["list-machines", "-l", "--no-legend"], env={"FLEETCTL_ENDPOINT": "http://x:1"}
    )
    assert inv.command == "list-machines" and inv.get("full") and inv.get("no-legend")
    assert inv.get("endpoint") == "http://x:1"
    inv = parse_args(["--endpoint", "unix:///s", "start", "--block-attempts=3", "a"], env={})
    assert (inv.get("endpoint"), inv.get("block-attempts"), inv.args) == ("unix:///s", 3, ["a"])
    with pytest.raises(UsageError, match="unknown flag: --bogus"):
        parse_args(["list-units", "--bogus"], env={})
