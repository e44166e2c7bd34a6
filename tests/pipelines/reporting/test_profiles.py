"""Segment profiles: sizes, statistics in original units, position against the portfolio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bank_segmentation.core import rules
from bank_segmentation.core.profiles import (
    build_segment_profiles,
    described_values,
    portfolio_average,
    portfolio_frame,
    positive_value,
    profile_matrix,
)
from tests.workspace import node_parameters

PARAMS = {
    "volume_columns": {
        "purchases": "PURCHASES",
        "cash_advance": "CASH_ADVANCE",
        "balance": "BALANCE",
    },
    "top_features": 2,
    "exclude": [],
}


@pytest.fixture
def hand_case() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four customers: A, B, C in segment 10 and D alone in segment 20."""
    features = pd.DataFrame(
        {
            "CUST_ID": ["A", "B", "C", "D"],
            "BALANCE": [100.0, 200.0, 600.0, 1100.0],
            "PURCHASES": [0.0, 0.0, 300.0, 100.0],
            "CASH_ADVANCE": [50.0, 0.0, 0.0, 150.0],
            "PURCHASE_TYPE": ["none", "none", "one_off", "both"],
        }
    )
    assignments = pd.DataFrame({"CUST_ID": ["D", "C", "B", "A"], "segment": [20, 10, 10, 10]})
    return features, assignments


def test_profiles_match_hand_computed_numbers(hand_case):
    features, assignments = hand_case
    profiles = build_segment_profiles(features, assignments, "CUST_ID", PARAMS)

    assert profiles["segment"].tolist() == [10, 20]  # largest segment first
    big = profiles.iloc[0]
    assert big["customers"] == 3
    assert big["share"] == pytest.approx(0.75)
    assert big["BALANCE__mean"] == pytest.approx(300.0)
    assert big["BALANCE__median"] == pytest.approx(200.0)
    # portfolio: mean 500, population std sqrt(155000)
    assert big["BALANCE__z"] == pytest.approx((300 - 500) / 155000**0.5)
    assert profiles.iloc[1]["BALANCE__z"] == pytest.approx((1100 - 500) / 155000**0.5)
    # the median 200 sits above 100, tied with itself: (1 + 2) / 2 / 4
    assert big["BALANCE__pct"] == pytest.approx(0.375)
    assert big["purchases_volume_share"] == pytest.approx(0.75)
    assert big["cash_advance_volume_share"] == pytest.approx(0.25)
    assert big["balance_volume_share"] == pytest.approx(0.45)
    assert big["PURCHASE_TYPE_NONE__mean"] == pytest.approx(2 / 3)
    assert profiles.iloc[1]["PURCHASE_TYPE_BOTH__mean"] == pytest.approx(1.0)


def test_top_features_are_the_furthest_from_the_portfolio(hand_case):
    features, assignments = hand_case
    profiles = build_segment_profiles(features, assignments, "CUST_ID", PARAMS)
    z = profile_matrix(profiles, "z").loc[20]
    expected = z.abs().sort_values(ascending=False).index[:2]
    assert [part.split(" ")[0] for part in profiles.iloc[1]["top_features"].split("; ")] == list(expected)


def test_customers_without_features_are_an_error(hand_case):
    features, assignments = hand_case
    with pytest.raises(ValueError, match="no features"):
        build_segment_profiles(features.iloc[1:], assignments, "CUST_ID", PARAMS)


def test_profiles_describe_every_raw_column_and_kpi(demo_portfolio, persona_assignments, reporting_params):
    features, _ = demo_portfolio
    profiles = build_segment_profiles(features, persona_assignments, "CUST_ID", reporting_params["profiles"])
    numeric = features.drop(columns="CUST_ID").select_dtypes("number").columns
    assert set(numeric) <= set(profile_matrix(profiles, "mean").columns)
    assert profiles["share"].sum() == pytest.approx(1.0)
    assert profiles["purchases_volume_share"].sum() == pytest.approx(1.0)


