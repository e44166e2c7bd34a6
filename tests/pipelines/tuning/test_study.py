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

from bank_segmentation.core.candidates import Admission, CandidateScorer
from bank_segmentation.core.preprocessing import feature_space
from bank_segmentation.pipelines.tuning import nodes
from bank_segmentation.pipelines.tuning.objective import score_trial
from bank_segmentation.pipelines.tuning.search_space import point
from tests.pipelines.tuning.conftest import evaluation_params, tune_inputs, tuning_params


def tune(demo_inputs: dict[str, Any], tuning: dict[str, Any], **rule: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run the tuning node on the demo inputs; ``rule`` overrides thresholds of model_choice.rule."""
    choice_rule = {**demo_inputs["params"]["model_choice"]["rule"], **rule}
    return nodes.tune_segmentation(**tune_inputs(demo_inputs, tuning, rule=choice_rule))


def test_a_fresh_study_with_the_same_seed_finds_the_same_best_trial(demo_inputs, tmp_path):
    # parallel trials (n_jobs=2) and the TPE model active after 4 random trials
    study = {"n_trials": 8, "n_jobs": 2, "sampler": {"n_startup_trials": 4}}
    first, run_a = tune(demo_inputs, tuning_params(tmp_path / "a.db", **study))
    second, run_b = tune(demo_inputs, tuning_params(tmp_path / "b.db", **study))

    params = [c for c in first.columns if c.startswith("param_")]
    pd.testing.assert_frame_equal(first[params], second[params])
    assert first.loc[first["best"], "number"].tolist() == second.loc[second["best"], "number"].tolist()
    best_a = nodes.summarise_search(first, run_a)["best_trial"]
    best_b = nodes.summarise_search(second, run_b)["best_trial"]
    assert (best_a["spec"], best_a["k"], best_a["metrics"]) == (best_b["spec"], best_b["k"], best_b["metrics"])


def sampler_only(tuning: dict[str, Any]) -> dict[str, Any]:
    """The study with no start point or local search: every trial is the sampler's."""
    tuning["study"].update(start_from_reference=False, local_search="none")
    return tuning


def test_infeasible_trials_are_recorded_but_never_best(demo_inputs, tmp_path):
    # One k per trial (so a trial cannot escape a threshold by keeping another k). While the sampler is
    # still random, the studies below try the same 10 configurations.
    study = {"n_trials": 10, "sampler": {"n_startup_trials": 20}}
    one_k = {"k_min": 6, "k_max": 6}
    free = {"min_segment_share": 0.0, "min_agreement": 0.0, "min_coverage": 0.0}

    def run(name: str, **thresholds: float) -> tuple[pd.DataFrame, dict[str, Any]]:
        tuning = sampler_only(tuning_params(tmp_path / f"{name}.db", **study))
        return tune(demo_inputs, tuning, **one_k, **{**free, **thresholds})

    unconstrained, _ = run("free")
    ranked = unconstrained.sort_values("objective_silhouette_ref", ascending=False)
    top = ranked.iloc[0]

    # a runner-up less reproducible than the winner: a threshold just above its agreement rules it out only
    second = ranked[ranked["agreement"] < top["agreement"]].iloc[0]
    trials, run_info = run("agreement", min_agreement=second["agreement"] + 1e-9)
    ruled_out = trials[trials["number"] == second["number"]].iloc[0]
    assert ruled_out["state"] == "COMPLETE" and not ruled_out["feasible"]
    assert ruled_out["constraint_min_agreement"] > 0
    best = trials[trials["best"]]
    assert len(best) == 1 and best["feasible"].all()
    assert best["objective_silhouette_ref"].iloc[0] == trials.loc[trials["feasible"], "objective_silhouette_ref"].max()
    assert nodes.summarise_search(trials, run_info)["trials_infeasible"] >= 1

    # the winner itself ruled out (nothing else reaches its smallest segment): no trial is best, none reported
    trials, run_info = run("share", min_segment_share=top["smallest_segment_share"] + 1e-9)
    winner_again = trials[trials["number"] == top["number"]].iloc[0]
    assert winner_again["state"] == "COMPLETE" and not winner_again["feasible"]
    assert winner_again["constraint_min_segment_share"] > 0
    assert not trials.loc[~trials["feasible"], "best"].any()
    assert nodes.summarise_search(trials, run_info)["best_trial"] is None or trials["feasible"].any()


def test_a_trial_keeps_its_best_k_that_meets_every_threshold_and_records_every_k(demo_inputs):
    params = demo_inputs["params"]
    tuning = tuning_params(Path("unused.db"))
    rule = {**params["model_choice"]["rule"], "min_segment_share": 0.085, "min_agreement": 0.6}
    admission = Admission.from_params(rule)
    roles, groups = feature_space(params["schema"], params["features"])
    scorer = CandidateScorer(
        demo_inputs["model_input"],
        demo_inputs["customer_features"],
        "CUST_ID",
        roles,
        groups,
        evaluation_params(params),
        params["reporting"]["naming"],
        params["reporting"]["profiles"],
    )
    _, candidate = point(
        {"group_kpis": False, "outliers": "log1p", "scaler": "standard", "pca": "none"}, tuning["search_space"]
    )
    candidate = type(candidate)(candidate.params, candidate.spec, tuple(admission.ks), candidate.groups)
    X = scorer.features(candidate.spec)
    every = []
    for k in admission.ks:
        labels, _ = scorer.partition(X, k)
        every.append({"k": k, **scorer.score(labels), **scorer.measure(X, labels, k)})
    feasible = [m for m in every if not admission.reasons(m["k"], m)]
    assert feasible and len(feasible) < len(every)
    best = max(feasible, key=lambda m: m["silhouette_ref"])
    assert max(every, key=lambda m: m["silhouette_ref"]) not in feasible  # the thresholds change the answer

    metrics = score_trial(scorer, admission, candidate)
    assert metrics["k"] == best["k"]
    assert metrics["silhouette_ref"] == pytest.approx(best["silhouette_ref"])
    assert metrics["agreement"] == pytest.approx(best["agreement"])
    assert all(metrics[f"silhouette_ref_k{m['k']}"] == pytest.approx(m["silhouette_ref"]) for m in every)


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


def _tune_in_process(inputs_folder: str, storage: str, params: dict[str, Any]) -> None:
    demo_inputs = {
        "model_input": pd.read_parquet(Path(inputs_folder) / "model_input.parquet"),
        "customer_features": pd.read_parquet(Path(inputs_folder) / "customer_features.parquet"),
        "params": params,
    }
    tune(demo_inputs, tuning_params(Path(storage), n_trials=4, n_jobs=1))


def test_two_processes_on_one_storage_lose_no_trial(demo_inputs, tmp_path):
    demo_inputs["model_input"].to_parquet(tmp_path / "model_input.parquet")
    demo_inputs["customer_features"].to_parquet(tmp_path / "customer_features.parquet")
    storage = tmp_path / "shared.db"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_tune_in_process, args=(str(tmp_path), str(storage), demo_inputs["params"]))
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
