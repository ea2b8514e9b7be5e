"""Shared test fixtures.

Real-data tests use the ``shared_data`` fixture: with ``NEURODL_DATA`` set (as in CI), a missing
file is a failure; without it, the test is skipped with a clear reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


def _data_root() -> Path | None:
    root = os.environ.get("NEURODL_DATA")
    return Path(root) if root else None


@pytest.fixture
def shared_data():
    """Return a function ``get(relpath) -> Path`` under the real-data root."""
    root = _data_root()
    if root is None:
        pytest.skip("real data not available: set NEURODL_DATA (e.g. NEURODL_DATA=../shared/data)")

    def get(relpath: str) -> Path:
        path = root / relpath
        if not path.exists():
            pytest.fail(f"NEURODL_DATA={root} is set but {relpath} is missing under it")
        return path

    return get


@pytest.fixture
def rng():
    return np.random.default_rng(0)
