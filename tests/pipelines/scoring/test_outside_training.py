"""Scoring flags customers outside what training saw, counts them in drift.json and warns on major drift."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_default
from tests.pipelines.scoring.conftest import FAST_TRAINING, copy_of
from tests.workspace import node_parameters

SHIPPED = Path(__file__).resolve().parents[3] / "data/01_raw/demo/customers_to_score.csv"
NODES_LOGGER = "bank_segmentation.pipelines.scoring.nodes"


@pytest.fixture(scope="module")
def trained(trained_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the trained demo project; each test scores its own file in it."""
    return copy_of(trained_demo, tmp_path_factory.mktemp("outside_training") / "project")


def score(project: Path, customers: pd.DataFrame, caplog: pytest.LogCaptureFixture) -> tuple[pd.DataFrame, dict]:
    """Score ``customers`` in the trained project; the scored customers and the drift report."""
    customers.to_csv(project / "data/01_raw/customers_to_score.csv", index=False)
    with caplog.at_level(logging.INFO, logger=NODES_LOGGER):
        run_default(project, FAST_TRAINING, ["scoring"])
    scored = pd.read_csv(project / "data/07_model_output/scored_customers.csv")
    return scored, json.loads((project / "data/08_reporting/drift.json").read_text())


def amount_columns(project: Path) -> list[str]:
    """The columns the data contract declares as money amounts."""
    params = node_parameters()
    return [col for col, role in params["schema"].columns.items() if role == "amount"]


def warnings_from_scoring(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Messages the scoring nodes logged at WARNING or above."""
    return [r.getMessage() for r in caplog.records if r.name == NODES_LOGGER and r.levelno >= logging.WARNING]


def test_customers_far_outside_training_are_flagged_and_ordinary_ones_are_not(trained, caplog):
    customers = pd.read_csv(SHIPPED, dtype=str)
    amounts = amount_columns(trained)
    spending = customers[amounts].astype(float)
    # Customers who really spend and pay: x1e6 moves them far from anything training saw.
    active = customers.index[(spending[["BALANCE", "PURCHASES", "PAYMENTS"]] > 100).all(axis=1)]
    inflated, old = list(active[[0, 100, 200]]), [7, 400, 800]
    customers.loc[inflated, amounts] = (spending.loc[inflated] * 1e6).astype(str).to_numpy()
    customers.loc[old, "TENURE"] = "600"
    hostile = set(customers.loc[inflated + old, "CUST_ID"])

    scored, drift = score(trained, customers, caplog)

    assert len(scored) == len(customers)
    flagged = set(scored.loc[scored["outside_training"], "CUST_ID"])
    assert flagged == hostile, f"false flags: {sorted(flagged - hostile)}, missed: {sorted(hostile - flagged)}"
    assert (scored.loc[scored["outside_training"], "distance_percentile"] == 100).all()
    ordinary = scored[~scored["CUST_ID"].isin(hostile)]
    assert ordinary["distance_percentile"].between(0, 100).all() and ordinary["distance_percentile"].median() < 80
    outside = drift["outside_training"]
    assert outside["n_flagged"] == len(hostile) == sum(outside["by_segment"].values())
    assert outside["share"] == pytest.approx(len(hostile) / len(customers), abs=1e-6)  # 6 decimals
    warnings = warnings_from_scoring(caplog)
    assert any(f"{len(hostile)} of {len(customers)} scored customer(s) lie outside" in m for m in warnings)
    assert not any("Major drift" in m for m in warnings), "six customers are no population drift"


def named_columns(message: str) -> set[str]:
    """The columns a drift message lists as 'COLUMN psi'."""
    return set(re.findall(r"([A-Z][A-Z_]+) \d", message))


def test_major_drift_is_a_warning_naming_the_column_and_moderate_drift_stays_info(trained, caplog):
    customers = pd.read_csv(SHIPPED, dtype=str)
    # A new customer base buying three times more and drawing twice the cash advances.
    for col, factor in {"PURCHASES": 3, "ONEOFF_PURCHASES": 3, "INSTALLMENTS_PURCHASES": 3, "CASH_ADVANCE": 2}.items():
        customers[col] = (customers[col].astype(float) * factor).astype(str)

    _, drift = score(trained, customers, caplog)

    levels = {col: row["level"] for col, row in drift["features"].items()}
    assert levels["PURCHASES"] == "major" and levels["CASH_ADVANCE"] == "moderate" and levels["TENURE"] == "stable"
    [major] = [m for m in warnings_from_scoring(caplog) if "Major drift" in m]
    assert named_columns(major) == {col for col, level in levels.items() if level == "major"}
    info = [r.getMessage() for r in caplog.records if r.name == NODES_LOGGER and r.levelno == logging.INFO]
    [moderate] = [m for m in info if "Moderate drift" in m]
    assert named_columns(moderate) == {col for col, level in levels.items() if level == "moderate"}
