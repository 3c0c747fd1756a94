"""fleetctl's commands against a stub of the fleet API (no fleetd): tables, fields, legends and
the messages a user reads. The full life cycle against real fleetd processes is in tests/fleet."""

from __future__ import annotations

import io

import pytest

from shoal.fleet.client import FleetAPIError, FleetClient
from shoal.fleet.schema import Machine, SchemaError, Unit, UnitState
from shoal.fleet.unit import UnitOption
from shoal.fleetctl.context import Ctl
from shoal.fleetctl.flags import parse_args
from shoal.fleetctl.main import COMMANDS
from shoal.fleetctl.output import table

M1, M2 = "87799244" + "a" * 24, "b742d354" + "b" * 24
SERVICE = (UnitOption("Unit", "Description", "hello"), UnitOption("Service", "ExecStart", "x"))
GLOBAL = (*SERVICE, UnitOption("X-Fleet", "Global", "true"))


class StubAPI:
    """The reads fleetctl makes, answered from lists; `down` makes every call fail like etcd
    losing quorum behind fleetd."""

    def __init__(self) -> None:
        self.down = False
        self.machine_list = [
            Machine(M1, "192.168.0.30", {"role": "services", "cabinet": "one"}),
            Machine(M2, "192.168.0.10"),
        ]
        self.unit_list = [
            Unit("web.service", SERVICE, "launched", "launched", M1),
            Unit("log.service", GLOBAL, "launched"),
        ]
        self.state_list = [UnitState("web.service", "f" * 40, M1, "loaded", "active", "running")]

    def _check(self) -> None:
        if self.down:
            raise FleetAPIError(
                "googleapi: Error 503: fleet server unable to communicate with etcd"
            )

    def machines(self) -> list[Machine]:
        self._check()
        return self.machine_list

    def units(self) -> list[Unit]:
        self._check()
        return self.unit_list

    def unit_states(self) -> list[UnitState]:
        self._check()
        return self.state_list

    def unit(self, name: str) -> Unit | None:
        self._check()
        return next((u for u in self.unit_list if u.name == name), None)


def run(api: StubAPI, *argv: str) -> tuple[int, str, str]:
    inv = parse_args(list(argv), env={})
    out, err = io.StringIO(), io.StringIO()
    ctl = Ctl(inv, out, err)
    ctl.api = api  # type: ignore[assignment]
    return COMMANDS[inv.command](ctl), out.getvalue(), err.getvalue()


def test_list_machines_aligns_like_go_tabwriter() -> None:
    rc, out, _ = run(StubAPI(), "list-machines")
    assert rc == 0
    assert out == (
        "MACHINE\t\tIP\t\tMETADATA\n"
        "87799244...\t192.168.0.30\tcabinet=one,role=services\n"
        "b742d354...\t192.168.0.10\t-\n"
    )


def test_tables_align_like_go_tabwriter() -> None:
    # The table of fleetctl list-machines in the seed, through fleetctl's own table writer.
    out = io.StringIO()
    ctl = Ctl(parse_args(["list-machines"], env={}), out, io.StringIO())
    table(ctl, ["machine", "ip", "metadata"], [["87799244...", "192.168.0.30", "cabinet=one"]])
    assert out.getvalue() == "MACHINE\t\tIP\t\tMETADATA\n87799244...\t192.168.0.30\tcabinet=one\n"


def test_fields_full_and_no_legend() -> None:
    rc, out, _ = run(StubAPI(), "list-machines", "-l", "--no-legend", "--fields=ip,machine")
    assert rc == 0 and out.splitlines() == [f"192.168.0.30\t{M1}", f"192.168.0.10\t{M2}"]
    rc, out, err = run(StubAPI(), "list-units", "--fields=unit,nope")
    assert (rc, out, err) == (1, "", 'Invalid key in output format: "nope"\n')


def test_list_units_names_the_machine_by_id_and_ip() -> None:
    rc, out, _ = run(StubAPI(), "list-units", "--fields=unit,machine,active,sub,hash")
    assert rc == 0
    assert out.splitlines()[1] == "web.service\t87799244.../192.168.0.30\tactive\trunning\tfffffff"


def test_list_unit_files_shows_global_units_as_global() -> None:
    rc, out, err = run(StubAPI(), "list-unit-files", "--fields=unit,global,state,tmachine,desc")
    assert rc == 0
    assert err == 'WARNING: The "tmachine" field is deprecated. Use "target" instead\n'
    assert out.splitlines()[1:] == [
        "web.service\tfalse\tlaunched\t87799244.../192.168.0.30\thello",
        "log.service\ttrue\t-\t\tglobal\t\t\t\thello",
    ]


def test_lost_quorum_reads_as_fleetctl_reported_it() -> None:
    api = StubAPI()
    api.down = True
    rc, out, err = run(api, "list-machines")
    assert (rc, out) == (1, "")
    assert err == (
        "Error retrieving list of active machines: googleapi: Error 503: fleet server unable "
        "to communicate with etcd\n"
    )


def test_cat_prints_the_unit_file_and_why_the_schedulers_reasons() -> None:
    rc, out, _ = run(StubAPI(), "cat", "web")
    assert (rc, out) == (0, "[Unit]\nDescription=hello\n\n[Service]\nExecStart=x\n")
    rc, out, _ = run(StubAPI(), "why", "web.service")
    assert rc == 0
    assert out.splitlines() == [
        "Unit web.service: desired launched, current launched on 87799244...",
        "MACHINE\t\t\t\tVERDICT",
        "87799244.../192.168.0.30\tscheduled here",
        "b742d354.../192.168.0.10\table (1 units)",
    ]


def test_a_malformed_api_body_is_one_clear_error() -> None:
    with pytest.raises(SchemaError, match="primaryIP must be a string"):
        Machine.from_json({"id": M1, "primaryIP": 7})
    assert Unit.from_json({"name": "a.service"}) == Unit("a.service")


def test_the_unit_body_fleetctl_sends_omits_empty_fields() -> None:
    body = Unit("a.service", SERVICE[:1], desired_state="launched").to_json()
    assert body == {
        "name": "a.service",
        "options": [{"section": "Unit", "name": "Description", "value": "hello"}],
        "desiredState": "launched",
    }


def test_client_endpoint_errors_are_gos() -> None:
    with pytest.raises(FleetAPIError, match='unsupported protocol scheme "ftp"'):
        FleetClient("ftp://x")
