"""Imputation strategies and engineered features on realistic customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from bank_segmentation.core.consistency import unknown_names
from bank_segmentation.core.preprocessing import feature_space
from bank_segmentation.core.settings import Features, ProjectParameters
from bank_segmentation.framework.parameters import plain
from bank_segmentation.pipelines.data_processing.nodes import (
    build_model_input,
    engineer_features,
    impute_customers,
    learn_imputer,
    validate_customers,
)
from tests.workspace import node_parameters


@pytest.fixture
def validated(demo_raw, dp_params) -> pd.DataFrame:
    """Validated demo customers with missing values planted on known rows."""
    kept, _, _ = validate_customers(demo_raw, dp_params["schema"], dp_params["validation"])
    kept.loc[[1, 2, 3], "MINIMUM_PAYMENTS"] = np.nan
    kept.loc[[1, 2], "PAYMENTS"] = 0.0
    kept.loc[[5], "CREDIT_LIMIT"] = np.nan
    return kept


@pytest.mark.parametrize("strategy", ["median", "domain", "knn"])
def test_every_strategy_leaves_no_missing_value(validated, dp_params, strategy):
    params = {**dp_params["imputation"], "strategy": strategy}
    imputer = learn_imputer(validated, dp_params["schema"], params)
    clean, counts = impute_customers(validated, imputer)
    assert not clean.isna().any().any()
    assert sum(counts["MINIMUM_PAYMENTS"].values()) == validated["MINIMUM_PAYMENTS"].isna().sum()
    assert sum(counts["CREDIT_LIMIT"].values()) == validated["CREDIT_LIMIT"].isna().sum()
    untouched = validated.notna()
    pd.testing.assert_frame_equal(clean[untouched].dropna(how="all"), validated[untouched].dropna(how="all"))


def test_domain_strategy_sets_no_minimum_payment_when_nothing_was_paid(validated, dp_params):
    imputer = learn_imputer(validated, dp_params["schema"], dp_params["imputation"])
    clean, counts = impute_customers(validated, imputer)
    assert (clean.loc[[1, 2], "MINIMUM_PAYMENTS"] == 0).all()
    median = validated["MINIMUM_PAYMENTS"].median()
    assert clean.loc[3, "MINIMUM_PAYMENTS"] == pytest.approx(median)
    missing = validated["MINIMUM_PAYMENTS"].isna()
    no_payment = int((missing & validated["PAYMENTS"].eq(0)).sum())
    assert counts["MINIMUM_PAYMENTS"] == {
        "domain: PAYMENTS == 0 -> 0.0": no_payment,
        "median": int(missing.sum()) - no_payment,
    }


def test_imputer_reuses_training_statistics_on_new_customers(validated, dp_params):
    imputer = learn_imputer(validated, dp_params["schema"], {**dp_params["imputation"], "strategy": "median"})
    newcomers = validated.head(5).copy()
    newcomers["BALANCE"] = np.nan
    clean, _ = impute_customers(newcomers, imputer)
    assert (clean["BALANCE"] == validated["BALANCE"].median()).all()


def test_kpis_never_produce_inf_or_nan_on_zero_denominators(validated, dp_params):
    imputer = learn_imputer(validated, dp_params["schema"], dp_params["imputation"])
    clean, _ = impute_customers(validated, imputer)
    zeros = ["PURCHASES", "PURCHASES_TRX", "CASH_ADVANCE", "CASH_ADVANCE_TRX", "MINIMUM_PAYMENTS"]
    clean.loc[:9, zeros] = 0.0
    clean.loc[:9, ["ONEOFF_PURCHASES", "INSTALLMENTS_PURCHASES"]] = 0.0
    features = engineer_features(clean, dp_params["features"])
    model_input = build_model_input(features, dp_params["schema"], dp_params["features"])
    numeric = model_input.drop(columns="CUST_ID")
    assert np.isfinite(numeric.to_numpy()).all()
    assert (features.loc[:9, "PURCHASE_TYPE"] == "none").all()
    assert (model_input.loc[:9, "PURCHASE_TYPE_NONE"] == 1).all()


def test_kpis_match_their_definition(validated, dp_params):
    imputer = learn_imputer(validated, dp_params["schema"], dp_params["imputation"])
    clean, _ = impute_customers(validated, imputer)
    features = engineer_features(clean, dp_params["features"])
    active = features[features["PURCHASES_TRX"] > 0]
    expected = active["PURCHASES"] / active["PURCHASES_TRX"]
    np.testing.assert_allclose(active["AVG_PURCHASE_TICKET"], expected)
    np.testing.assert_allclose(features["MONTHLY_AVG_PURCHASES"], features["PURCHASES"] / features["TENURE"])
    shares = features[["ONEOFF_SHARE", "CASH_ADVANCE_SHARE"]]
    assert shares.min().min() >= 0 and shares.max().max() <= 1 + 1e-9
    one_hot = features.filter(like="PURCHASE_TYPE")
    assert set(one_hot["PURCHASE_TYPE"]) <= {"none", "one_off", "installment", "both"}


def test_a_kpi_with_an_unknown_role_is_refused_when_the_settings_are_read(dp_params):
    features = dp_params["features"].model_dump()
    features["kpis"]["LIMIT_USAGE"]["role"] = "ratoi"
    with pytest.raises(ValidationError, match=r"kpis\.LIMIT_USAGE\.role[\s\S]*'amount', 'ratio' or 'share'"):
        Features.model_validate(features)


def test_one_hot_turns_listed_values_of_a_categorical_into_features_of_the_raw_group(demo_raw, dp_params):
    raw = demo_raw.assign(TIER=np.resize(["Gold", "Blue", "Platinum", ""], len(demo_raw)))
    raw.attrs = dict(demo_raw.attrs)
    schema = dp_params["schema"].model_copy(update={"columns": {**dp_params["schema"].columns, "TIER": "categorical"}})
    features = dp_params["features"].model_copy(update={"one_hot": {"TIER": ["Gold", "Blue"]}})
    kept, _, _ = validate_customers(raw, schema, dp_params["validation"])
    clean, _ = impute_customers(kept, learn_imputer(kept, schema, dp_params["imputation"]))
    model_input = build_model_input(engineer_features(clean, features), schema, features)

    tier = kept["TIER"].fillna("").to_numpy(dtype=str)
    assert (model_input["TIER=Gold"].to_numpy() == (tier == "Gold")).all()
    assert (model_input["TIER=Blue"].to_numpy() == (tier == "Blue")).all() and model_input["TIER=Blue"].sum() > 0
    assert "TIER" not in model_input.columns and "TIER=Platinum" not in model_input.columns  # not listed: all 0
    roles, groups = feature_space(schema, features)
    assert roles["TIER=Gold"] == "indicator" and {"TIER=Gold", "TIER=Blue"} <= set(groups["raw"])


def test_one_hot_of_a_column_that_is_not_categorical_is_named_before_anything_runs():
    tree = plain(node_parameters())
    tree["features"]["one_hot"] = {"BALANCE": ["1"], "TEIR": ["Gold"]}
    parameters = ProjectParameters.model_validate(tree)
    found = {(unknown.key, unknown.name) for unknown in unknown_names(parameters)}
    assert found == {("features.one_hot", "BALANCE"), ("features.one_hot", "TEIR")}
