"""Unit files, the unit hash, names and [X-Fleet] validation as fleet defines them."""

from __future__ import annotations

import hashlib

import pytest

from shoal.fleet.unit import (
    Requirements,
    UnitFileError,
    UnitOption,
    metadata_mismatch,
    name_info,
    parse_metadata_condition,
    parse_unit_file,
    serialize,
    unit_hash,
    validate_name,
    validate_options,
)

HELLO = """# a comment
[Unit]
Description=Hello World

[Service]
ExecStart=/bin/sh -c "while true; do echo Hello; sleep 1; done"
ExecStop=/bin/true

[X-Fleet]
Conflicts=hello*.service
MachineMetadata="role=services" "cabinet=one"
"""


def test_parse_keeps_file_order_and_sections() -> None:
    opts = parse_unit_file(HELLO)
    assert opts[0] == UnitOption("Unit", "Description", "Hello World")
    assert [o.section for o in opts] == ["Unit", "Service", "Service", "X-Fleet", "X-Fleet"]


def test_hash_is_sha1_of_serialized_options_not_of_raw_text() -> None:
    opts = parse_unit_file(HELLO)
    text = serialize(opts)
    assert text.startswith("[Unit]\nDescription=Hello World\n\n[Service]\n")
    assert unit_hash(opts) == hashlib.sha1(text.encode()).hexdigest()
    # Comments and spacing do not change the hash.
    assert unit_hash(parse_unit_file(HELLO.replace("# a comment\n", "\n\n"))) == unit_hash(opts)


def test_continuation_lines_keep_their_backslash() -> None:
    opts = parse_unit_file("[Service]\nExecStart=/bin/echo a \\\n  b\n")
    assert opts[0].value == "/bin/echo a \\\n  b"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[Unit\nA=b\n", "unable to find end of section"),
        ("[Unit]\nnovalue\n", "unexpected newline encountered while parsing option name"),
        ("[Unit]\nA=" + "x" * 3000 + "\n", "line too long (max 2048 bytes)"),
    ],
)
def test_bad_unit_files(text: str, message: str) -> None:
    with pytest.raises(UnitFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_unit_file(text)


def test_names_templates_and_instances() -> None:
    info = name_info("web@8080.service")
    assert info is not None
    assert (info.prefix, info.template, info.instance) == ("web", "web@.service", "8080")
    assert info.is_instance and not info.is_template
    tmpl = name_info("web@.service")
    assert tmpl is not None and tmpl.is_template


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("hello.service", None),
        ("", "unit name cannot be empty"),
        ("hello", 'unit name must contain "."'),
        ("hello.", 'unit name cannot end in "."'),
        ("hello.foo", 'invalid unit type: "foo"'),
        ("a@b.mount", 'invalid unit type for template: "mount"'),
        ("he llo.service", "invalid character ' ' in unit name"),
        ("@x.service", 'unit name cannot start in "@"'),
        ("x" * 300 + ".service", "unit name exceeds maximum length (256)"),
    ],
)
def test_validate_name(name: str, error: str | None) -> None:
    assert validate_name(name) == error


def xf(*lines: str) -> tuple[UnitOption, ...]:
    return parse_unit_file("[X-Fleet]\n" + "\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        (("MachineID=abc", "MachineOf=a.service"), "MachineID cannot be used with Peers"),
        (("MachineID=abc", "Conflicts=a*"), "MachineID cannot be used with Conflicts"),
        (("MachineID=abc", "Global=true"), "MachineID cannot be used with Global"),
        (("MachineID=abc", "Replaces=a.service"), "MachineID cannot be used with Replaces"),
        (("Global=yes", "MachineOf=a.service"), "Global cannot be used with Peers"),
        (("Global=on", "Replaces=a.service"), "Global cannot be used with Replaces"),
        (("Conflicts=a*", "Replaces=b.service"), "Conflicts cannot be used with Replaces"),
        (
            ("MachineOf=a.service", "Conflicts=a*"),
            'unresolvable requirements: peer "a.service" matches conflict "a*"',
        ),
        (("Global=false", "MachineOf=a.service"), None),
        (("MachineMetadata=role=web",), None),
    ],
)
def test_validate_options_messages(lines: tuple[str, ...], error: str | None) -> None:
    assert validate_options(xf(*lines)) == error


def test_requirements_substitute_specifiers_and_split_multivalue() -> None:
    req = Requirements.of(
        "web@2.service",
        xf('MachineMetadata="disk=ssd" "slot=%i"', "Conflicts=%p@*.service other.service"),
    )
    assert [str(c) for c in req.metadata] == ["disk=ssd", "slot=2"]
    assert req.conflicts == ("web@*.service", "other.service")


def test_global_uses_last_value_and_truthy_words() -> None:
    assert Requirements.of("g.service", xf("Global=t")).is_global
    assert not Requirements.of("g.service", xf("Global=true", "Global=no")).is_global


@pytest.mark.parametrize(
    ("conds", "metadata", "ok"),
    [
        (["role=web"], {"role": "web"}, True),
        (["role=web", "role=db"], {"role": "db"}, True),  # same key ORed
        (["role=web", "region=eu"], {"role": "web"}, False),  # keys ANDed, key required
        (["role!=db"], {}, True),
        (["role!=db"], {"role": "db"}, False),
        (["mem>=4"], {"mem": "8"}, True),
        (["mem>=4"], {"mem": "2"}, False),
        (["mem<4"], {"mem": "lots"}, False),
        (["cpu>1", "cpu<=4"], {"cpu": "4"}, True),
    ],
)
def test_metadata_conditions(conds: list[str], metadata: dict[str, str], ok: bool) -> None:
    parsed = [c for c in (parse_metadata_condition(t) for t in conds) if c is not None]
    assert len(parsed) == len(conds)
    assert (metadata_mismatch(metadata, parsed) == "") is ok


def test_metadata_pairs_fleet_ignored_are_ignored() -> None:
    assert parse_metadata_condition("a=b=c") is None
    assert parse_metadata_condition("=b") is None
    assert parse_metadata_condition("nothing") is None
