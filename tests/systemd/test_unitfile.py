"""Unit file parsing, drop-ins, templates and specifiers, as systemd reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.systemd.unitfile import (
    SpecifierContext,
    UnitFileError,
    UnitPaths,
    inline_comment,
    merge,
    parse_unit_name,
    parse_unit_text,
    resolve_specifiers,
)

SEED_TIMEZONE = """[Unit]
Description=timezone
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/bin/ln -sf ../usr/share/zoneinfo/Japan /etc/localtime
"""


def test_seed_unit_parses() -> None:
    u = parse_unit_text(SEED_TIMEZONE, "timezone.service")
    assert u.get("Unit", "Description") == "timezone"
    assert u.get("Service", "Type") == "oneshot"
    assert u.last("Service", "ExecStart") is not None
    assert u.last("Service", "ExecStart").line == 6  # type: ignore[union-attr]
    assert u.sections() == ["Unit", "Service"]


def test_repeated_keys_keep_order_and_empty_resets_a_list() -> None:
    u = parse_unit_text("[Unit]\nAfter=a.service\nAfter=b.service\nAfter=\nAfter=c.service\n")
    assert [a.value for a in u.all("Unit", "After")] == ["a.service", "b.service", "", "c.service"]
    assert [a.value for a in u.effective("Unit", "After")] == ["c.service"]


def test_comments_and_whitespace() -> None:
    text = "# top\n; also\n[Service]\n  # indented comment\n  Key  =  value with  spaces  \n"
    u = parse_unit_text(text)
    assert u.options() == [("Service", "Key", "value with  spaces")]


def test_hash_after_a_value_is_part_of_the_value() -> None:
    u = parse_unit_text("[Network]\nAddress=192.168.0.10/24 #public\n")
    assert u.get("Network", "Address") == "192.168.0.10/24 #public"


def test_line_continuation() -> None:
    text = "[Service]\nExecStart=/bin/echo \\\n  one \\\n# comment inside is skipped\n  two\nX=1\n"
    u = parse_unit_text(text)
    assert u.get("Service", "ExecStart") == "/bin/echo  one  two"  # each backslash becomes a space
    assert u.last("Service", "ExecStart").line == 2  # type: ignore[union-attr]
    assert u.last("Service", "X").line == 6  # type: ignore[union-attr]


def test_errors_name_every_bad_line() -> None:
    with pytest.raises(UnitFileError) as e:
        parse_unit_text("[Unit]\nDescription=x\n[Service\nnot an assignment\n=value\n", "a.service")
    assert [str(p) for p in e.value.problems] == [
        "line 3: invalid section header '[Service'",
        "line 4: missing '=' in 'not an assignment'",
        "line 5: missing key before '=' in '=value'",
    ]
    assert str(e.value).startswith("a.service: line 3: ")


def test_assignment_outside_section_and_unknown_section_are_warnings() -> None:
    u = parse_unit_text("Foo=bar\n[Bogus]\nA=1\n[X-Fleet]\nGlobal=true\n")
    assert [str(w) for w in u.warnings] == [
        "line 1: assignment Foo= outside of any section, ignored",
        "line 2: unknown section [Bogus], ignored",
    ]
    assert u.options("X-Fleet") == [("X-Fleet", "Global", "true")]


def test_inline_comment_detection() -> None:
    assert inline_comment("Address=1.2.3.4/24 #x") == 19
    assert inline_comment("Environment=A=1\t# x") is not None
    assert inline_comment("Environment=A=x#y") is None
    assert inline_comment("ExecStart=/bin/sh -c 'echo # hi'") is None
    assert inline_comment('ExecStart=/bin/sh -c "echo # hi"') is None
    assert inline_comment("# Address=1 #x") is None
    assert inline_comment("[Section] #x") is None


def test_drop_ins_come_after_the_unit() -> None:
    main = parse_unit_text("[Service]\nExecStart=/bin/a\nEnvironment=A=1\n", "x.service")
    d1 = parse_unit_text("[Service]\nExecStart=\nExecStart=/bin/b\n", "x.service")
    d2 = parse_unit_text("[Service]\nEnvironment=B=2\n", "x.service")
    m = merge(main, [d1, d2])
    assert [a.value for a in m.effective("Service", "ExecStart")] == ["/bin/b"]
    assert [a.value for a in m.effective("Service", "Environment")] == ["A=1", "B=2"]


@pytest.mark.parametrize(
    ("name", "prefix", "instance", "utype"),
    [
        ("etcd2.service", "etcd2", None, "service"),
        ("web@.service", "web", "", "service"),
        ("web@1.service", "web", "1", "service"),
        ("10-static.network", "10-static", None, "network"),
    ],
)
def test_unit_names(name: str, prefix: str, instance: str | None, utype: str) -> None:
    n = parse_unit_name(name)
    assert (n.prefix, n.instance, n.type) == (prefix, instance, utype)


@pytest.mark.parametrize(
    "name", ["", "noext", "a.bogus", "@x.service", "a b.service", "a@b@c.service"]
)
def test_bad_unit_names(name: str) -> None:
    with pytest.raises(ValueError):
        parse_unit_name(name)


def test_specifiers() -> None:
    u = parse_unit_text(
        "[Unit]\nDescription=%n %N %p %i %I %H %%\n[Service]\nExecStart=/bin/echo %f\n"
        "[X-Fleet]\nConflicts=%p@*.service\n",
        "web@a-b.service",
    )
    r = resolve_specifiers(
        u, "web@a-b.service", SpecifierContext(hostname="coreos-01"), ["X-Fleet"]
    )
    assert r.get("Unit", "Description") == "web@a-b.service web@a-b web a-b a/b coreos-01 %"
    assert r.get("Service", "ExecStart") == "/bin/echo /a/b"
    assert r.get("X-Fleet", "Conflicts") == "%p@*.service"  # fleet resolves its own


def test_unknown_specifier_is_an_error_with_its_line() -> None:
    u = parse_unit_text("[Service]\nExecStart=/bin/date +%Q\n", "d.service")
    with pytest.raises(UnitFileError, match=r"line 2: unknown specifier %Q in ExecStart="):
        resolve_specifiers(u, "d.service")


def write(p: Path, text: str) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def test_unit_paths_template_instance_and_drop_ins(tmp_path: Path) -> None:
    write(tmp_path / "etc/systemd/system/web@.service", "[Service]\nExecStart=/bin/web --id %i\n")
    write(
        tmp_path / "run/systemd/system/web@.service.d/10-env.conf", "[Service]\nEnvironment=A=1\n"
    )
    write(tmp_path / "etc/systemd/system/web@2.service.d/20-x.conf", "[Service]\nEnvironment=B=2\n")
    paths = UnitPaths(tmp_path)
    u1 = paths.load("web@1.service")
    assert u1.get("Service", "ExecStart") == "/bin/web --id 1"
    assert [a.value for a in u1.all("Service", "Environment")] == ["A=1"]
    u2 = paths.load("web@2.service")
    assert [a.value for a in u2.all("Service", "Environment")] == ["A=1", "B=2"]
    with pytest.raises(ValueError, match="template"):
        paths.load("web@.service")
    with pytest.raises(FileNotFoundError):
        paths.load("nothing.service")


def test_etc_overrides_run_and_same_named_drop_in_hides_lower_one(tmp_path: Path) -> None:
    write(tmp_path / "run/systemd/system/a.service", "[Service]\nExecStart=/bin/run\n")
    write(tmp_path / "etc/systemd/system/a.service", "[Service]\nExecStart=/bin/etc\n")
    write(
        tmp_path / "run/systemd/system/a.service.d/20-cloudinit.conf",
        "[Service]\nEnvironment=X=run\n",
    )
    write(
        tmp_path / "etc/systemd/system/a.service.d/20-cloudinit.conf",
        "[Service]\nEnvironment=X=etc\n",
    )
    write(tmp_path / "run/systemd/system/a.service.d/10-early.conf", "[Service]\nEnvironment=Y=1\n")
    u = UnitPaths(tmp_path).load("a.service")
    assert u.get("Service", "ExecStart") == "/bin/etc"
    assert [a.value for a in u.all("Service", "Environment")] == ["Y=1", "X=etc"]


def test_masked_unit(tmp_path: Path) -> None:
    p = tmp_path / "run/systemd/system/locksmithd.service"
    p.parent.mkdir(parents=True)
    p.symlink_to("/dev/null")
    paths = UnitPaths(tmp_path)
    assert paths.is_masked("locksmithd.service")
    with pytest.raises(ValueError, match="masked"):
        paths.load("locksmithd.service")
