"""Fixtures of the reporting tests: parameters from conf/base and a realistic demo portfolio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bank_segmentation.core.naming import name_segments
from bank_segmentation.core.profiles import build_segment_profiles
from bank_segmentation.pipelines.data_processing.nodes import engineer_features
from bank_segmentation.pipelines.demo_data.generator import generate_portfolio
from bank_segmentation.pipelines.reporting.exports import build_segment_catalogue
from tests.workspace import node_parameters

CONF = Path(__file__).resolve().parents[3] / "conf" / "base"

PIPELINES = ["data_processing", "clustering", "tuning", "model_choice", "training", "reporting"]
# A small sweep keeps the run fast: one variant, no search, few refits.
SMALL_SWEEP = {
    "clustering": {"sweep": {"variants": ["winsor_log_standard"], "k_min": 3, "k_max": 9}},
    "evaluation": {"n_init": 4, "agreement": {"n_refits": 3}},
    "model_choice": {"sources": ["sweep"]},
    "training": {"mlflow": {"log_model": False}},
}
REPORTING = Path("data/08_reporting")

# Which archetype each planted demo persona should be named after.
PERSONA_ARCHETYPES = {
    "transactor": "Active Transactors / Full Payers",
    "revolver": "Revolvers",
    "installment_buyer": "Installment Buyers",
    "oneoff_buyer": "One-off Buyers",
    "cash_advance_heavy": "Cash Advance Heavy Users",
    "dormant": "Dormant Users",
    "new_customer": "New Customers",
    "affluent": "Affluent High Spenders (VIP)",
    "all_rounder": "All-Round Users",
}


@pytest.fixture(scope="session")
def reporting_params() -> dict[str, Any]:
    """The ``reporting`` parameters block as shipped."""
    return node_parameters()["reporting"]


@pytest.fixture(scope="session")
def data_params() -> dict[str, Any]:
    """The data-processing parameters (schema and features) as shipped."""
    return node_parameters()


@pytest.fixture(scope="session")
def demo_portfolio(data_params: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(customer_features, personas) of a 4,000-customer demo portfolio with every persona."""
    customers, personas = generate_portfolio(4000, seed=7)
    numeric = customers.columns.drop("CUST_ID")
    customers[numeric] = customers[numeric].fillna(customers[numeric].median())
    return engineer_features(customers, data_params["features"]), personas


@pytest.fixture(scope="session")
def persona_assignments(demo_portfolio: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """A perfect segmentation of the demo portfolio: one segment per planted persona."""
    _, personas = demo_portfolio
    codes = {persona: i for i, persona in enumerate(sorted(personas["PERSONA"].unique()))}
    return pd.DataFrame({"CUST_ID": personas["CUST_ID"], "segment": personas["PERSONA"].map(codes).astype(int)})


def segment_catalogue(
    features: pd.DataFrame, assignments: pd.DataFrame, params: dict[str, Any], data_params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """(profiles, names, segments.json content) of a segmentation, as the reporting nodes build them."""
    profiles = build_segment_profiles(features, assignments, "CUST_ID", params["profiles"])
    names = name_segments(profiles, params["naming"], params["feature_labels"])
    catalogue = build_segment_catalogue(
        features,
        profiles,
        names,
        params["playbook"],
        params["feature_labels"],
        params["naming"],
        data_params["schema"],
        data_params["features"],
        params["catalogue"],
    )
    return profiles, names, catalogue
