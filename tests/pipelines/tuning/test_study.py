"""The Optuna study on the demo portfolio: reproducible, constrained, resumable, safe to share."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from bank_segmentation.evaluation import EvaluationSettings
from bank_segmentation.pipelines.tuning import nodes
from bank_segmentation.pipelines.tuning.objective import CandidateScorer, Objective
from bank_segmentation.pipelines.tuning.search_space import point
from bank_segmentation.preprocessing import feature_space
from tests.pipelines.tuning.conftest import evaluation_params, tuning_params


def tune(demo_inputs: dict[str, Any], tuning: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    params = demo_inputs["params"]
    return nodes.tune_segmentation(
        demo_inputs["model_input"], tuning, evaluation_params(params), params["schema"], params["features"]
    )


def test_a_fresh_study_with_the_same_seed_finds_the_same_best_trial(demo_inputs, tmp_path):
    # parallel trials (n_jobs=2) and the TPE model active after 4 random trials
    study = {"n_trials": 8, "n_jobs": 2, "sampler": {"n_startup_trials": 4, "population_size": 10}}
    first, run_a = tune(demo_inputs, tuning_params(tmp_path / "a.db", **study))
    second, run_b = tune(demo_inputs, tuning_params(tmp_path / "b.db", **study))

    params = [c for c in first.columns if c.startswith("param_")]
    pd.testing.assert_frame_equal(first[params], second[params])
    assert first.loc[first["chosen"], "number"].tolist() == second.loc[second["chosen"], "number"].tolist()
    best_a, _ = nodes.select_tuned_segmentation(first, run_a, demo_inputs["params"]["evaluation"])
    best_b, _ = nodes.select_tuned_segmentation(second, run_b, demo_inputs["params"]["evaluation"])
    assert (best_a["spec"], best_a["k"], best_a["n_init"]) == (best_b["spec"], best_b["k"], best_b["n_init"])


def sampler_only(tuning: dict[str, Any]) -> dict[str, Any]:
    """The study with k and n_init sampled and no start point or local search: every trial is the sampler's."""
    tuning["search_space"]["per_trial"] = []
    tuning["study"].update(start_from_reference=False, local_search="none")
    return tuning


def test_infeasible_trials_are_recorded_but_never_chosen(demo_inputs, tmp_path):
    # While the sampler is still random, both studies try the same 10 configurations (k sampled too, so a
    # trial cannot escape the constraint by keeping another k).
    study = {"n_trials": 10, "sampler": {"n_startup_trials": 20, "population_size": 10}}
    free = sampler_only(tuning_params(tmp_path / "free.db", **study))
    free["constraints"] = {"min_segment_share": None, "min_stability": None}
    unconstrained, _ = tune(demo_inputs, free)
    top = unconstrained.sort_values("objective_silhouette_ref", ascending=False).iloc[0]

    # a minimum segment share just above the unconstrained winner's smallest segment rules it out
    constrained = sampler_only(tuning_params(tmp_path / "constrained.db", **study))
    constrained["constraints"] = {"min_segment_share": top["smallest_segment_share"] + 1e-9, "min_stability": None}
    trials, run = tune(demo_inputs, constrained)

    winner_again = trials[trials["number"] == top["number"]].iloc[0]
    assert winner_again["state"] == "COMPLETE" and not winner_again["feasible"]
    assert winner_again["constraint_min_segment_share"] > 0
    chosen = trials[trials["chosen"]]
    assert len(chosen) == 1 and chosen["feasible"].all()
    feasible = trials[trials["feasible"]]
    assert chosen["objective_silhouette_ref"].iloc[0] == feasible["objective_silhouette_ref"].max()
    assert chosen["objective_silhouette_ref"].iloc[0] < winner_again["objective_silhouette_ref"]

    config, summary = nodes.select_tuned_segmentation(trials, run, demo_inputs["params"]["evaluation"])
    assert config["trial"] == chosen["number"].iloc[0]
    assert config["metrics"]["smallest_segment_share"] >= constrained["constraints"]["min_segment_share"]
    assert summary["trials_infeasible"] >= 1


