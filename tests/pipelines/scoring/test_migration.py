"""Segment migration: every customer counted once, by segment name, against the newest published segments."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from bank_segmentation.core.migration import LEFT, NEW, REJECTED, measure_migration
from tests.conftest import read_output, run_default
from tests.pipelines.scoring.conftest import FAST_TRAINING

WATCH = {
    "top_flows": 5,
    "watch": [
        {"name": "going dormant", "from": ["active_transactors"], "to": ["dormant_users"]},
        {"name": "reactivated", "from": ["Dormant Users"], "to": ["*"]},
    ],
}


def frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["CUST_ID", "segment_name", "archetype"]).assign(source="training")


def test_every_customer_is_counted_once_and_moves_are_compared_by_name():
    previous = frame(
        [("a", "Transactors", "active_transactors"), ("b", "Transactors", "active_transactors")]
        + [("c", "Dormant Users", "dormant_users"), ("d", "Dormant Users", "dormant_users")]
        + [("e", "Revolvers", "revolvers"), ("f", "Revolvers", "revolvers")]
    )
    current = frame(
        [("a", "Dormant Users", "dormant_users"), ("b", "Transactors", "active_transactors")]
        + [("c", "Transactors", "active_transactors"), ("e", "Revolvers", "revolvers"), ("g", "Revolvers", "revolvers")]
    )
    report = measure_migration(previous, current, ["f", "x"], WATCH, "CUST_ID")  # f rejected now; x was never known
    counts = report["counts"]
    assert counts == {"previous": 6, "scored": 5, "stayed": 2, "moved": 2, "new": 1, "left": 1, "rejected": 1}
    assert counts["scored"] == counts["stayed"] + counts["moved"] + counts["new"]
    assert counts["previous"] == counts["stayed"] + counts["moved"] + counts["left"] + counts["rejected"]
    axes = report["matrix"]
    matrix = pd.DataFrame(axes["counts"], index=axes["rows"], columns=axes["columns"])
    assert matrix.to_numpy().sum() == counts["scored"] + counts["left"] + counts["rejected"]
    assert matrix.loc["Transactors", "Dormant Users"] == 1 and matrix.loc[NEW, "Revolvers"] == 1
    assert matrix.loc["Dormant Users", LEFT] == 1 and matrix.loc["Revolvers", REJECTED] == 1
    assert report["matrix"]["rows"][:-1] == report["matrix"]["columns"][:-2]  # stayers on the diagonal
    assert np.allclose(np.array(report["matrix"]["row_shares"]).sum(axis=1), 1.0)
    watched = {rule["name"]: rule for rule in report["watched"]}
    assert watched["going dormant"]["customers"] == 1 and watched["going dormant"]["share_of_from"] == 0.5
    assert watched["reactivated"]["flows"] == [{"from": "Dormant Users", "to": "Transactors", "customers": 1}]
    assert report["moved_share"] == pytest.approx(0.5)


def test_nothing_segmented_before_makes_every_scored_customer_new():
    current = frame([("a", "Transactors", "active_transactors")])
    report = measure_migration(frame([]), current, [], WATCH, "CUST_ID")
    assert report["previous_source"] is None
    assert report["counts"] == {"previous": 0, "scored": 1, "stayed": 0, "moved": 0, "new": 1, "left": 0, "rejected": 0}


def test_scoring_the_month_later_file_finds_who_moved_left_and_arrived(trained_project):
    raw = trained_project / "data/01_raw"
    month = pd.read_csv(raw / "customers_to_score.csv", dtype=str)
    broken = month.index[month["CUST_ID"].str.startswith("D0")][:3]  # known customers whose rows break a rule
    month.loc[broken, "BALANCE"] = "twelve"
    month.to_csv(raw / "customers_to_score.csv", index=False)
    run_default(trained_project, FAST_TRAINING, ["scoring"])

    migration = json.loads((trained_project / "data/08_reporting/migration.json").read_text())
    counts = migration["counts"]
    scored = pd.read_csv(trained_project / "data/07_model_output/scored_customers.csv")
    trained = read_output(trained_project, "data/07_model_output/segment_assignments.parquet")
    assert migration["previous_source"] == "training"
    assert counts["scored"] == len(scored) == len(month) - 3 and counts["previous"] == len(trained)
    assert counts["rejected"] == 3
    assert counts["left"] == len(set(trained["CUST_ID"]) - set(month["CUST_ID"]))
    assert counts["new"] == (~scored["CUST_ID"].isin(trained["CUST_ID"])).sum() == 600
    assert counts["scored"] == counts["stayed"] + counts["moved"] + counts["new"]
    assert counts["previous"] == counts["stayed"] + counts["moved"] + counts["left"] + counts["rejected"]
    assert scored["movement"].value_counts().to_dict() == {k: counts[k] for k in ("stayed", "moved", "new")}
    matrix = np.array(migration["matrix"]["counts"])
    assert matrix.sum() == counts["scored"] + counts["left"] + counts["rejected"]
    assert np.trace(matrix[:-1, :-2]) == counts["stayed"]

    # the planted month: purchasers who became dormant are found as valuable customers going dormant
    personas = pd.read_csv(raw / "demo/customers_to_score_personas.csv")
    was_purchaser = personas["PREVIOUS_PERSONA"].isin(["transactor", "affluent"])
    planted = personas[personas["PERSONA"].eq("dormant") & was_purchaser]
    found = scored.set_index("CUST_ID").loc[planted["CUST_ID"]]
    assert (found["movement"] == "moved").mean() >= 0.8
    watched = {rule["name"]: rule for rule in migration["watched"]}
    assert watched["valuable customers going dormant"]["customers"] >= len(planted) * 0.8
    # and customers who kept their habits mostly keep their segment
    kept = personas[personas["PERSONA"].eq(personas["PREVIOUS_PERSONA"])]["CUST_ID"]
    assert (scored.set_index("CUST_ID").reindex(kept)["movement"] == "stayed").mean() >= 0.95

    client = MlflowClient(f"sqlite:///{trained_project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("bank-customer-segmentation")
    latest = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)[0]
    assert latest.data.metrics["migration.moved"] == counts["moved"]
    assert latest.data.metrics["migration.watched.valuable_customers_going_dormant"] >= 1
    report = (trained_project / "data/08_reporting/scoring_report.html").read_text()
    assert "Who moved since last time" in report and "valuable customers going dormant" in report

    # the next scoring run compares with this one, the newest published segments
    run_default(trained_project, FAST_TRAINING, ["scoring"])
    again = json.loads((trained_project / "data/08_reporting/migration.json").read_text())
    assert again["previous_source"] == "scoring"
    assert again["counts"]["stayed"] == counts["scored"] and again["counts"]["moved"] == 0
