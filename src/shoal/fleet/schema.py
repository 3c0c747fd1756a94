"""The objects of fleet's HTTP API v1 as a client reads them (fleet schema/v1-json.json).

`Machine`, `Unit` and `UnitState` are what `GET machines`, `GET units[/NAME]` and
`GET state[/NAME]` return. Fields the server leaves out (it omits empty values) read as "". A body
that is not shaped like the schema raises `SchemaError`, so a client fails with one message instead
of a KeyError deep inside a command.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from shoal.fleet.unit import Requirements, UnitOption, options_from_json


class SchemaError(ValueError):
    """An API body that does not match fleet's schema."""


def _str(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SchemaError(f"{key} must be a string")
    return value


def _object(doc: object, what: str) -> Mapping[str, Any]:
    if not isinstance(doc, dict):
        raise SchemaError(f"{what} must be a JSON object")
    return doc


@dataclass(frozen=True)
class Machine:
    id: str
    primary_ip: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def from_json(doc: object) -> Machine:
        d = _object(doc, "machine")
        md = d.get("metadata") or {}
        if not isinstance(md, dict) or not all(isinstance(v, str) for v in md.values()):
            raise SchemaError("machine metadata must be an object of strings")
        return Machine(_str(d, "id"), _str(d, "primaryIP"), {str(k): v for k, v in md.items()})


@dataclass(frozen=True)
class Unit:
    name: str
    options: tuple[UnitOption, ...] = ()
    desired_state: str = ""
    current_state: str = ""
    machine_id: str = ""  # the machine the engine scheduled it to ("" if none, or global)

    @staticmethod
    def from_json(doc: object) -> Unit:
        d = _object(doc, "unit")
        try:
            options = options_from_json(d.get("options") or [])
        except ValueError as e:
            raise SchemaError(str(e)) from None
        return Unit(
            _str(d, "name"),
            options,
            _str(d, "desiredState"),
            _str(d, "currentState"),
            _str(d, "machineID"),
        )

    def to_json(self) -> dict[str, Any]:
        """The body of `PUT units/NAME`: name and options always, the rest when set."""
        body: dict[str, Any] = {"name": self.name, "options": [o.to_json() for o in self.options]}
        for key, value in (
            ("desiredState", self.desired_state),
            ("currentState", self.current_state),
            ("machineID", self.machine_id),
        ):
            if value:
                body[key] = value
        return body

    @cached_property
    def is_global(self) -> bool:
        """[X-Fleet] Global=true: the unit runs on every matching machine, with no one target."""
        return Requirements.of(self.name, self.options).is_global


@dataclass(frozen=True)
class UnitState:
    name: str
    hash: str = ""
    machine_id: str = ""
    load_state: str = ""  # systemd's LoadState, ActiveState and SubState on that machine
    active_state: str = ""
    sub_state: str = ""
    load_error: str = ""  # shoal's: why the machine could not load the unit (load_state error)

    @staticmethod
    def from_json(doc: object) -> UnitState:
        d = _object(doc, "unit state")
        return UnitState(
            _str(d, "name"),
            _str(d, "hash"),
            _str(d, "machineID"),
            _str(d, "systemdLoadState"),
            _str(d, "systemdActiveState"),
            _str(d, "systemdSubState"),
            _str(d, "shoalLoadError"),
        )
