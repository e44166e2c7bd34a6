"""The search space: one definition, sampled by trials and enumerated exhaustively by the grid."""

from __future__ import annotations

import math

import optuna
import yaml

from bank_segmentation.core.preprocessing import build_preprocessor, feature_space, resolve_columns, validate_spec
from bank_segmentation.pipelines.tuning.search_space import grid, neighbours, params_of_spec, point, suggest_config
from tests.conftest import REPO_ROOT


def shipped_space() -> dict:
    return yaml.safe_load((REPO_ROOT / "conf/base/parameters_tuning.yml").read_text())["tuning"]["search_space"]


KS = (5, 6, 7, 8)  # the business bounds of model_choice.rule


def test_grid_enumerates_every_combination_once_and_flags_too_few_groups():
    space = shipped_space()
    points = list(grid(space, KS))
    n_groups = len(space["groups"])
    outliers = sum(
        len(space["outliers"]["winsorize_quantiles"]) if "winsorize" in c else 1 for c in space["outliers"]["choices"]
    )
    pca = sum(
        {"none": 1, "components": len(space["pca"]["components"]), "variance": len(space["pca"]["variance"])}[c]
        for c in space["pca"]["choices"]
    )
    expected = 2**n_groups * outliers * len(space["scalers"]) * pca
    # k is tried in full by every trial, restarts are never searched
    assert len(points) == expected
    assert all(p.ks == KS for p in points)
    assert not {"k", "n_init"} & set(space)
    assert len({tuple(sorted(p.params.items())) for p in points}) == len(points)

    too_few = sum(math.comb(n_groups, i) for i in range(space["min_groups"]))
    invalid = [p for p in points if p.spec is None]
    assert len(invalid) == expected // 2**n_groups * too_few
    assert all(len(p.groups) < space["min_groups"] and p.invalid_reason for p in invalid)


def test_every_kind_of_grid_point_is_a_spec_the_shared_builder_fits(demo_inputs):
    params = demo_inputs["params"]
    roles, groups = feature_space(params["schema"], params["features"])
    sample = demo_inputs["model_input"].head(1500)
    seen = set()
    for candidate in grid(shipped_space(), KS):
        if candidate.spec is None:
            continue
        kind = (candidate.params["outliers"], candidate.params["scaler"], candidate.params["pca"])
        if kind in seen:
            continue
        seen.add(kind)
        X = build_preprocessor(candidate.spec, roles, groups).fit_transform(sample)
        assert X.shape[0] == len(sample) and X.shape[1] >= 1
        assert validate_spec(candidate.spec)["scaler"] == candidate.params["scaler"]
    assert len(seen) == 3 * 5 * 3


def test_a_trial_samples_a_point_of_the_grid():
    space = shipped_space()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    grid_params = {tuple(sorted(p.params.items())) for p in grid(space, KS)}
    for _ in range(20):
        trial = study.ask()
        candidate = suggest_config(trial, space, KS)
        assert tuple(sorted(trial.params.items())) in grid_params
        assert "k" not in trial.params and "n_init" not in trial.params
        assert candidate.ks == KS
        study.tell(trial, 0.0)


def test_the_search_starts_from_the_reference_space(demo_inputs):
    params = demo_inputs["params"]
    roles, groups = feature_space(params["schema"], params["features"])
    reference = params["evaluation"].reference_space
    start = params_of_spec(reference, resolve_columns(reference, roles, groups), shipped_space(), groups)
    _, candidate = point(start, shipped_space())
    # the same columns and transforms as the space every trial is scored in
    assert set(resolve_columns(candidate.spec, roles, groups)) == set(resolve_columns(reference, roles, groups))
    assert (start["outliers"], start["scaler"], start["pca"]) == ("log1p", "standard", "none")
    assert not start["group_kpis"]


def test_neighbours_change_one_choice_and_stay_valid():
    space = shipped_space()
    start = {f"group_{g}": g in ("spending", "payment_behaviour") for g in space["groups"]}
    start.update(outliers="log1p", scaler="standard", pca="none")
    base, _ = point(start, space)
    by_groups = neighbours(base, space, "groups")
    # switching spending or payment_behaviour off would leave one group: not a valid point
    assert len(by_groups) == len(space["groups"]) - 2
    assert all(sum(a != b for a, b in zip(base.values(), n.values())) == 1 for n in by_groups)
    every = neighbours(base, space, "all")
    assert len(every) == len(by_groups) + 2 + (len(space["scalers"]) - 1) + 2
    assert {n["pca"] for n in every} == {"none", "components", "variance"}
    assert all(point(n, space)[1].spec is not None for n in every)