def test_text_columns_are_profiled_as_the_share_of_each_value(hand_case):
    features, assignments = hand_case
    features = features.assign(
        TIER=["Gold", "Blue", None, "Blue"], CHURNED=["yes", "no", "no", "yes"], REGION=["N", "S", "E", "W"]
    )
    params = {**PARAMS, "max_values": 3}
    profiles = build_segment_profiles(features, assignments, "CUST_ID", params, described=["TIER", "CHURNED"])

    tier = described_values(profiles, "TIER")
    # most frequent first, ties in text order: the same order whichever engine counted them
    assert list(tier.columns) == ["Blue", "(missing)", "Gold"] and tier.loc[20, "Blue"] == 1.0
    assert tier.loc[10].to_dict() == pytest.approx({"Blue": 1 / 3, "Gold": 1 / 3, "(missing)": 1 / 3})
    fewer = build_segment_profiles(features, assignments, "CUST_ID", {**params, "max_values": 1}, described=["TIER"])
    assert described_values(fewer, "TIER").loc[10].to_dict() == pytest.approx({"Blue": 1 / 3, "(other)": 2 / 3})
    churned = described_values(profiles, "CHURNED")
    assert churned.loc[10, "yes"] == pytest.approx(1 / 3) and churned.loc[20, "yes"] == 1.0
    assert not [c for c in profiles.columns if c.startswith("REGION")]  # not described: only carried
    assert positive_value(portfolio_average(profiles, churned)) == "yes"


@pytest.mark.parametrize(
    ("shares", "counted"),
    [
        ({"0": 0.8, "1": 0.2}, "1"),
        ({"0.0": 0.7, "1.0": 0.3}, "1.0"),
        ({"False": 0.9, "True": 0.1}, "True"),
        ({"Existing Customer": 0.84, "Attrited Customer": 0.16}, "Attrited Customer"),  # the rarer of two
        ({"A": 0.5, "B": 0.3, "C": 0.2}, None),  # three values: shares only
    ],
)
def test_a_labels_rate_counts_its_yes_or_the_rarer_of_two_values(shares, counted):
    assert positive_value(pd.Series(shares)) == counted


def test_rules_read_like_the_segments_and_say_how_often_they_hold(demo_portfolio, persona_assignments, data_params):
    """A surrogate tree on the planted personas: faithful, short rules whose stated precision is true."""
    features, _ = demo_portfolio
    frame = features.merge(persona_assignments, on="CUST_ID")
    values = portfolio_frame(frame.drop(columns="segment"), "CUST_ID")
    segments = frame["segment"].to_numpy()
    params = {**node_parameters()["reporting"]["rules"]}
    surrogate = rules.fit_rules(values, segments, params)
    assert surrogate.fidelity >= 0.85
    summary = rules.segment_rules(surrogate, values, segments, params["per_segment"])
    assert set(summary) == set(segments)
    for segment, described in summary.items():
        for leaf, quality in zip(described["leaves"], described["rules"], strict=True):
            bounds = surrogate.leaves[leaf]
            assert 1 <= len(bounds) <= params["max_conditions"]
            met = np.ones(len(values), dtype=bool)
            for bound in bounds:
                met &= (values[bound.column] > bound.lower).to_numpy() & (
                    values[bound.column] <= bound.upper
                ).to_numpy()
            assert quality["precision"] == pytest.approx((segments[met] == segment).mean())
            assert quality["coverage"] == pytest.approx(met[segments == segment].mean())


def test_a_rule_on_amounts_says_none_or_some():
    values = pd.DataFrame({"CASH_ADVANCE": [0.0] * 50 + [120.0, 300.0, 80.0, 1000.0] * 25})
    segments = (values["CASH_ADVANCE"] > 0).astype(int).to_numpy()
    params = {"max_depth": 2, "min_leaf_share": 0.05, "random_state": 0, "max_conditions": 3, "precision_tolerance": 0}
    surrogate = rules.fit_rules(values, segments, params)
    texts = {
        surrogate.segment_of_leaf(leaf): rules.rule_text(b, {"CASH_ADVANCE": "amount"}, {})
        for leaf, b in surrogate.leaves.items()
    }
    assert surrogate.fidelity == 1.0 and texts == {0: "Cash Advance = 0", 1: "Cash Advance > 0"}
