"""The documents of a clone stand alone (issue 19, row 17): no pointer to files outside the
repository (the planning folder a session had), and every relative link names a file that is
there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "bench").glob("*.md"),
     *(ROOT / "src").rglob("README.md")]
)  # fmt: skip
OUTSIDE = re.compile(r"\.\./shared|shared folder|/work/|seed/000_")
LINK = re.compile(r"\]\(([^)#\s]+)")


def test_no_document_points_outside_the_repository() -> None:
    bad = [
        f"{d.relative_to(ROOT)}:{n}: {line.strip()}"
        for d in DOCS
        for n, line in enumerate(d.read_text().splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not bad, "pointers outside the repository:\n" + "\n".join(bad)


def test_every_relative_link_names_a_file_of_the_repository() -> None:
    bad = []
    for d in DOCS:
        for target in LINK.findall(d.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (d.parent / target).exists():
                bad.append(f"{d.relative_to(ROOT)}: {target}")
    assert not bad, "links to nothing:\n" + "\n".join(bad)


def test_the_readme_links_the_design_and_the_architecture() -> None:
    text = (ROOT / "README.md").read_text()
    assert "(docs/design.md)" in text and "(docs/architecture.md)" in text
