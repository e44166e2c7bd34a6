"""Another bank's table onboarded with one file: its schema in a new conf environment, nothing else.

The table has other column names, a plain number (age), a share, numbers written with thousands separators,
no tenure, and text and label columns the schema does not list. Every setting written for the shipped demo
that names columns it lacks is left out with a note, and the run goes end to end in the table's own terms.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import make_project_copy, run_default
from tests.workspace import DEMO_DIR, node_parameters

SCHEMA = {
    "id_column": "ClientId",
    "columns": {
        "Outstanding_Balance": "amount",
        "Total_Spend": "amount",
        "Cash_Withdrawals": "amount",
        "Spend_Months_Share": "frequency",
        "Card_Limit": "limit",
        "Repayments": "amount",
        "Transactions": "count",
        "Full_Repayment_Share": "share",
        "Age": "numeric",
        "Region": "ignore",
    },
}


def fast_blocks(project: Path) -> dict:
    """Whole copies of the demo's sweep, search and evaluation blocks made light (an environment replaces whole
    top-level keys, and Kedro merges runtime --params into the environment's blocks, so they are given whole)."""
    conf = project / "conf/base"
    clustering = yaml.safe_load((conf / "parameters_clustering.yml").read_text())["clustering"]
    clustering["sweep"].update({"variants": ["log_standard"], "k_min": 5, "k_max": 8})
    tuning = yaml.safe_load((conf / "parameters_tuning.yml").read_text())["tuning"]
    tuning["study"]["n_trials"] = 4
    evaluation = yaml.safe_load((conf / "parameters_evaluation.yml").read_text())["evaluation"]
    evaluation.update({"n_init": 4, "agreement": {"n_refits": 3, "sample_share": 0.8}})
    return {"clustering": clustering, "tuning": tuning, "evaluation": evaluation}


def other_bank_table(demo: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "ClientId": [f"B{i:06d}" for i in range(len(demo))],
            "Outstanding_Balance": demo["BALANCE"].round(2),
            "Total_Spend": [f"{value:,.2f}" for value in demo["PURCHASES"]],  # "12,345.67"
            "Cash_Withdrawals": demo["CASH_ADVANCE"].round(2),
            "Spend_Months_Share": demo["PURCHASES_FREQUENCY"],
            "Card_Limit": demo["CREDIT_LIMIT"],
            "Repayments": demo["PAYMENTS"].round(2),
            "Transactions": demo["PURCHASES_TRX"],
            "Full_Repayment_Share": demo["PRC_FULL_PAYMENT"],
            "Age": rng.integers(20, 80, len(demo)),
            "Region": rng.choice(["North", "South", "East"], len(demo)),
            "Churned": rng.integers(0, 2, len(demo)),
        }
    )


@pytest.fixture(scope="module")
def other_bank(tmp_path_factory: pytest.TempPathFactory) -> dict:
    project = make_project_copy(tmp_path_factory.mktemp("other_bank") / "project")
    table = other_bank_table(pd.read_csv(project / DEMO_DIR / "customers.csv").head(1500))
    table.to_csv(project / "data/01_raw/customers.csv", index=False)
    (project / "conf/otherbank").mkdir()
    (project / "conf/otherbank/parameters_data_processing.yml").write_text(yaml.safe_dump({"schema": SCHEMA}))
    (project / "conf/otherbank/parameters_fast.yml").write_text(yaml.safe_dump(fast_blocks(project)))
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("bank_segmentation").addHandler(handler)
    try:
        run_default(project, {}, env="otherbank")
    finally:
        logging.getLogger("bank_segmentation").removeHandler(handler)
    return {"project": project, "table": table, "log": "\n".join(r.getMessage() for r in records)}


def test_every_row_is_kept_and_thousands_separators_are_numbers(other_bank):
    quality = json.loads((other_bank["project"] / "data/08_reporting/data_quality.json").read_text())
    assert quality["rows_in"] == quality["rows_kept"] == len(other_bank["table"])
    assert quality["rows_quarantined"] == 0


def test_a_column_set_to_ignore_is_carried_to_the_customer_features_but_never_used(other_bank):
    project = other_bank["project"]
    features = pd.read_parquet(project / "data/04_feature/customer_features.parquet")
    model_input = pd.read_parquet(project / "data/05_model_input/model_input.parquet")
    table = other_bank["table"].set_index("ClientId")
    assert (features.set_index("ClientId")["Region"] == table.loc[features["ClientId"], "Region"]).all()
    assert "Region" not in model_input.columns


def test_segments_are_named_in_the_tables_own_terms(other_bank):
    catalogue = json.loads((other_bank["project"] / "data/08_reporting/segments.json").read_text())
    names = [segment["name"] for segment in catalogue["segments"]]
    archetypes = {spec["name"] for spec in node_parameters()["reporting"]["naming"]["archetypes"].values()}
    labels = {column.replace("_", " ").title() for column, role in SCHEMA["columns"].items() if role != "ignore"}
    assert all(names) and len(set(names)) == len(names) and not set(names) & archetypes
    assert all(any(label in name for label in labels) for name in names)
    assert set(catalogue["segments"][0]["key_statistics"]) <= set(SCHEMA["columns"]) - {"Region"}


def test_the_report_does_not_assume_credit_cards(other_bank):
    html = (other_bank["project"] / "data/08_reporting/segmentation_report.html").read_text()
    assert "<h1>Customer segments</h1>" in html or ">Customer segments<" in html
    assert "Credit-card customer segments" not in html


def test_the_campaign_list_is_keyed_by_the_tables_id_column(other_bank):
    campaign = pd.read_csv(other_bank["project"] / "data/08_reporting/campaign_list.csv")
    assert list(campaign.columns)[0] == "ClientId"
    assert set(campaign["ClientId"]) == set(other_bank["table"]["ClientId"])


def test_each_setting_written_for_the_demo_is_fitted_with_one_note(other_bank):
    log = other_bank["log"]
    assert "features.kpis: KPIs left out" in log and "features.groups: derived from the roles" in log
    assert "naming: " in log and "archetypes skipped" in log
