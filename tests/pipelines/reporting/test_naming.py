"""Automatic segment names: data-driven, one-to-one, independent of the arbitrary segment ids."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from bank_segmentation.core.naming import name_segments
from bank_segmentation.core.profiles import build_segment_profiles

from .conftest import PERSONA_ARCHETYPES


def _names_per_customer(features, assignments, params) -> pd.Series:
    profiles = build_segment_profiles(features, assignments, "CUST_ID", params["profiles"])
    names = name_segments(profiles, params["naming"], params["feature_labels"])
    lookup = dict(zip(names["segment"], names["name"], strict=True))
    return assignments.set_index("CUST_ID")["segment"].map(lookup).sort_index()


def test_each_planted_persona_gets_its_archetype(demo_portfolio, persona_assignments, reporting_params):
    features, personas = demo_portfolio
    named = _names_per_customer(features, persona_assignments, reporting_params)
    persona = personas.set_index("CUST_ID")["PERSONA"].sort_index()
    assert (named == persona.map(PERSONA_ARCHETYPES)).all()


def test_names_do_not_depend_on_segment_ids(demo_portfolio, persona_assignments, reporting_params):
    features, _ = demo_portfolio
    original = _names_per_customer(features, persona_assignments, reporting_params)
    rng = np.random.default_rng(3)
    ids = persona_assignments["segment"].unique()
    relabel = dict(zip(ids, rng.permutation(ids) + 100, strict=True))
    permuted = persona_assignments.assign(segment=persona_assignments["segment"].map(relabel))
    shuffled = permuted.sample(frac=1.0, random_state=1)
    assert (_names_per_customer(features, shuffled, reporting_params) == original).all()


def test_two_segments_never_share_a_name(demo_portfolio, persona_assignments, reporting_params):
    features, personas = demo_portfolio
    # Split every persona in two random halves: both halves fit the same archetype equally well.
    halves = np.random.default_rng(0).integers(0, 2, len(persona_assignments))
    split = persona_assignments.assign(segment=persona_assignments["segment"] * 2 + halves)
    profiles = build_segment_profiles(features, split, "CUST_ID", reporting_params["profiles"])
    names = name_segments(profiles, reporting_params["naming"], reporting_params["feature_labels"])
    assert names["name"].is_unique
    assert names["archetype"].dropna().is_unique
    # every archetype of a planted persona went to one of its halves
    assert set(PERSONA_ARCHETYPES.values()) <= set(names["name"])
    archetype_names = {spec["name"] for spec in reporting_params["naming"]["archetypes"].values()}
    assert not set(names.loc[~names["matched"], "name"]) & archetype_names


def _without(params: dict, *archetypes: str, partial: bool = True) -> dict:
    params = copy.deepcopy(params)
    for key in archetypes:
        del params["naming"]["archetypes"][key]
    params["naming"]["partial_match"]["enabled"] = partial
    return params


def test_unmatched_segment_gets_a_descriptive_name(demo_portfolio, persona_assignments, reporting_params):
    features, personas = demo_portfolio
    params = _without(reporting_params, "dormant_users", "occasional_users", partial=False)
    named = _names_per_customer(features, persona_assignments, params)
    persona = personas.set_index("CUST_ID")["PERSONA"].sort_index()
    dormant_names = named[persona == "dormant"].unique()
    assert len(dormant_names) == 1
    name = dormant_names[0]
    assert name not in PERSONA_ARCHETYPES.values()
    parts = name.split(", ")
    assert len(parts) == 2 and all(p.startswith(("High ", "Low ")) for p in parts)
    # dormant customers use the card less than anyone: the name says so
    assert name.startswith("Low ")


def _dormant_named_with_occasional_changed(demo_portfolio, persona_assignments, reporting_params, column, level):
    """The demo personas named without the Dormant archetype and with one Occasional Users condition changed:
    (the dormant persona's name row, every name row)."""
    features, personas = demo_portfolio
    params = _without(reporting_params, "dormant_users")
    params["naming"]["archetypes"]["occasional_users"]["conditions"][column] = level
    profiles = build_segment_profiles(features, persona_assignments, "CUST_ID", params["profiles"])
    names = name_segments(profiles, params["naming"], params["feature_labels"]).set_index("segment")
    dormant = persona_assignments.loc[personas["PERSONA"].eq("dormant").to_numpy(), "segment"].iloc[0]
    return names.loc[dormant], names.drop(index=dormant)


def test_a_segment_without_a_full_match_takes_the_closest_archetype_flagged_partial(
    demo_portfolio, persona_assignments, reporting_params
):
    # dormant customers do buy now and then: Occasional Users lacks only its purchases condition for them
    row, others = _dormant_named_with_occasional_changed(
        demo_portfolio, persona_assignments, reporting_params, "PURCHASES_FREQUENCY", "half_or_more"
    )
    assert row["match"] == "partial" and row["archetype"] == "occasional_users"
    assert row["name"] == "Occasional Users (partial match)"
    assert row["conditions_missed"] == "PURCHASES_FREQUENCY"
    assert (others["match"] == "full").all()  # the other personas keep their full matches


def test_a_partial_match_keeps_the_defining_conditions(demo_portfolio, persona_assignments, reporting_params):
    # make cash advances the missing condition: it is defining, so no partial match is allowed
    row, _ = _dormant_named_with_occasional_changed(
        demo_portfolio, persona_assignments, reporting_params, "CASH_ADVANCE", "any"
    )
    assert row["match"] == "none"


def test_names_read_medians_not_means(demo_portfolio, persona_assignments, reporting_params):
    """A tail of full payers lifts the mean of a segment whose typical customer never pays in full."""
    features, personas = demo_portfolio
    features = features.copy()
    transactors = personas["PERSONA"].eq("transactor").to_numpy()
    rng = np.random.default_rng(1)
    # 55% of the transactors stop paying in full; the others pay in full every month
    stopped = transactors & (rng.random(len(features)) < 0.55)
    features.loc[stopped, "PRC_FULL_PAYMENT"] = 0.0
    features.loc[transactors & ~stopped, "PRC_FULL_PAYMENT"] = 1.0
    assert features.loc[transactors, "PRC_FULL_PAYMENT"].mean() > 0.35  # a mean-based rule would say "high"
    named = _names_per_customer(features, persona_assignments, reporting_params)
    persona = personas.set_index("CUST_ID")["PERSONA"].sort_index()
    assert (named[persona == "transactor"] == "Active Transactors").all()


def test_a_retired_mean_based_level_is_refused(demo_portfolio, persona_assignments, reporting_params):
    features, _ = demo_portfolio
    params = copy.deepcopy(reporting_params)
    params["naming"]["levels"]["high"] = {"measure": "z", "min": 0.25}
    profiles = build_segment_profiles(features, persona_assignments, "CUST_ID", params["profiles"])
    with pytest.raises(ValueError, match="never means"):
        name_segments(profiles, params["naming"], params["feature_labels"])


def test_small_segment_is_flagged_as_micro_segment(demo_portfolio, persona_assignments, reporting_params):
    features, personas = demo_portfolio
    affluent = personas["PERSONA"].eq("affluent").to_numpy()
    keep = ~affluent | (np.cumsum(affluent) <= 30)  # 30 affluent customers left: < 1%
    assignments = persona_assignments[keep]
    profiles = build_segment_profiles(features[keep], assignments, "CUST_ID", reporting_params["profiles"])
    names = name_segments(profiles, reporting_params["naming"], reporting_params["feature_labels"])
    micro = names[names["micro_segment"]]
    assert micro["name"].tolist() == ["Affluent High Spenders (VIP)"]
    assert names["micro_segment"].sum() == 1


def test_naming_works_without_the_kpi_columns(demo_portfolio, persona_assignments, reporting_params):
    features, personas = demo_portfolio
    kpis = ["ONEOFF_SHARE", "CASH_ADVANCE_SHARE", "LIMIT_USAGE"]
    named = _names_per_customer(features.drop(columns=kpis), persona_assignments, reporting_params)
    persona = personas.set_index("CUST_ID")["PERSONA"].sort_index()
    # archetypes defined without these KPIs still find their personas; the others get descriptions
    assert (named[persona == "new_customer"] == "New Customers").all()
    assert (named[persona == "dormant"] == "Dormant Users").all()
    assert named.groupby(persona).nunique().eq(1).all()


def test_another_banks_table_gets_readable_names_from_its_own_columns(reporting_params, caplog):
    """No CC GENERAL column: every archetype is skipped (said once) and names come from the table's terms."""
    rng = np.random.default_rng(5)
    sizes = {"big spenders": 120, "revolvers": 90, "quiet": 150}
    frames = []
    for i, (kind, n) in enumerate(sizes.items()):
        frames.append(
            pd.DataFrame(
                {
                    "CLIENTNUM": [f"{kind[:1]}{i}{j:04d}" for j in range(n)],
                    "Total_Trans_Amt": rng.lognormal(9 if kind == "big spenders" else 7, 0.3, n),
                    "Avg_Utilization_Ratio": rng.uniform(0.6, 0.9, n)
                    if kind == "revolvers"
                    else rng.uniform(0, 0.2, n),
                    "Months_Inactive_12_mon": rng.integers(4, 7, n) if kind == "quiet" else rng.integers(0, 2, n),
                    "segment": i,
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    features, assignments = table.drop(columns="segment"), table[["CLIENTNUM", "segment"]]
    with caplog.at_level("INFO", logger="bank_segmentation.core"):
        profiles = build_segment_profiles(features, assignments, "CLIENTNUM", reporting_params["profiles"])
        names = name_segments(profiles, reporting_params["naming"], reporting_params["feature_labels"])
    archetype_names = {spec["name"] for spec in reporting_params["naming"]["archetypes"].values()}
    assert names["name"].str.len().gt(0).all() and names["name"].is_unique
    assert not set(names["name"]) & archetype_names and not names["matched"].any()
    named = dict(zip(names["segment"], names["name"], strict=True))
    assert "High Total Trans Amt" in named[0] and "High Avg Utilization Ratio" in named[1]
    assert "High Months Inactive 12 Mon" in named[2]
    assert "archetypes skipped, their conditions name columns this table lacks" in caplog.text
    assert "volume shares left out" in caplog.text
