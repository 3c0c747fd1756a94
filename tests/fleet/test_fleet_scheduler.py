"""The engine's placement decisions, as tables: cluster in, tasks out (fleet's functional cases)."""

from __future__ import annotations

import pytest

from shoal.fleet import facts
from shoal.fleet.scheduler import Cluster, Job, Machine, Task, explain, plan
from shoal.fleet.unit import Requirements, parse_unit_file


def job(name: str, xfleet: str = "", target: str = "", state: str = "launched") -> Job:
    opts = parse_unit_file("[X-Fleet]\n" + xfleet.replace(";", "\n") + "\n")
    return Job(name, Requirements.of(name, opts), state, target)


def glob(name: str, xfleet: str = "") -> Job:
    return job(name, "Global=true;" + xfleet)


M = [Machine("m1"), Machine("m2"), Machine("m3")]


def placed(tasks: list[Task]) -> dict[str, str]:
    out: dict[str, str] = {}
    for t in tasks:
        if t.kind == "schedule":
            out[t.job] = t.machine
        elif out.get(t.job) == t.machine:
            del out[t.job]
    return out


@pytest.mark.parametrize(
    ("machines", "jobs", "expected"),
    [
        pytest.param(M, [job("a.service")], {"a.service": "m1"}, id="ties broken by machine id"),
        pytest.param(
            M,
            [job("a.service"), job("b.service"), job("c.service"), job("d.service")],
            {"a.service": "m1", "b.service": "m2", "c.service": "m3", "d.service": "m1"},
            id="least loaded spreads units",
        ),
        pytest.param(
            M,
            [job("x.service", target="m1"), job("y.service", target="m1"), job("a.service")],
            {"a.service": "m2"},
            id="existing load counts",
        ),
        pytest.param(
            M, [job("a.service", "MachineID=m3")], {"a.service": "m3"}, id="MachineID pins"
        ),
        pytest.param(
            [Machine("0123456789abcdef"), Machine("m2")],
            [job("a.service", "MachineID=01234567")],
            {"a.service": "0123456789abcdef"},
            id="MachineID short form",
        ),
        pytest.param(M, [job("a.service", "MachineID=nope")], {}, id="MachineID absent"),
        pytest.param(
            [Machine("m1", {"role": "db"}), Machine("m2", {"role": "web"})],
            [job("a.service", "MachineMetadata=role=web")],
            {"a.service": "m2"},
            id="metadata",
        ),
        pytest.param(
            [Machine("m1", {"mem": "2"}), Machine("m2", {"mem": "16"})],
            [job("a.service", "MachineMetadata=mem>=8")],
            {"a.service": "m2"},
            id="metadata operator",
        ),
        pytest.param(
            M,
            [job(f"c{i}.service", "Conflicts=c*.service") for i in range(5)],
            {"c0.service": "m1", "c1.service": "m2", "c2.service": "m3"},
            id="5 mutually conflicting units on 3 machines: only 3 placed",
        ),
        pytest.param(
            M,
            [job("a.service", target="m1"), job("b.service", "Conflicts=a.service")],
            {"b.service": "m2"},
            id="conflict one way",
        ),
        pytest.param(
            M,
            [job("a.service", "Conflicts=b.service", target="m1"), job("b.service")],
            {"b.service": "m2"},
            id="conflict counted the other way too",
        ),
        pytest.param(
            M,
            [job("ping.service", target="m2"), job("pong.service", "MachineOf=ping.service")],
            {"pong.service": "m2"},
            id="MachineOf follows its peer",
        ),
        pytest.param(
            M,
            [job("pong.service", "MachineOf=ping.service"), job("ping.service")],
            {"ping.service": "m1", "pong.service": "m1"},
            id="MachineOf peer placed in the same round",
        ),
        pytest.param(
            M,
            [job("pong.service", "MachineOf=ping.service")],
            {},
            id="MachineOf without its peer waits",
        ),
        pytest.param(
            M,
            [job("a.service", state="inactive"), job("b.service", state="loaded")],
            {"b.service": "m1"},
            id="inactive units are not placed",
        ),
        pytest.param([], [job("a.service")], {}, id="no machines"),
    ],
)
def test_placement(machines: list[Machine], jobs: list[Job], expected: dict[str, str]) -> None:
    assert placed(plan(Cluster(machines, jobs))) == expected


