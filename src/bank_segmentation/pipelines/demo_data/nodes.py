"""Nodes of the ``demo_data`` pipeline: pure functions of ``params:demo_data``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from bank_segmentation.pipelines.demo_data.generator import generate_portfolio

PORTFOLIO_KEYS = ("n_customers", "seed", "persona_shares", "id_prefix", "id_start")


def _portfolio(params: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One portfolio from a parameter block holding ``generate_portfolio`` arguments."""
    return generate_portfolio(**{key: params[key] for key in PORTFOLIO_KEYS if key in params})


def generate_demo_customers(params: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo portfolio to segment and its planted personas."""
    return _portfolio(params)


def generate_customers_to_score(params: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """New customers to score (``params.to_score``: own seed, id range and drifted mix)."""
    return _portfolio(params["to_score"])
