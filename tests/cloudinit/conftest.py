from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def published_seed() -> str:
    return (DATA / "seed-cloud-config.published.yml").read_text(encoding="utf-8")


@pytest.fixture
def fixed_seed() -> str:
    return (DATA / "seed-cloud-config.fixed.yml").read_text(encoding="utf-8")
