"""Go's text/tabwriter as fleetctl configured it: NewWriter(out, 0, 8, 1, '\\t', 0).

With '\\t' as the padding character, each column is as wide as its widest cell plus one, rounded
up to a multiple of 8, and cells are padded with tabs; the last cell of a line is not a column.
This is what makes fleetctl's tables line up in a terminal and what scripts that split on tabs
expect.
"""

from __future__ import annotations

from collections.abc import Sequence

TAB_WIDTH = 8
PADDING = 1


def format_table(rows: Sequence[Sequence[str]]) -> str:
    widths: dict[int, int] = {}
    for row in rows:
        for j, cell in enumerate(row[:-1]):
            widths[j] = max(widths.get(j, 0), len(cell) + PADDING)
    out = []
    for row in rows:
        parts = []
        for j, cell in enumerate(row):
            if j == len(row) - 1:
                parts.append(cell)
                break
            cellw = -(-widths[j] // TAB_WIDTH) * TAB_WIDTH
            parts.append(cell + "\t" * -(-(cellw - len(cell)) // TAB_WIDTH))
        out.append("".join(parts) + "\n")
    return "".join(out)