def test_global_units_count_towards_load_only_where_they_run() -> None:
    machines = [Machine("m1", {"role": "web"}), Machine("m2", {"role": "db"})]
    cluster = Cluster(machines, [job("a.service")], [glob("g.service", "MachineMetadata=role=web")])
    assert placed(plan(cluster)) == {"a.service": "m2"}


def test_global_units_are_never_scheduled_by_the_engine() -> None:
    assert plan(Cluster(M, [], [glob("g.service")])) == []


def test_unit_of_vanished_machine_is_rescheduled_with_fleets_reason() -> None:
    tasks = plan(Cluster(M[1:], [job("a.service", target="m1")]))
    assert tasks[0] == Task("unschedule", "a.service", "m1", "target Machine(m1) went away")
    assert tasks[1].kind == "schedule" and tasks[1].machine == "m2"


def test_migration_moves_only_the_orphan_to_the_free_machine() -> None:
    # fleet's TestDynamicClusterNewMemberUnitMigration: 4 machines, 3 conflicting units; m1 stops.
    machines = [Machine(f"m{i}") for i in (2, 3, 4)]
    jobs = [
        job("c0.service", "Conflicts=c*", target="m1"),
        job("c1.service", "Conflicts=c*", target="m2"),
        job("c2.service", "Conflicts=c*", target="m3"),
    ]
    tasks = plan(Cluster(machines, jobs))
    assert {t.job for t in tasks} == {"c0.service"}
    assert placed(tasks) == {"c0.service": "m4"}


def test_target_state_inactive_unschedules() -> None:
    tasks = plan(Cluster(M, [job("a.service", target="m2", state="inactive")]))
    assert tasks == [Task("unschedule", "a.service", "m2", "target state inactive")]


def test_unit_that_can_no_longer_run_is_moved() -> None:
    machines = [Machine("m1", {"role": "db"}), Machine("m2", {"role": "web"})]
    tasks = plan(Cluster(machines, [job("a.service", "MachineMetadata=role=web", target="m1")]))
    assert tasks[0].kind == "unschedule"
    assert "unable to run unit: local Machine metadata insufficient" in tasks[0].reason
    assert placed(tasks) == {"a.service": "m2"}


def test_nothing_to_do_when_everything_is_placed() -> None:
    jobs = [job("a.service", target="m1"), job("b.service", target="m2")]
    assert plan(Cluster(M, jobs)) == []


def test_replaces_takes_the_host_and_moves_the_replaced_unit() -> None:
    jobs = [job("old.service", target="m2"), job("new.service", "Replaces=old.service")]
    tasks = plan(Cluster(M, jobs))
    assert placed(tasks) == {"new.service": "m2", "old.service": "m1"}


def test_replaces_moves_the_replaced_unit_when_already_together() -> None:
    jobs = [
        job("old.service", target="m1"),
        job("new.service", "Replaces=old.service", target="m1"),
    ]
    tasks = plan(Cluster(M, jobs))
    assert tasks[0] == Task(
        "unschedule", "old.service", "m1", "found replace with locally-scheduled Unit(old.service)"
    )
    assert placed(tasks) == {"old.service": "m2"}


def test_circular_replaces_does_not_move_anything() -> None:
    jobs = [
        job("a.service", "Replaces=b.service", target="m1"),
        job("b.service", "Replaces=a.service", target="m2"),
    ]
    assert plan(Cluster(M, jobs)) == []


def test_explain_says_why_per_machine() -> None:
    machines = [Machine("m1", {"role": "db"}), Machine("m2", {"role": "web"}), Machine("m3")]
    jobs = [
        job("x.service", target="m2"),
        job("a.service", "MachineMetadata=role=web;Conflicts=x*"),
    ]
    lines = dict(explain(Cluster(machines, jobs), "a.service"))
    assert "metadata role=db is not role=web" in lines["m1"]
    assert "found conflict with locally-scheduled Unit(x.service)" in lines["m2"]
    assert "no metadata 'role'" in lines["m3"]


def test_explain_marks_the_scheduled_machine() -> None:
    lines = dict(explain(Cluster(M, [job("a.service", target="m3")]), "a.service"))
    assert lines["m3"].startswith("scheduled here")
    assert lines["m1"].startswith("able")


def test_explain_unknown_unit_is_empty() -> None:
    assert explain(Cluster(M, []), "nope.service") == []


def test_desired_state_constants_match_fleet() -> None:
    assert facts.JOB_STATES == ("inactive", "loaded", "launched")
