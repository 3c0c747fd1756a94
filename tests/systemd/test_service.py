"""Typed [Unit]/[Service]/[Install] options: what the unit manager will run."""

from __future__ import annotations

import math

import pytest

from shoal.systemd.service import read_unit
from shoal.systemd.unitfile import UnitFileError, merge, parse_unit_text


def unit(text: str, name: str = "a.service"):  # type: ignore[no-untyped-def]
    return read_unit(parse_unit_text(text, name))


def test_seed_timezone_unit() -> None:
    u = unit(
        "[Unit]\nDescription=timezone\n[Service]\nType=oneshot\nRemainAfterExit=yes\n"
        "ExecStart=/usr/bin/ln -sf ../usr/share/zoneinfo/Japan /etc/localtime\n",
        "timezone.service",
    )
    assert u.unit.description == "timezone"
    s = u.service
    assert s is not None
    assert s.type == "oneshot" and s.remain_after_exit
    (cmd,) = s.exec_start
    assert cmd.path == "/usr/bin/ln"
    assert cmd.argv == ("/usr/bin/ln", "-sf", "../usr/share/zoneinfo/Japan", "/etc/localtime")


def test_defaults_are_systemds() -> None:
    s = unit("[Service]\nExecStart=/bin/sleep 10\n").service
    assert s is not None
    assert s.type == "simple"
    assert s.restart == "no"
    assert s.restart_sec == pytest.approx(0.1)
    assert (s.start_limit_interval, s.start_limit_burst) == (10.0, 5)
    assert s.timeout_start_sec == s.timeout_stop_sec == 90.0
    assert not s.remain_after_exit


def test_all_the_options_the_unit_manager_needs() -> None:
    u = unit(
        "[Unit]\nDescription=web\nRequires=etcd2.service\nWants=a.service b.service\n"
        "After=etcd2.service\nAfter=fleet.service\nBefore=c.service\n"
        "[Service]\nType=notify\n"
        "ExecStartPre=-/usr/bin/docker rm web\n"
        "ExecStartPre=/bin/mkdir -p /var/web\n"
        "ExecStart=@/usr/bin/web web-daemon --port 80\n"
        "ExecStartPost=+/bin/touch /run/web.up\n"
        "ExecStop=/bin/kill $MAINPID\n"
        "ExecStopPost=-/bin/rm -f /run/web.up\n"
        "Restart=on-failure\nRestartSec=5s\n"
        "StartLimitInterval=1min\nStartLimitBurst=3\n"
        "Environment=\"A=1 2\" B=3\nEnvironment=C='x y'\n"
        "EnvironmentFile=-/etc/web.env\nEnvironmentFile=/etc/environment\n"
        "WorkingDirectory=-/var/web\n"
        "TimeoutStartSec=5min 20s\nTimeoutStopSec=infinity\n"
        "[Install]\nWantedBy=multi-user.target\n"
        "[X-Fleet]\nConflicts=web@*.service\nMachineMetadata=role=services\n",
        "web.service",
    )
    assert u.unit.requires == ("etcd2.service",)
    assert u.unit.wants == ("a.service", "b.service")
    assert u.unit.after == ("etcd2.service", "fleet.service")
    assert u.unit.before == ("c.service",)
    s = u.service
    assert s is not None
    assert s.type == "notify"
    assert [(c.path, c.ignore_failure) for c in s.exec_start_pre] == [
        ("/usr/bin/docker", True),
        ("/bin/mkdir", False),
    ]
    (start,) = s.exec_start
    assert start.path == "/usr/bin/web" and start.argv == ("web-daemon", "--port", "80")
    assert s.exec_start_post[0].privileged
    assert s.exec_stop[0].argv == ("/bin/kill", "$MAINPID")
    assert s.exec_stop_post[0].ignore_failure
    assert (s.restart, s.restart_sec) == ("on-failure", 5.0)
    assert (s.start_limit_interval, s.start_limit_burst) == (60.0, 3)
    assert s.environment == (("A", "1 2"), ("B", "3"), ("C", "x y"))
    assert [(f.path, f.optional) for f in s.environment_files] == [
        ("/etc/web.env", True),
        ("/etc/environment", False),
    ]
    assert (s.working_directory, s.working_directory_optional) == ("/var/web", True)
    assert s.timeout_start_sec == 320.0
    assert s.timeout_stop_sec == math.inf
    assert u.install.wanted_by == ("multi-user.target",)
    assert u.x_fleet == (("Conflicts", "web@*.service"), ("MachineMetadata", "role=services"))
    assert u.warnings == ()


