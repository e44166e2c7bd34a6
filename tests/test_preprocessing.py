"""The variant-spec builder: every option, pickling, and re-use on new customers without refitting."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from bank_segmentation.core.preprocessing import (
    build_preprocessor,
    describe_steps,
    feature_space,
    resolve_columns,
)
from bank_segmentation.pipelines.data_processing.nodes import build_model_input, engineer_features
from bank_segmentation.pipelines.demo_data.generator import generate_portfolio
from tests.workspace import node_parameters

CONF = Path(__file__).resolve().parents[1] / "conf" / "base"


def demo_model_input(n: int, seed: int, data_params: dict[str, Any]) -> pd.DataFrame:
    """Model input of a demo portfolio (median-imputed, KPIs, one-hot purchase type)."""
    customers, _ = generate_portfolio(n, seed=seed)
    numeric = customers.columns.drop("CUST_ID")
    customers[numeric] = customers[numeric].astype(float).fillna(customers[numeric].median())
    features = engineer_features(customers, data_params["features"])
    return build_model_input(features, data_params["schema"], data_params["features"])


@pytest.fixture(scope="module")
def data_params() -> dict[str, Any]:
    return node_parameters()


@pytest.fixture(scope="module")
def space(data_params: dict[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    return feature_space(data_params["schema"], data_params["features"])


@pytest.fixture(scope="module")
def train(data_params: dict[str, Any]) -> pd.DataFrame:
    return demo_model_input(1500, 1, data_params)


@pytest.fixture(scope="module")
def new_customers(data_params: dict[str, Any]) -> pd.DataFrame:
    return demo_model_input(300, 2, data_params)


@pytest.mark.parametrize("scaler", ["standard", "robust", "minmax", "quantile_normal", "yeo_johnson", "none"])
def test_every_scaler_fits_and_scores_new_customers_without_refit(scaler, space, train, new_customers):
    pipe = build_preprocessor({"columns": "raw", "log1p": True, "scaler": scaler}, *space).fit(train)
    before = pickle.dumps(pipe)
    out = pipe.transform(new_customers)
    assert out.shape == (len(new_customers), 17)
    assert np.isfinite(out).all()
    assert pickle.dumps(pipe) == before  # transforming new customers changed nothing that was learned


def test_pickled_pipeline_reproduces_the_original_on_new_customers(space, train, new_customers):
    spec = {"columns": "all", "winsorize": 0.98, "log1p": True, "scaler": "quantile_normal", "pca": 0.9}
    pipe = build_preprocessor(spec, *space).fit(train)
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.transform(new_customers), pipe.transform(new_customers))


def test_columns_by_raw_all_groups_roles_and_exclude(space):
    roles, groups = space
    assert resolve_columns({"columns": "raw"}, roles, groups) == groups["raw"]
    assert len(resolve_columns({}, roles, groups)) == 17  # raw by default
    assert resolve_columns({"columns": "all"}, roles, groups) == list(roles)
    spending_kpis = resolve_columns({"groups": ["spending", "kpis"]}, roles, groups)
    assert spending_kpis == groups["spending"] + groups["kpis"]
    by_role = resolve_columns({"groups": ["kpis"], "roles": ["frequency"]}, roles, groups)
    assert set(by_role) == set(groups["kpis"]) | {c for c, r in roles.items() if r == "frequency"}
    assert len(by_role) == len(set(by_role))
    mixed = resolve_columns({"columns": ["BALANCE", "spending"], "exclude": ["PURCHASES_TRX"]}, roles, groups)
    assert mixed == ["BALANCE", "PURCHASES", "ONEOFF_PURCHASES", "INSTALLMENTS_PURCHASES"]


def test_winsorize_clips_new_customers_at_the_quantile_learned_at_fit(space, train):
    roles, groups = space
    spec = {"columns": ["CASH_ADVANCE", "PURCHASES_FREQUENCY"], "winsorize": 0.9, "scaler": "none"}
    pipe = build_preprocessor(spec, roles, groups).fit(train)
    cap = train["CASH_ADVANCE"].quantile(0.9)
    extreme = train.head(2).copy()
    extreme["CASH_ADVANCE"] = [cap * 100, 0.0]
    out = pipe.transform(extreme)
    assert out[0, 0] == pytest.approx(cap)
    assert out[1, 0] == 0.0
    # frequencies are not heavy-tailed: untouched by default
    np.testing.assert_array_equal(out[:, 1], extreme["PURCHASES_FREQUENCY"])
    # the mapping form picks the roles explicitly
    only_freq = {"columns": spec["columns"], "winsorize": {"quantile": 0.5, "roles": ["frequency"]}, "scaler": "none"}
    out = build_preprocessor(only_freq, roles, groups).fit(train).transform(extreme)
    assert out[0, 0] == cap * 100
    assert out[:, 1].max() <= train["PURCHASES_FREQUENCY"].quantile(0.5)


def test_log1p_only_on_the_selected_roles(space, train):
    roles, groups = space
    cols = ["BALANCE", "CREDIT_LIMIT", "PURCHASES_TRX", "PRC_FULL_PAYMENT"]
    default = build_preprocessor({"columns": cols, "log1p": True, "scaler": "none"}, roles, groups)
    out = default.fit_transform(train)
    np.testing.assert_allclose(out[:, :3], np.log1p(train[cols[:3]].to_numpy()))
    np.testing.assert_array_equal(out[:, 3], train["PRC_FULL_PAYMENT"])
    amounts = build_preprocessor({"columns": cols, "log1p": ["amount"], "scaler": "none"}, roles, groups)
    out = amounts.fit_transform(train)
    np.testing.assert_array_equal(out[:, 1], train["CREDIT_LIMIT"])
    np.testing.assert_allclose(out[:, 0], np.log1p(train["BALANCE"]))


def test_median_imputation_fills_gaps_of_new_customers(space, train):
    roles, groups = space
    pipe = build_preprocessor({"columns": ["BALANCE", "TENURE"], "scaler": "none"}, roles, groups).fit(train)
    gap = train.head(1).copy()
    gap["BALANCE"] = np.nan
    assert pipe.transform(gap)[0, 0] == pytest.approx(train["BALANCE"].median())


@pytest.mark.parametrize(("pca", "expected"), [(3, 3), (0.8, None)])
def test_pca_by_components_or_variance_share(pca, expected, space, train):
    pipe = build_preprocessor({"columns": "raw", "log1p": True, "pca": pca}, *space).fit(train)
    out = pipe.transform(train)
    if expected is not None:
        assert out.shape[1] == expected
    else:
        assert 1 <= out.shape[1] < 17
        assert pipe.named_steps["pca"].explained_variance_ratio_.sum() >= 0.8


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"scaler": "zscore"}, "scaler"),
        ({"colums": "raw"}, "colums"),
        ({"groups": ["no_such_group"]}, "no_such_group"),
        ({"winsorize": 1.5}, "winsorize"),
        ({"pca": -1}, "pca"),
    ],
)
def test_invalid_specs_are_named_in_the_error(spec, message, space):
    with pytest.raises(ValueError, match=message):
        build_preprocessor(spec, *space)


def test_new_data_without_a_model_column_is_refused_clearly(space, train):
    pipe = build_preprocessor({"columns": "raw"}, *space).fit(train)
    with pytest.raises(ValueError, match="CREDIT_LIMIT"):
        pipe.transform(train.drop(columns="CREDIT_LIMIT"))


def test_every_declared_variant_builds_and_describes_its_steps(space, train):
    variants = yaml.safe_load((CONF / "parameters_clustering.yml").read_text())["clustering"]["variants"]
    assert {"seed_baseline", "log_standard", "winsor_log_standard", "kpi_log_standard", "yeo_johnson"} <= set(variants)
    for name, spec in variants.items():
        out = build_preprocessor(spec, *space).fit_transform(train)
        assert np.isfinite(out).all(), name
        assert describe_steps(spec).startswith("impute=median"), name
