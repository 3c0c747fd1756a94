"""The validator's findings, printed as coreos-cloudinit prints them: `line N: error: message`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Entry:
    line: int
    kind: Severity
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.kind}: {self.message}"

    def to_json(self) -> dict[str, object]:
        # The same shape as coreos-cloudinit's Entry.MarshalJSON.
        return {"kind": self.kind, "message": self.message, "line": self.line}


@dataclass(slots=True)
class Report:
    entries: list[Entry] = field(default_factory=list)

    def error(self, line: int, message: str) -> None:
        self.entries.append(Entry(line, "error", message))

    def warning(self, line: int, message: str) -> None:
        self.entries.append(Entry(line, "warning", message))

    def info(self, line: int, message: str) -> None:
        self.entries.append(Entry(line, "info", message))

    def sorted(self) -> list[Entry]:
        """Entries by line (stable, so several findings on one line keep the order found)."""
        return sorted(self.entries, key=lambda e: e.line)

    @property
    def errors(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "error"]

    @property
    def has_errors(self) -> bool:
        return any(e.kind == "error" for e in self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.sorted())

    def __len__(self) -> int:
        return len(self.entries)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.sorted())


class CloudConfigInvalid(ValueError):
    """The cloud-config has errors; nothing was applied. `report` has every finding."""

    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(str(report))
