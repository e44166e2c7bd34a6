"""Automatic segment names: data-driven, one-to-one, independent of the arbitrary segment ids."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from bank_segmentation.pipelines.reporting.naming import name_segments
from bank_segmentation.pipelines.reporting.profiles import build_segment_profiles

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
    assert names["matched"].sum() == len(PERSONA_ARCHETYPES)
    archetype_names = {spec["name"] for spec in reporting_params["naming"]["archetypes"].values()}
    assert not set(names.loc[~names["matched"], "name"]) & archetype_names


def test_unmatched_segment_gets_a_descriptive_name(demo_portfolio, persona_assignments, reporting_params):
    features, personas = demo_portfolio
    params = copy.deepcopy(reporting_params)
    del params["naming"]["archetypes"]["dormant_users"]
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
