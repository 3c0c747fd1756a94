"""Go's fmt verbs where shoal's log lines and messages must print a value as Go prints it."""

from __future__ import annotations

from collections.abc import Iterable


def sprint_list(items: Iterable[object]) -> str:
    """`%v` of a slice: `[a b c]` (elements by their own %v, space-separated), never a repr."""
    return "[" + " ".join(str(i) for i in items) + "]"