def test_a_trial_keeps_its_best_setting_that_meets_every_constraint(demo_inputs):
    params = demo_inputs["params"]
    tuning = tuning_params(Path("unused.db"))
    tuning["constraints"] = {"min_segment_share": 0.09, "min_stability": 0.6}  # rules out the best k on the demo
    evaluation = evaluation_params(params)
    roles, groups = feature_space(params["schema"], params["features"])
    scorer = CandidateScorer(
        demo_inputs["model_input"],
        roles,
        groups,
        EvaluationSettings.from_params(evaluation),
        Objective.from_params(tuning),
    )
    _, candidate = point(
        {"group_kpis": False, "outliers": "log1p", "scaler": "standard", "pca": "none"}, tuning["search_space"]
    )
    X = scorer.features(candidate.spec)
    every = []
    for k, n_init in candidate.settings:
        labels, _ = scorer.labels(X, k, n_init)
        every.append({"k": k, "n_init": n_init, **scorer.score_labels(labels), "stability": scorer.stability(X, k)})
    feasible = [m for m in every if m["smallest_segment_share"] >= 0.09 and m["stability"] >= 0.6]
    assert feasible and len(feasible) < len(every)
    best = max(feasible, key=lambda m: m["silhouette_ref"])
    assert max(every, key=lambda m: m["silhouette_ref"]) not in feasible  # the constraint changes the answer

    metrics = scorer.score(candidate)
    assert (metrics["k"], metrics["n_init"]) == (best["k"], best["n_init"])
    assert metrics["silhouette_ref"] == pytest.approx(best["silhouette_ref"])
    assert metrics["stability"] == pytest.approx(best["stability"])
    assert all(metrics[f"silhouette_ref_k{m['k']}_n{m['n_init']}"] == pytest.approx(m["silhouette_ref"]) for m in every)


def test_a_fresh_study_starts_from_the_reference_space_then_searches_around_the_best_trial(demo_inputs, tmp_path):
    tuning = tuning_params(tmp_path / "local.db", n_trials=10, n_jobs=2)
    assert tuning["study"]["local_search"] == "all"
    first, _ = tune(demo_inputs, tuning)
    # the first batch of two: the start point, and the sampler (no best trial yet); then its neighbours
    assert first["origin"].tolist()[:4] == ["start", "sampler", "local_search", "local_search"]
    start = json.loads(first["spec"].iloc[0])
    assert (start.get("log1p"), start["scaler"], start.get("pca")) == (True, "standard", None)
    choices = [c for c in first.columns if c.startswith("param_group_")] + [
        "param_outliers",
        "param_scaler",
        "param_pca",
    ]
    local = first[first["origin"] == "local_search"]
    for _, trial in local.iterrows():  # one choice changed from a better, earlier trial
        earlier = first[(first["number"] < trial["number"]) & first["feasible"]]
        changed = (earlier[choices] != trial[choices]).sum(axis=1)
        assert (changed == 1).any()
    # feature groups first (the order the space declares), then the other choices
    assert (
        local[["param_outliers", "param_scaler", "param_pca"]]
        != first.iloc[0][["param_outliers", "param_scaler", "param_pca"]]
    ).any(axis=None)

    # a rerun continues: the start point is not tried again, no configuration is tried twice
    tuning["study"]["n_trials"] = 4
    both, _ = tune(demo_inputs, tuning)
    assert len(both) == 14 and (both["origin"] == "start").sum() == 1
    tried = both[both["duplicate_of"].isna()]
    assert not tried.duplicated(subset=[c for c in both.columns if c.startswith("param_")]).any()


def test_multi_objective_mode_reports_a_feasible_pareto_front(demo_inputs, tmp_path):
    tuning = tuning_params(tmp_path / "multi.db", n_trials=8, sampler={"n_startup_trials": 4, "population_size": 4})
    tuning["objective"]["mode"] = "multi"
    trials, run = tune(demo_inputs, tuning)
    assert run["sampler"] == "NSGAIISampler"
    front = trials[trials["best"]]
    assert len(front) >= 1 and front["feasible"].all()
    complete = trials[trials["feasible"]]
    for _, t in front.iterrows():  # nothing feasible dominates a front trial
        dominated = (
            (complete["objective_silhouette_ref"] >= t["objective_silhouette_ref"])
            & (complete["objective_stability"] >= t["objective_stability"])
            & (
                (complete["objective_silhouette_ref"] > t["objective_silhouette_ref"])
                | (complete["objective_stability"] > t["objective_stability"])
            )
        )
        assert not dominated.any()
    config, summary = nodes.select_tuned_segmentation(trials, run, demo_inputs["params"]["evaluation"])
    assert {p["number"] for p in summary["pareto_front"]} == set(front["number"])
    assert config["trial"] == front.sort_values("objective_silhouette_ref").iloc[-1]["number"]


def _tune_in_process(model_input_path: str, storage: str, params: dict[str, Any]) -> None:
    tuning = tuning_params(Path(storage), n_trials=4, n_jobs=1)
    tuning["constraints"]["min_stability"] = None
    nodes.tune_segmentation(
        pd.read_parquet(model_input_path), tuning, evaluation_params(params), params["schema"], params["features"]
    )


def test_two_processes_on_one_storage_lose_no_trial(demo_inputs, tmp_path):
    model_input = tmp_path / "model_input.parquet"
    demo_inputs["model_input"].to_parquet(model_input)
    storage = tmp_path / "shared.db"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_tune_in_process, args=(str(model_input), str(storage), demo_inputs["params"]))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [w.exitcode for w in workers] == [0, 0]

    (name,) = optuna.study.get_all_study_names(f"sqlite:///{storage}")
    trials = optuna.load_study(study_name=name, storage=f"sqlite:///{storage}").trials
    assert sorted(t.number for t in trials) == list(range(8))
    assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
