"""Behaviour of the synthetic demo portfolio generator and the ``demo_data`` pipeline."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import ks_2samp
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from bank_segmentation.pipelines.demo_data.generator import COLUMNS, PERSONA_COLUMN, PERSONAS, generate_portfolio
from bank_segmentation.pipelines.demo_data.nodes import (
    generate_customers_to_score,
    generate_demo_customers,
)

PROJECT = Path(__file__).resolve().parents[1]
PARAMS_FILE = PROJECT / "conf" / "base" / "parameters_demo_data.yml"
RAW = PROJECT / "data" / "01_raw" / "demo"
BEHAVIOUR = list(COLUMNS[1:])
FREQUENCIES = [
    "BALANCE_FREQUENCY",
    "PURCHASES_FREQUENCY",
    "ONEOFF_PURCHASES_FREQUENCY",
    "PURCHASES_INSTALLMENTS_FREQUENCY",
    "CASH_ADVANCE_FREQUENCY",
    "PRC_FULL_PAYMENT",
]
# Activity amounts and the transaction counts / frequencies that must be zero together with them.
ACTIVITIES = {
    "PURCHASES": ("PURCHASES_TRX", "PURCHASES_FREQUENCY"),
    "ONEOFF_PURCHASES": (None, "ONEOFF_PURCHASES_FREQUENCY"),
    "INSTALLMENTS_PURCHASES": (None, "PURCHASES_INSTALLMENTS_FREQUENCY"),
    "CASH_ADVANCE": ("CASH_ADVANCE_TRX", "CASH_ADVANCE_FREQUENCY"),
}
LOG_COLUMNS = [
    col for col in BEHAVIOUR if col not in FREQUENCIES and col != "TENURE"
]  # amounts, counts and CREDIT_LIMIT


def _real_table_path() -> Path | None:
    """The real CC GENERAL table beside the repo, or where ``CC_GENERAL_CSV`` points."""
    env = os.environ.get("CC_GENERAL_CSV")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data" / "cc_general.csv")
    return next((path for path in candidates if path.is_file()), None)


@pytest.fixture(scope="module")
def params() -> dict:
    return yaml.safe_load(PARAMS_FILE.read_text())["demo_data"]


@pytest.fixture(scope="module")
def portfolio(params) -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_demo_customers(params)


@pytest.fixture(scope="module")
def customers(portfolio) -> pd.DataFrame:
    return portfolio[0]


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    path = _real_table_path()
    if path is None:
        pytest.skip(
            "real CC GENERAL table not found beside the repo (shared/data/cc_general.csv) and CC_GENERAL_CSV is not set"
        )
    return pd.read_csv(path)


# --- determinism ----------------------------------------------------------------------------------


def test_same_seed_gives_identical_frames():
    first = generate_portfolio(500, seed=7)
    second = generate_portfolio(500, seed=7)
    pd.testing.assert_frame_equal(first[0], second[0])
    pd.testing.assert_frame_equal(first[1], second[1])


def test_different_seed_gives_different_frames():
    first, _ = generate_portfolio(500, seed=7)
    second, _ = generate_portfolio(500, seed=8)
    assert not first.drop(columns="CUST_ID").equals(second.drop(columns="CUST_ID"))


# --- schema and internal logic --------------------------------------------------------------------


def test_schema_and_ids(customers, portfolio, params):
    personas = portfolio[1]
    assert list(customers.columns) == list(COLUMNS)
    assert len(customers) == params["n_customers"]
    assert customers["CUST_ID"].is_unique
    assert customers["CUST_ID"].str.fullmatch(r"D\d{6}").all()
    assert not customers["CUST_ID"].str.startswith("C").any()
    assert list(personas.columns) == ["CUST_ID", PERSONA_COLUMN]
    assert personas["CUST_ID"].equals(customers["CUST_ID"])
    for col in BEHAVIOUR:
        assert pd.api.types.is_numeric_dtype(customers[col]), col


def test_id_prefix_and_start():
    customers, _ = generate_portfolio(3, seed=1, id_prefix="X", id_start=42)
    assert customers["CUST_ID"].tolist() == ["X000042", "X000043", "X000044"]


def test_values_are_rounded_to_six_decimals(customers):
    values = customers[BEHAVIOUR].to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    np.testing.assert_array_equal(finite, np.round(finite, 6))


def test_frequencies_sit_on_a_monthly_grid_within_0_1(customers):
    for col in FREQUENCIES:
        assert customers[col].between(0, 1).all(), col
    for col in FREQUENCIES[1:5]:
        months = customers[col] * customers["TENURE"]
        np.testing.assert_allclose(months, months.round(), atol=1e-4, err_msg=col)


def test_counts_and_frequencies_are_zero_iff_amounts_are(customers):
    for amount, (count, frequency) in ACTIVITIES.items():
        idle = customers[amount] == 0
        assert ((customers[frequency] == 0) == idle).all(), frequency
        if count:
            assert ((customers[count] == 0) == idle).all(), count
    assert (customers[["CASH_ADVANCE_TRX", "PURCHASES_TRX"]] >= 0).all().all()


def test_purchases_are_one_off_plus_installments(customers):
    parts = customers["ONEOFF_PURCHASES"] + customers["INSTALLMENTS_PURCHASES"]
    np.testing.assert_allclose(customers["PURCHASES"], parts, atol=0.01)


def test_purchase_frequency_bounds_its_parts(customers):
    purchase = customers["PURCHASES_FREQUENCY"] + 1e-9
    assert (purchase >= customers["ONEOFF_PURCHASES_FREQUENCY"]).all()
    assert (purchase >= customers["PURCHASES_INSTALLMENTS_FREQUENCY"]).all()


def test_tenure_range_and_share_at_twelve(customers):
    assert customers["TENURE"].between(6, 12).all()
    assert 0.80 <= (customers["TENURE"] == 12).mean() <= 0.90


def test_missing_values(customers):
    missing_minimum = customers["MINIMUM_PAYMENTS"].isna()
    assert 0.02 <= missing_minimum.mean() <= 0.05
    assert customers.loc[customers["PAYMENTS"] == 0, "MINIMUM_PAYMENTS"].isna().all()
    assert (customers.loc[missing_minimum, "PAYMENTS"] == 0).mean() > 0.5
    assert 1 <= customers["CREDIT_LIMIT"].isna().sum() <= 2
    other = [col for col in BEHAVIOUR if col not in ("MINIMUM_PAYMENTS", "CREDIT_LIMIT")]
    assert not customers[other].isna().any().any()


def test_amounts_are_non_negative_and_heavy_tailed(customers):
    for col in ["BALANCE", "PURCHASES", "CASH_ADVANCE", "PAYMENTS", "MINIMUM_PAYMENTS"]:
        assert (customers[col].dropna() >= 0).all(), col
        assert customers[col].skew() > 2, col


def test_persona_shares_follow_parameters(portfolio, params):
    shares = portfolio[1][PERSONA_COLUMN].value_counts(normalize=True)
    total = sum(params["persona_shares"].values())
    for persona, weight in params["persona_shares"].items():
        assert abs(shares.get(persona, 0.0) - weight / total) < 1e-3, persona
    assert set(params["persona_shares"]) == set(PERSONAS)


def test_persona_patterns(customers, portfolio):
    table = customers.assign(persona=portfolio[1][PERSONA_COLUMN].to_numpy())
    by = table.groupby("persona")
    assert by["PRC_FULL_PAYMENT"].mean()["transactor"] > 0.5
    assert by["PRC_FULL_PAYMENT"].mean()["revolver"] < 0.05
    assert (table.loc[table.persona == "new_customer", "TENURE"] < 12).all()
    assert (table.loc[table.persona != "new_customer", "TENURE"] == 12).all()
    assert (table.loc[table.persona == "cash_advance_heavy", "PURCHASES"] == 0).all()
    assert (table.loc[table.persona == "installment_buyer", "ONEOFF_PURCHASES"] == 0).all()
    assert (table.loc[table.persona == "oneoff_buyer", "INSTALLMENTS_PURCHASES"] == 0).all()
    assert by["CREDIT_LIMIT"].median().idxmax() == "affluent"
    assert by["BALANCE_FREQUENCY"].mean().idxmin() == "dormant"


def test_unknown_persona_is_rejected():
    with pytest.raises(ValueError, match="unknown persona"):
        generate_portfolio(10, seed=0, persona_shares={"spendthrift": 1.0})


def test_the_month_later_file_keeps_most_customers_moves_a_few_and_adds_new_ones(portfolio, params):
    customers, personas = portfolio
    month, labels = generate_customers_to_score(customers, personas, params)
    assert list(month.columns) == list(COLUMNS) and labels["CUST_ID"].equals(month["CUST_ID"])
    assert month["CUST_ID"].is_unique
    stayed = month["CUST_ID"].isin(customers["CUST_ID"])
    settings = params["to_score"]
    assert (~stayed).sum() == settings["new_customers"]["n_customers"]  # new ids never meet the portfolio's
    assert abs(stayed.sum() / len(customers) - settings["stay_share"]) < 0.01
    changed = labels[stayed & (labels[PERSONA_COLUMN] != labels["PREVIOUS_PERSONA"])]
    assert 0.02 < len(changed) / stayed.sum() < 0.1
    allowed = {(old, new) for old, targets in settings["moves"].items() for new in targets}
    assert set(zip(changed["PREVIOUS_PERSONA"], changed[PERSONA_COLUMN])) <= allowed
    # customers who kept their habits keep their counts and frequencies; their amounts drift a little
    same = month[stayed.to_numpy()].set_index("CUST_ID").drop(changed["CUST_ID"])
    before = customers.set_index("CUST_ID").loc[same.index]
    assert same["PURCHASES_TRX"].equals(before["PURCHASES_TRX"])
    ratio = (same["BALANCE"] / before["BALANCE"]).replace([np.inf], np.nan).dropna()
    assert 0.9 < ratio.median() < 1.1 and ratio.between(0.5, 2.0).all()
    assert np.allclose(same["PURCHASES"], same["ONEOFF_PURCHASES"] + same["INSTALLMENTS_PURCHASES"], atol=0.011)


# --- realism against the real table ---------------------------------------------------------------


def test_marginals_match_real_table(customers, real):
    for col in BEHAVIOUR:
        ks = ks_2samp(real[col].dropna(), customers[col].dropna()).statistic
        assert ks <= 0.15, f"{col}: KS {ks:.3f}"
        zero_gap = abs((real[col] == 0).mean() - (customers[col] == 0).mean())
        assert zero_gap <= 0.05, f"{col}: zero share differs by {zero_gap:.3f}"


def test_correlations_match_real_table(customers, real):
    gap = (real[BEHAVIOUR].corr() - customers[BEHAVIOUR].corr()).abs().to_numpy().mean()
    assert gap <= 0.12


# --- recoverability of the planted personas -------------------------------------------------------


def test_kmeans_recovers_personas(portfolio):
    customers, personas = portfolio
    features = customers[BEHAVIOUR].fillna(customers[BEHAVIOUR].median())
    features[LOG_COLUMNS] = np.log1p(features[LOG_COLUMNS])
    scaled = StandardScaler().fit_transform(features)
    k = personas[PERSONA_COLUMN].nunique()
    labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(scaled)
    assert adjusted_rand_score(personas[PERSONA_COLUMN], labels) >= 0.6


# --- shipped files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("customers_file", "personas_file", "node"),
    [
        ("customers.csv", "customer_personas.csv", generate_demo_customers),
        ("customers_to_score.csv", "customers_to_score_personas.csv", generate_customers_to_score),
    ],
)
def test_shipped_files_match_the_generator(params, portfolio, customers_file, personas_file, node):
    customers, personas = node(*portfolio, params) if node is generate_customers_to_score else node(params)
    shipped = pd.read_csv(RAW / customers_file)
    pd.testing.assert_frame_equal(shipped, customers, check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_csv(RAW / personas_file), personas, check_dtype=False)
