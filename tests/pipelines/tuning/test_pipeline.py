"""End to end through the real Kedro runner: the study persists, every trial is a nested MLflow run, every
(trial, k) is a candidate of the model choice, and training fits the chosen one."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import yaml
from mlflow.tracking import MlflowClient

from bank_segmentation.core.preprocessing import build_preprocessor, feature_space
from tests.pipelines.tuning.conftest import FAST_EVALUATION
from tests.workspace import node_parameters

FAST: dict[str, Any] = {
    "evaluation": FAST_EVALUATION,
    "tuning": {"study": {"n_trials": 5}},
    "model_choice": {"sources": ["search"]},
    "training": {"mlflow": {"log_model": False}},
}


def tuning_runs(project: Path) -> list[Any]:
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("bank-customer-segmentation")
    return client.search_runs([experiment.experiment_id], filter_string="tags.stage = 'tuning'", max_results=1000)


def study_trials(project: Path) -> list[optuna.trial.FrozenTrial]:
    storage = f"sqlite:///{project / 'data/06_models/optuna.db'}"
    (name,) = optuna.study.get_all_study_names(storage)
    return optuna.load_study(study_name=name, storage=storage).trials


def latest_model(project: Path) -> Any:
    versions = sorted((project / "data/06_models/segmentation_model.pkl").iterdir())
    return pickle.loads((versions[-1] / "segmentation_model.pkl").read_bytes())


def test_kedro_run_tunes_tracks_every_trial_trains_the_winner_and_a_rerun_continues(run_pipeline, project_copy):
    run_pipeline(["data_processing", "clustering", "tuning", "model_choice", "training"], FAST)

    assert len(study_trials(project_copy)) == 5
    summary = json.loads((project_copy / "data/08_reporting/tuning_summary.json").read_text())
    assert summary["ran"] and summary["trials_total"] == 5
    assert (project_copy / "data/08_reporting/tuning/optimisation_history.html").stat().st_size > 0
    best = summary["best_trial"]
    assert best["metrics"]["smallest_segment_share"] >= 0.02 and best["metrics"]["agreement"] >= 0.9

    # the search alone fed the model choice: every trial fitted every k of the business bounds
    selection = json.loads((project_copy / "data/08_reporting/model_selection.json").read_text())
    trials = pd.read_csv(project_copy / "data/08_reporting/tuning_trials.csv")
    complete = trials[(trials["state"] == "COMPLETE") & trials["duplicate_of"].isna()]
    assert len(selection["candidates"]) == 4 * len(complete)
    assert selection["sources"]["sweep"]["ran"] is False
    chosen = selection["chosen"]
    assert chosen["source"] == "search" and 5 <= chosen["k"] <= 8

    # training fitted exactly the chosen configuration, with the shipped restarts
    config = yaml.safe_load((project_copy / "data/06_models/segmentation_config.yml").read_text())
    assert (config["spec"], config["k"]) == (chosen["spec"], chosen["k"])
    model = latest_model(project_copy)
    assert model.named_steps["segment"].n_clusters == chosen["k"]
    assert model.named_steps["segment"].n_init == FAST_EVALUATION["n_init"]
    params = node_parameters()
    roles, groups = feature_space(params["schema"], params["features"])
    expected = build_preprocessor(chosen["spec"], roles, groups)
    fitted = model.named_steps["preprocess"]
    assert [name for name, _ in fitted.steps] == [name for name, _ in expected.steps]
    assert list(fitted.named_steps["select"].columns) == list(expected.named_steps["select"].columns)
    assignments = pd.read_parquet(project_copy / "data/07_model_output/segment_assignments.parquet")
    assert assignments["segment"].nunique() == chosen["k"]

    # every trial is a nested run of the kedro run, with its state, objective and constraints
    runs = tuning_runs(project_copy)
    assert len(runs) == 5
    assert len({r.data.tags["mlflow.parentRunId"] for r in runs}) == 1
    assert sorted(int(r.data.tags["trial_number"]) for r in runs) == list(range(5))
    complete = [r for r in runs if r.data.tags["state"] == "COMPLETE"]
    assert complete and all(
        {"silhouette_ref", "objective_silhouette_ref", "constraint_min_agreement", "silhouette_ref_k5"}
        <= set(r.data.metrics)
        for r in complete
    )
    parent = MlflowClient(f"sqlite:///{project_copy / 'mlflow.db'}")
    artifacts = {a.path for a in parent.list_artifacts(runs[0].data.tags["mlflow.parentRunId"], "tuning")}
    assert {
        "tuning/optimisation_history.html",
        "tuning/param_importances.html",
        "tuning/parallel_coordinates.html",
        "tuning/tuning_summary.json",
        "tuning/tuning_trials.csv",
    } <= artifacts

    # a second run continues the same study: 10 trials, 10 nested runs
    run_pipeline(["tuning"], FAST)
    trials = study_trials(project_copy)
    assert sorted(t.number for t in trials) == list(range(10))
    runs = tuning_runs(project_copy)
    assert len(runs) == len(trials) == 10
    assert sorted(int(r.data.tags["trial_number"]) for r in runs) == list(range(10))