def test_timeout_zero_disables_and_timeoutsec_sets_both() -> None:
    s = unit("[Service]\nExecStart=/bin/x\nTimeoutSec=0\n").service
    assert s is not None and s.timeout_start_sec == s.timeout_stop_sec == math.inf
    s = unit("[Service]\nExecStart=/bin/x\nTimeoutSec=30\nTimeoutStopSec=5\n").service
    assert s is not None and (s.timeout_start_sec, s.timeout_stop_sec) == (30.0, 5.0)


def test_start_limit_in_unit_section_newer_systemd() -> None:
    s = unit("[Unit]\nStartLimitIntervalSec=30\nStartLimitBurst=2\n[Service]\nExecStart=/bin/x\n")
    assert s.service is not None
    assert (s.service.start_limit_interval, s.service.start_limit_burst) == (30.0, 2)


def test_empty_assignment_resets_exec_and_environment_from_drop_in() -> None:
    main = parse_unit_text("[Service]\nExecStart=/bin/a\nEnvironment=A=1\n", "x.service")
    drop = parse_unit_text("[Service]\nExecStart=\nExecStart=/bin/b\nEnvironment=\n", "x.service")
    s = read_unit(merge(main, [drop])).service
    assert s is not None
    assert [c.path for c in s.exec_start] == ["/bin/b"]
    assert s.environment == ()


def test_type_defaults_to_oneshot_without_execstart() -> None:
    s = unit("[Service]\nRemainAfterExit=yes\nExecStop=/bin/true\n").service
    assert s is not None and s.type == "oneshot"


def test_bad_values_are_errors_naming_their_lines() -> None:
    with pytest.raises(UnitFileError) as e:
        unit(
            "[Service]\nType=sometimes\nExecStart=/bin/x\nRestart=maybe\nRestartSec=soon\n"
            "RemainAfterExit=perhaps\nStartLimitBurst=many\nTimeoutStartSec=5 parsecs\n"
            "EnvironmentFile=relative.env\nWorkingDirectory=relative\n"
        )
    lines = [p.line for p in e.value.problems]
    assert lines == [2, 4, 7, 8, 9, 10, 5, 6]
    text = str(e.value)
    assert "a.service: line 2: Type=sometimes: must be one of simple, exec, forking" in text
    assert "line 4: Restart=maybe: must be one of no, on-success, on-failure" in text


def test_systemd_refusals() -> None:
    with pytest.raises(UnitFileError, match="more than one ExecStart="):
        unit("[Service]\nExecStart=/bin/a\nExecStart=/bin/b\n")
    with pytest.raises(UnitFileError, match="no ExecStart= and no ExecStop="):
        unit("[Service]\nType=simple\n")
    with pytest.raises(UnitFileError, match="RemainAfterExit=yes"):
        unit("[Service]\nType=oneshot\n")
    with pytest.raises(UnitFileError, match="Type=dbus is not supported"):
        unit("[Service]\nType=dbus\nExecStart=/bin/a\n")
    # Several ExecStart= lines are fine for oneshot.
    s = unit("[Service]\nType=oneshot\nExecStart=/bin/a\nExecStart=/bin/b\n").service
    assert s is not None and len(s.exec_start) == 2


def test_unknown_keys_are_kept_with_a_warning() -> None:
    u = unit("[Service]\nExecStart=/bin/a\nExecStrat=/bin/b\nLimitNOFILE=4096\n")
    assert [str(w) for w in u.warnings] == [
        "line 3: [Service] ExecStrat= is not used by shoal (kept)",
        "line 4: [Service] LimitNOFILE= is not used by shoal (kept)",
    ]


def test_invalid_environment_word_is_ignored_with_a_warning() -> None:
    u = unit("[Service]\nExecStart=/bin/a\nEnvironment=GOOD=1 1BAD=2 novalue\n")
    assert u.service is not None and u.service.environment == (("GOOD", "1"),)
    assert len(u.warnings) == 2


def test_non_service_units_have_no_service_config() -> None:
    u = read_unit(parse_unit_text("[Unit]\nDescription=t\n", "multi-user.target"))
    assert u.service is None and u.unit.description == "t"
