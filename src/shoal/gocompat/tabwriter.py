"""Go's text/tabwriter: aligned columns from tab-terminated cells.

A cell is text ended by a tab (or, as a "soft" cell, a vertical tab); the text after a line's
last tab is not a cell and never widens a column. A column block is a run of adjacent lines that
all have a cell in that column; each block is as wide as its widest cell plus `padding` (at least
`minwidth`). With '\\t' as the pad character the width is rounded up to a multiple of `tabwidth`
and padded with tabs (and alignment is always left), which is what fleetctl's tables do.

The callers' settings, from their Go sources:
    fleetctl tables   Writer(minwidth=0, tabwidth=8, padding=1, padchar="\\t")
    urfave/cli help   Writer(minwidth=1, tabwidth=8, padding=2, padchar=" ")  (etcdctl's help)
Not reproduced: escaped text (Escape/StripEscape) and FilterHTML, which no caller uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

ALIGN_RIGHT: Final = 1 << 2
DISCARD_EMPTY_COLUMNS: Final = 1 << 3
TAB_INDENT: Final = 1 << 4
DEBUG: Final = 1 << 5


@dataclass(frozen=True, slots=True)
class _Cell:
    text: str
    hard: bool  # ended by a tab (a soft cell, ended by \v, may be discarded when empty)


@dataclass(frozen=True, slots=True)
class Writer:
    """tabwriter.NewWriter's settings; `format(text)` is what Write + Flush would print."""

    minwidth: int = 0
    tabwidth: int = 8
    padding: int = 1
    padchar: str = " "
    flags: int = 0

    def format(self, text: str) -> str:
        lines = [_cells(line) for line in text.split("\n")]
        out: list[str] = []
        self._format(out, lines, 0, len(lines), [])
        return "".join(out)

    def _format(
        self, out: list[str], lines: list[list[_Cell]], line0: int, line1: int, widths: list[int]
    ) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            # A cell in this column begins a block: print the lines above it, then size it.
            self._write_lines(out, lines, line0, this, widths)
            line0 = this
            width = self.minwidth
            discardable = True
            while this < line1 and column < len(lines[this]) - 1:
                cell = lines[this][column]
                width = max(width, len(cell.text) + self.padding)
                if cell.text or cell.hard:
                    discardable = False
                this += 1
            if discardable and self.flags & DISCARD_EMPTY_COLUMNS:
                width = 0
            self._format(out, lines, line0, this, [*widths, width])
            line0 = this
        self._write_lines(out, lines, line0, line1, widths)

    def _write_lines(
        self, out: list[str], lines: list[list[_Cell]], line0: int, line1: int, widths: list[int]
    ) -> None:
        right = bool(self.flags & ALIGN_RIGHT) and self.padchar != "\t"
        for i in range(line0, line1):
            use_tabs = bool(self.flags & TAB_INDENT)
            for j, cell in enumerate(lines[i]):
                if j > 0 and self.flags & DEBUG:
                    out.append("|")
                pad = ""
                if j < len(widths):
                    pad = self._padding(len(cell.text), widths[j], use_tabs and not cell.text)
                if cell.text:
                    use_tabs = False
                out.append(pad + cell.text if right else cell.text + pad)
            if i + 1 < len(lines):
                out.append("\n")

    def _padding(self, textw: int, cellw: int, use_tabs: bool) -> str:
        if self.padchar == "\t" or use_tabs:
            if self.tabwidth == 0:
                return ""  # tabs without a width cannot pad
            cellw = -(-cellw // self.tabwidth) * self.tabwidth
            return "\t" * -(-(cellw - textw) // self.tabwidth)
        return self.padchar * (cellw - textw)


def _cells(line: str) -> list[_Cell]:
    cells: list[_Cell] = []
    start = 0
    for i, ch in enumerate(line):
        if ch in "\t\v":
            cells.append(_Cell(line[start:i], ch == "\t"))
            start = i + 1
    cells.append(_Cell(line[start:], False))
    return cells


FLEETCTL: Final = Writer(minwidth=0, tabwidth=8, padding=1, padchar="\t")
URFAVE_HELP: Final = Writer(minwidth=1, tabwidth=8, padding=2, padchar=" ")


def format_rows(rows: Iterable[Sequence[str]], writer: Writer = FLEETCTL) -> str:
    """Rows of cells written as `cell\\tcell\\t...last\\n`, then flushed through `writer`."""
    return writer.format("".join("\t".join(row) + "\n" for row in rows))
