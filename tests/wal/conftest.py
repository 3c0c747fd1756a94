"""Fixtures for the storage tests."""

from __future__ import annotations

import pytest


@pytest.fixture(params=[True, False], ids=["prealloc", "no-prealloc"])
def prealloc(request: pytest.FixtureRequest) -> bool:
    """Run a test with segments preallocated (the default) and without."""
    return bool(request.param)
