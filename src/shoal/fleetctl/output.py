"""How fleetctl shows things: machine legends (`7e54ebc3...`, `ID/IP`), metadata, and tables
aligned by Go's tabwriter with the --fields, --full and --no-legend flags of the list commands."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from shoal.fleet import facts
from shoal.fleet.client import FleetAPIError
from shoal.fleet.schema import Machine
from shoal.fleetctl.context import Ctl
from shoal.gocompat.tabwriter import FLEETCTL, format_rows

T = TypeVar("T")


def short_id(mid: str) -> str:
    return mid[: facts.SHORT_ID_LEN]


def machine_id_legend(mid: str, full: bool) -> str:
    return mid if full else f"{short_id(mid)}..."


def machine_full_legend(m: Machine, full: bool) -> str:
    legend = machine_id_legend(m.id, full)
    return f"{legend}/{m.primary_ip}" if m.primary_ip else legend


def format_metadata(md: Mapping[str, str]) -> str:
    return ",".join(f"{k}={md[k]}" for k in sorted(md))


def aligned(ctl: Ctl, rows: Sequence[Sequence[str]]) -> None:
    """Rows written as fleetctl's tabwriter aligned them."""
    ctl.out.write(format_rows(rows, FLEETCTL))


def table(ctl: Ctl, cols: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A list command's table: a legend of the column names in capitals (unless --no-legend)."""
    lines = [] if ctl.inv.get("no-legend") else [[c.upper() for c in cols]]
    aligned(ctl, [*lines, *rows])


def columns(ctl: Ctl, default: str, valid: Mapping[str, object]) -> list[str] | None:
    """The columns --fields asks for (else `default`); None, with fleetctl's message printed,
    when one of them is not a field of this list."""
    cols = str(ctl.inv.get("fields") or default).split(",")
    for c in cols:
        if c not in valid:
            ctl.stderr(f'Invalid key in output format: "{c}"')
            return None
    return cols


def list_command(
    ctl: Ctl,
    default: str,
    fields: Mapping[str, Callable[[T], str]],
    fetch: Callable[[], Sequence[T]],
    failure: str,
    deprecated: Mapping[str, str] | None = None,
) -> int:
    """A list-* command: check --fields (warning about a deprecated field -> its successor),
    fetch the items, print one row each; on an API error print `<failure>: <error>`."""
    cols = columns(ctl, default, fields)
    if cols is None:
        return 1
    for old, new in (deprecated or {}).items():
        if old in cols:
            ctl.stderr(f'WARNING: The "{old}" field is deprecated. Use "{new}" instead')
    try:
        items = fetch()
    except FleetAPIError as e:
        ctl.stderr(f"{failure}: {e}")
        return 1
    table(ctl, cols, [[fields[c](item) for c in cols] for item in items])
    return 0
