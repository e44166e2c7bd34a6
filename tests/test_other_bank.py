"""Another bank's table onboarded with one file: its schema in a new conf environment, nothing else.

The table has other column names, a plain number (age), a share, a ratio, numbers written with thousands
separators, no tenure, a categorical column (card tier), a label (attrition) and a text column only carried
(region). Every setting written for the shipped demo
that names columns it lacks is left out with a note, and the run goes end to end in the table's own terms.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

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
        "Utilisation": "ratio",
        "Age": "numeric",
        "Card_Tier": "categorical",
        "Attrition": "label",
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
            "Utilisation": (demo["BALANCE"] / demo["CREDIT_LIMIT"]).round(3),
            "Age": rng.integers(20, 80, len(demo)),
            # the tier follows the limit, attrition is likelier where the card is barely used
            "Card_Tier": pd.cut(demo["CREDIT_LIMIT"], [0, 2500, 7000, np.inf], labels=["Blue", "Silver", "Gold"]),
            "Attrition": np.where(
                rng.random(len(demo)) < np.where(demo["PURCHASES_FREQUENCY"] < 0.2, 0.35, 0.08),
                "Attrited Customer",
                "Existing Customer",
            ),
            "Region": rng.choice(["North", "South", "East"], len(demo)),
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


def test_the_categorical_and_the_label_are_described_per_segment_never_used_as_features(other_bank):
    project, table = other_bank["project"], other_bank["table"]
    catalogue = json.loads((project / "data/08_reporting/segments.json").read_text())
    assignments = pd.read_parquet(project / "data/07_model_output/segment_assignments.parquet")
    joined = assignments.merge(table, on="ClientId", validate="one_to_one")
    model_input = pd.read_parquet(project / "data/05_model_input/model_input.parquet")
    assert not {"Card_Tier", "Attrition"} & set(model_input.columns)

    by_name = {segment["name"]: segment for segment in catalogue["segments"]}
    names = pd.read_csv(project / "data/08_reporting/campaign_list.csv").set_index("ClientId")["segment_name"]
    joined["name"] = names.loc[joined["ClientId"]].to_numpy()
    for name, members in joined.groupby("name"):
        attrition = by_name[name]["labels"]["Attrition"]
        assert attrition["value"] == "Attrited Customer"  # the rarer of the label's two values
        assert attrition["rate"] == pytest.approx((members["Attrition"] == "Attrited Customer").mean())
        tiers = by_name[name]["categories"]["Card_Tier"]["shares"]
        expected = members["Card_Tier"].astype("string").fillna("(missing)").value_counts(normalize=True)
        assert {tier: tiers[tier] for tier in expected.index} == pytest.approx(expected.to_dict())
    assert attrition["portfolio_rate"] == pytest.approx((table["Attrition"] == "Attrited Customer").mean())
    rates = [segment["labels"]["Attrition"]["rate"] for segment in catalogue["segments"]]
    assert max(rates) > 2 * min(rates)  # attrition follows how the card is used: the segments tell it apart

    html = (project / "data/08_reporting/segmentation_report.html").read_text()
    assert "Attrition: share of customers with Attrited Customer" in html and "Card Tier: share of each value" in html
    assert "Attrition = Attrited Customer:" in html  # on every segment card


def test_segments_are_named_in_the_tables_own_terms(other_bank):
    catalogue = json.loads((other_bank["project"] / "data/08_reporting/segments.json").read_text())
    names = [segment["name"] for segment in catalogue["segments"]]
    archetypes = {spec["name"] for spec in node_parameters()["reporting"]["naming"]["archetypes"].values()}
    text_roles = {"categorical", "label", "ignore"}
    labels = {column.replace("_", " ").title() for column, role in SCHEMA["columns"].items() if role not in text_roles}
    assert all(names) and len(set(names)) == len(names) and not set(names) & archetypes
    assert all(any(label in name for label in labels) for name in names)
    assert set(catalogue["segments"][0]["key_statistics"]) <= {
        c for c, role in SCHEMA["columns"].items() if role not in text_roles
    }


def test_the_report_does_not_assume_credit_cards(other_bank):
    html = (other_bank["project"] / "data/08_reporting/segmentation_report.html").read_text()
    assert "<h1>Customer segments</h1>" in html or ">Customer segments<" in html
    assert "credit" not in html.lower() and "card holder" not in html.lower()


def test_the_campaign_list_is_keyed_by_the_tables_id_column_and_carries_its_ignored_column(other_bank):
    campaign = pd.read_csv(other_bank["project"] / "data/08_reporting/campaign_list.csv")
    assert list(campaign.columns)[:2] == ["ClientId", "Region"]
    table = other_bank["table"].set_index("ClientId")
    assert set(campaign["ClientId"]) == set(table.index)
    assert (campaign["Region"].to_numpy() == table.loc[campaign["ClientId"], "Region"].to_numpy()).all()


def test_each_setting_written_for_the_demo_is_fitted_with_one_note(other_bank):
    log = other_bank["log"]
    assert "features.kpis: KPIs left out" in log and "features.groups: derived from the roles" in log
    assert "naming: " in log and "archetypes skipped" in log
    assert "model_choice.rule.min_coverage: 0, no archetype fits" in log  # coverage would be 0 for every candidate
    notes = log.count("settings fitted to the table: ")
    assert f"Settings fitted to your table: {notes} change(s), listed in info.log" in log  # the terminal's line


def test_mlflow_runs_are_named_for_what_ran(other_bank):
    client = MlflowClient(f"sqlite:///{other_bank['project'] / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("bank-customer-segmentation")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    (parent,) = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    assert re.fullmatch(r"default · (tuned|swept) k=\d+ · customers\.csv", parent.info.run_name)
    nested = [run.info.run_name for run in runs if run is not parent]
    assert nested and all(re.fullmatch(r"sweep · \w+ · k=\d+|trial \d+( · k=\d+)?", name) for name in nested), nested
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
