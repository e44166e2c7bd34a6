"""Nodes of the ``demo_data`` pipeline: pure functions of ``params:demo_data``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from bank_segmentation.pipelines.demo_data.generator import generate_portfolio, month_later

PORTFOLIO_KEYS = ("n_customers", "seed", "persona_shares", "id_prefix", "id_start")


def _portfolio(params: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One portfolio from a parameter block holding ``generate_portfolio`` arguments."""
    return generate_portfolio(**{key: params[key] for key in PORTFOLIO_KEYS if key in params})


def generate_demo_customers(params: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo portfolio to segment and its planted personas."""
    return _portfolio(params)


def generate_customers_to_score(
    demo_customers: pd.DataFrame, customer_personas: pd.DataFrame, params: Mapping[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The portfolio a month later, to score (``params.to_score``): most customers stay, some change habits,
    some leave, new ones arrive."""
    month = params["to_score"]
    new_customers = {key: month["new_customers"][key] for key in PORTFOLIO_KEYS if key in month["new_customers"]}
    settings = {key: month[key] for key in ("seed", "stay_share", "moves", "amount_drift_sigma")}
    return month_later(demo_customers, customer_personas, **settings, new_customers=new_customers)
