"""The search space: one definition, sampled by trials and enumerated exhaustively by the grid."""

from __future__ import annotations

import math

import optuna
import yaml

from bank_segmentation.pipelines.tuning.search_space import grid, suggest_config
from bank_segmentation.preprocessing import build_preprocessor, feature_space, validate_spec
from tests.conftest import REPO_ROOT


def shipped_space() -> dict:
    return yaml.safe_load((REPO_ROOT / "conf/base/parameters_tuning.yml").read_text())["tuning"]["search_space"]


def test_grid_enumerates_every_combination_once_and_flags_too_few_groups():
    space = shipped_space()
    points = list(grid(space))
    n_groups = len(space["groups"])
    outliers = sum(len(space["outliers"]["winsorize_quantiles"]) if "winsorize" in c else 1
                   for c in space["outliers"]["choices"])
    pca = sum({"none": 1, "components": len(space["pca"]["components"]),
               "variance": len(space["pca"]["variance"])}[c] for c in space["pca"]["choices"])
    k = space["k"][1] - space["k"][0] + 1
    expected = 2**n_groups * outliers * len(space["scalers"]) * pca * k * len(space["n_init"])
    assert len(points) == expected
    assert len({tuple(sorted(p.params.items())) for p in points}) == expected

    too_few = sum(math.comb(n_groups, i) for i in range(space["min_groups"]))
    invalid = [p for p in points if p.spec is None]
    assert len(invalid) == expected // 2**n_groups * too_few
    assert all(len(p.groups) < space["min_groups"] and p.invalid_reason for p in invalid)


def test_every_kind_of_grid_point_is_a_spec_the_shared_builder_fits(demo_inputs):
    params = demo_inputs["params"]
    roles, groups = feature_space(params["schema"], params["features"])
    sample = demo_inputs["model_input"].head(1500)
    seen = set()
    for point in grid(shipped_space()):
        if point.spec is None:
            continue
        kind = (point.params["outliers"], point.params["scaler"], point.params["pca"])
        if kind in seen:
            continue
        seen.add(kind)
        X = build_preprocessor(point.spec, roles, groups).fit_transform(sample)
        assert X.shape[0] == len(sample) and X.shape[1] >= 1
        assert validate_spec(point.spec)["scaler"] == point.params["scaler"]
    assert len(seen) == 3 * 5 * 3


def test_a_trial_samples_a_point_of_the_grid():
    space = shipped_space()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    grid_params = {tuple(sorted(p.params.items())) for p in grid(space)}
    for _ in range(20):
        trial = study.ask()
        candidate = suggest_config(trial, space)
        assert tuple(sorted(trial.params.items())) in grid_params
        assert candidate.k == trial.params["k"] and candidate.n_init == trial.params["n_init"]
        study.tell(trial, 0.0)
