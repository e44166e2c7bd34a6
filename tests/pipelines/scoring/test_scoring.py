"""Scoring new customers with the trained model: same contract, training statistics, drift report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bank_segmentation.core.drift import population_stability_index
from tests.conftest import read_output, run_default
from tests.pipelines.scoring.conftest import FAST_TRAINING


def test_scoring_assigns_every_valid_customer_and_reports_drift(trained_project):
    run_default(trained_project, FAST_TRAINING, ["scoring"])
    to_score = pd.read_csv(trained_project / "data/01_raw/customers_to_score.csv")
    scored = pd.read_csv(trained_project / "data/07_model_output/scored_customers.csv")
    rejected = pd.read_csv(trained_project / "data/02_intermediate/rejected_customers_to_score.csv")
    assert len(scored) + len(rejected) == len(to_score)
    assert set(scored["CUST_ID"]) <= set(to_score["CUST_ID"])
    trained_segments = set(read_output(trained_project, "data/07_model_output/segment_assignments.parquet")["segment"])
    assert set(scored["segment"]) <= trained_segments
    names = pd.read_csv(trained_project / "data/08_reporting/segment_names.csv")
    assert (
        dict(zip(scored["segment"], scored["segment_name"])).items()
        <= dict(zip(names["segment"], names["name"])).items()
    )
    drift = json.loads((trained_project / "data/08_reporting/drift.json").read_text())
    assert drift["n_scored"] == len(scored)
    assert set(drift["features"]) >= {"BALANCE", "PURCHASES", "LIMIT_USAGE"}
    assert sum(row["scored_share"] for row in drift["segment_shares"]) == pytest.approx(1.0, abs=1e-5)  # rounded
    # every scored customer says why, in the rules of its segment most of the time
    catalogue = json.loads((trained_project / "data/08_reporting/segments.json").read_text())
    rules = {segment["name"]: {r["text"] for r in segment["rules"]["conditions"]} for segment in catalogue["segments"]}
    assert scored["why"].notna().all() and scored["rules_agree"].mean() >= 0.8
    agreeing = scored[scored["rules_agree"]]
    assert agreeing.apply(lambda row: bool(rules[row["segment_name"]]), axis=1).all()


def test_scoring_the_training_customers_reproduces_their_segments_without_refitting(trained_project):
    raw = trained_project / "data/01_raw"
    (raw / "customers.csv").replace(raw / "customers_to_score.csv")
    run_default(trained_project, FAST_TRAINING, ["scoring"])
    scored = pd.read_csv(trained_project / "data/07_model_output/scored_customers.csv")
    trained = read_output(trained_project, "data/07_model_output/segment_assignments.parquet")
    merged = trained.merge(scored, on="CUST_ID", suffixes=("_trained", "_scored"))
    assert len(merged) == len(trained)
    assert (merged["segment_trained"] == merged["segment_scored"]).all()
    drift = json.loads((trained_project / "data/08_reporting/drift.json").read_text())
    assert drift["max_psi"]["psi"] == pytest.approx(0.0, abs=1e-9)
    assert drift["max_share_shift"] == pytest.approx(0.0, abs=1e-9)


def test_psi_is_zero_for_the_same_population_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    base = rng.lognormal(6, 1.5, 20_000)
    assert population_stability_index(base, base, 10, 1e-4) == pytest.approx(0.0)
    mild = population_stability_index(base, base * 1.1, 10, 1e-4)
    strong = population_stability_index(base, base * 3, 10, 1e-4)
    assert 0 < mild < 0.1 < 0.25 < strong
