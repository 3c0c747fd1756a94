"""`fleetctl stop global.service` prints what fleetctl v1.0.0 prints (issue 19, row 17): the
global unit is "Triggered", and the summary names the non-global units it waited for, none here,
so `Successfully stopped units [].` (both formats are in the v1.0.0 binary, and its stop prints
the summary unconditionally). A stub API stands in for fleetd."""

from __future__ import annotations

import io

from test_fleetctl_offline import GLOBAL, StubAPI

from shoal.fleet.schema import Unit
from shoal.fleetctl.context import Ctl
from shoal.fleetctl.flags import parse_args
from shoal.fleetctl.main import COMMANDS


class Recording(StubAPI):
    def __init__(self) -> None:
        super().__init__()
        self.unit_list = [Unit("global.service", GLOBAL, "launched", "launched")]
        self.targets: list[tuple[str, str]] = []

    def set_target_state(self, name: str, state: str) -> None:
        self.targets.append((name, state))


def test_stopping_a_global_unit_triggers_it_and_waits_for_none() -> None:
    api = Recording()
    inv = parse_args(["stop", "global.service"], env={})
    out, err = io.StringIO(), io.StringIO()
    ctl = Ctl(inv, out, err)
    ctl.api = api  # type: ignore[assignment]
    assert COMMANDS[inv.command](ctl) == 0
    assert out.getvalue() == "Triggered global unit global.service stop\n"
    assert err.getvalue() == "Successfully stopped units [].\n"
    assert api.targets == [("global.service", "loaded")]
