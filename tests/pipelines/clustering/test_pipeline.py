"""End to end through the real Kedro runner: sweep, nested MLflow runs, the model choice, training, assignments."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient
from sklearn.metrics import adjusted_rand_score

from tests.conftest import read_output

# A small sweep: two variants x four k, few refits, the search off, so a run takes seconds.
SMALL_SWEEP: dict[str, Any] = {
    "clustering": {"sweep": {"variants": ["seed_baseline", "winsor_log_standard"], "k_min": 5, "k_max": 8}},
    "evaluation": {"n_init": 4, "agreement": {"n_refits": 4}},
    "model_choice": {"sources": ["sweep"]},
}
N_CANDIDATES = 2 * 4
PIPELINES = ["data_processing", "clustering", "tuning", "model_choice", "training"]


def sweep_runs(project: Path) -> list[Any]:
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("bank-customer-segmentation")
    return client.search_runs([experiment.experiment_id], filter_string="tags.stage = 'sweep'")


def test_sweep_selects_trains_and_tracks_a_model_that_recovers_the_demo_personas(
    run_pipeline, project_copy, monkeypatch
):
    # Loading the MLflow model prepends its code folder to sys.path: undo that for later tests' subprocesses.
    monkeypatch.setattr(sys, "path", list(sys.path))
    run_pipeline(PIPELINES, SMALL_SWEEP)

    sweep = read_output(project_copy, "data/08_reporting/sweep_results.csv")
    assert len(sweep) == N_CANDIDATES
    assert {"silhouette_ref", "silhouette_ref_se", "agreement", "agreement_min", "coverage"} <= set(sweep)
    assert sweep["agreement"].notna().all()  # every swept k lies within the business bounds here

    selection = json.loads((project_copy / "data/08_reporting/model_selection.json").read_text())
    assert selection["mode"] == "rule"
    chosen = selection["chosen"]
    assert chosen["source"] == "sweep" and 5 <= chosen["k"] <= 8
    assert chosen["metrics"]["smallest_segment_share"] >= 0.02 and chosen["metrics"]["agreement"] >= 0.9
    assert chosen["metrics"]["coverage"] >= 0.9
    assert len(selection["candidates"]) == N_CANDIDATES
    assert selection["sources"]["search"] == {"ran": False, "trials": 0, "candidates": 0}

    runs = sweep_runs(project_copy)
    assert len(runs) == N_CANDIDATES
    parents = {run.data.tags["mlflow.parentRunId"] for run in runs}
    assert len(parents) == 1
    assert {run.data.params["variant"] for run in runs} == {"seed_baseline", "winsor_log_standard"}
    assert all("silhouette_ref" in run.data.metrics for run in runs)
    client = MlflowClient(f"sqlite:///{project_copy / 'mlflow.db'}")
    parent = parents.pop()
    decision = client.get_run(parent).data
    assert decision.params["decision.chosen"] == chosen["id"] and decision.metrics["decision.k"] == chosen["k"]
    assert decision.metrics["decision.agreement"] == chosen["metrics"]["agreement"]
    assert not client.list_artifacts(parent, "sweep")  # the sweep's curves are the report's figures, drawn once

    assignments = read_output(project_copy, "data/07_model_output/segment_assignments.parquet")
    assert list(assignments) == ["CUST_ID", "segment", "distance_to_centroid", "second_closest_segment"]
    assert assignments["segment"].nunique() == chosen["k"]
    assert (assignments["segment"] != assignments["second_closest_segment"]).all()
    personas = read_output(project_copy, "data/01_raw/customer_personas.csv")
    merged = assignments.merge(personas, on="CUST_ID", validate="1:1")
    assert len(merged) == len(personas)
    assert adjusted_rand_score(merged["PERSONA"], merged["segment"]) >= 0.6

    # determinism: a second run gives the very same segments
    run_pipeline(["clustering", "tuning", "model_choice", "training"], SMALL_SWEEP)
    again = read_output(project_copy, "data/07_model_output/segment_assignments.parquet")
    pd.testing.assert_frame_equal(again, assignments)
    assert len(sweep_runs(project_copy)) == 2 * N_CANDIDATES
