"""Fixtures for the data processing tests: parameters from conf and slices of the demo portfolio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bank_segmentation.framework.datasets import CustomerTableDataset
from tests.conftest import REPO_ROOT
from tests.workspace import node_parameters


@pytest.fixture(scope="session")
def dp_params() -> dict[str, Any]:
    """The shipped data processing parameters."""
    return node_parameters()


@pytest.fixture(scope="session")
def demo_csv() -> Path:
    """The shipped demo customer table."""
    return REPO_ROOT / "data/01_raw/demo/customers.csv"


@pytest.fixture
def demo_raw(demo_csv: Path) -> pd.DataFrame:
    """The first 300 demo customers as the raw text table validation receives."""
    return CustomerTableDataset(str(demo_csv)).load().head(300).copy()
