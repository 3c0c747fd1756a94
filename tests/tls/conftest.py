from __future__ import annotations

from pathlib import Path

import pytest
from pki import PKI


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return PKI.make(Path(tmp_path_factory.mktemp("pki")))
