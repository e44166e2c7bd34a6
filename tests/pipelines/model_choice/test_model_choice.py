"""The one model choice, end to end with the shipped parameters: what a bank gets on the demo and the real table.

Each check is what a marketing team relies on: 5 to 8 segments, none tiny, segments that come back when the
model is refitted with seeds the product never used, names that fit the typical customer, nothing chosen
silently.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from sklearn.metrics import adjusted_rand_score

from bank_segmentation.core.evaluation import refit_agreement
from bank_segmentation.core.naming import condition_margins, condition_measures
from bank_segmentation.core.preprocessing import build_preprocessor, feature_space
from bank_segmentation.core.settings import EvaluationSettings
from tests.conftest import make_project_copy, read_output, run_default
from tests.workspace import node_parameters

REPORTING = Path("data/08_reporting")
INDEPENDENT_SEEDS = 1000  # refits with seeds the product never uses


def load(project: Path, relative: str) -> Any:
    path = project / relative
    return json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())


def shipped(project: Path) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(feature matrix of the shipped model, shipped segments, its config) of a finished run."""
    config = load(project, "data/06_models/segmentation_config.yml")
    params = node_parameters()
    roles, groups = feature_space(params["schema"], params["features"])
    model_input = read_output(project, "data/05_model_input/model_input.parquet")
    X = np.asarray(build_preprocessor(config["spec"], roles, groups, config["random_state"]).fit_transform(model_input))
    assignments = read_output(project, "data/07_model_output/segment_assignments.parquet")
    assert (assignments["CUST_ID"].to_numpy() == model_input["CUST_ID"].to_numpy()).all()
    return X, assignments["segment"].to_numpy(), config


def independent_agreement(project: Path) -> tuple[float, float]:
    """Mean and minimum ARI of 10 refits (80% subsamples, unseen seeds) with the shipped segments."""
    X, segments, config = shipped(project)
    settings = EvaluationSettings(
        n_init=config["n_init"],
        random_state=config["random_state"] + INDEPENDENT_SEEDS,
        agreement={"n_refits": 10, "sample_share": 0.8},
    )
    return refit_agreement(X, segments, config["k"], settings)


def assert_names_fit_their_profiles(project: Path) -> pd.DataFrame:
    """Every archetype name's conditions hold for its segment's typical customer; the guards a bank needs."""
    profiles = pd.read_csv(project / REPORTING / "segment_profiles.csv")
    names = pd.read_csv(project / REPORTING / "segment_names.csv")
    naming = yaml.safe_load((project / "conf/base/parameters_reporting.yml").read_text())["reporting"]["naming"]
    measures = condition_measures(profiles)
    medians = profiles.set_index("segment")
    for row in names.itertuples():
        if row.match == "full":
            spec = naming["archetypes"][row.archetype]
            margins = condition_margins(measures, row.segment, spec["conditions"], naming["levels"])
            assert all(m >= 0 for m in margins.values()), (row.name, margins)
        full_payment = medians.at[row.segment, "PRC_FULL_PAYMENT__median"]
        if "Full Payers" in row.name:
            assert full_payment >= 0.5, (row.name, full_payment)  # most customers pay in full
        if medians.at[row.segment, "CASH_ADVANCE_SHARE__median"] > 0.5:  # mostly spend on cash advances
            playbook = yaml.safe_load((project / "conf/base/parameters_reporting.yml").read_text())
            note = playbook["reporting"]["playbook"].get(row.archetype or "fallback", {}).get("risk_note", "")
            assert "cash-advance" in note.lower() or "cash advance" in note.lower(), (row.name, note)
    return names.merge(profiles[["segment", "share"]], on="segment")


def named_share(named: pd.DataFrame) -> float:
    return float(named.loc[named["match"] == "full", "share"].sum())


# --- the demo portfolio, default parameters -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = make_project_copy(tmp_path_factory.mktemp("demo_default") / "project")
    run_default(project, {})
    return project


@pytest.mark.slow
def test_demo_default_run_recovers_the_personas_with_reproducible_named_segments(demo_run: Path):
    selection = load(demo_run, REPORTING / "model_selection.json")
    assert (
        selection["mode"] == "rule" and selection["sources"]["sweep"]["ran"] and selection["sources"]["search"]["ran"]
    )
    _, segments, config = shipped(demo_run)
    personas = pd.read_csv(demo_run / "data/01_raw/customer_personas.csv")
    assignments = read_output(demo_run, "data/07_model_output/segment_assignments.parquet")
    merged = assignments.merge(personas, on="CUST_ID", validate="1:1")
    assert adjusted_rand_score(merged["PERSONA"], merged["segment"]) >= 0.7
    mean, _ = independent_agreement(demo_run)
    assert mean >= 0.95
    named = assert_names_fit_their_profiles(demo_run)
    assert named_share(named) >= 0.9
    assert 5 <= config["k"] <= 8


# --- the real CC GENERAL table, default parameters ----------------------------------------------------------------
@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory, real_table: Path) -> Path:
    project = make_project_copy(tmp_path_factory.mktemp("real_default") / "project")
    shutil.copy(real_table, project / "data/01_raw/customers.csv")
    run_default(project, {})
    return project


@pytest.mark.slow
def test_real_table_gets_five_to_eight_reproducible_segments_near_the_best_silhouette(real_run: Path):
    selection = load(real_run, REPORTING / "model_selection.json")
    chosen = selection["chosen"]
    assert 5 <= chosen["k"] <= 8
    shares = read_output(real_run, "data/07_model_output/segment_assignments.parquet")["segment"].value_counts(
        normalize=True
    )
    assert len(shares) == chosen["k"] and shares.min() >= 0.02
    mean, minimum = independent_agreement(real_run)
    assert mean >= 0.9, (mean, minimum)
    best = max(
        c["metrics"]["silhouette_ref"]
        for c in selection["candidates"]
        if c["status"] != "rejected" and c["metrics"].get("agreement") is not None
    )
    assert chosen["metrics"]["silhouette_ref"] >= best - 0.01
    assert selection["best_admissible"]["silhouette_ref"] == pytest.approx(best)


@pytest.mark.slow
def test_real_table_names_fit_their_profiles_and_cover_most_customers(real_run: Path):
    named = assert_names_fit_their_profiles(real_run)
    assert named_share(named) >= 0.9
    # no large segment is left with the fallback playbook
    catalogue = load(real_run, REPORTING / "segments.json")
    for segment in catalogue["segments"]:
        if segment["share"] >= 0.2:
            assert segment["matched"], segment["name"]
    # the readable rules place at least 85% of the customers where K-means did
    assert catalogue["rules_fidelity"] >= 0.85


@pytest.mark.slow
def test_real_table_report_explains_the_choice(real_run: Path):
    html = (real_run / REPORTING / "segmentation_report.html").read_text()
    selection = load(real_run, REPORTING / "model_selection.json")
    assert f"Why {selection['chosen']['k']} segments" in html
    assert "Glossary" in html and "What was tried" in html
    assert str(real_run) not in html  # no absolute local path
    # every candidate is accounted for: the chosen one, the runner-up, and why every other one lost
    statuses = [c["status"] for c in selection["candidates"]]
    assert statuses.count("chosen") == 1 and statuses.count("runner-up") == 1
    assert all(c["reasons"] for c in selection["candidates"] if c["status"] != "chosen")
    assert (
        len(selection["candidates"])
        == selection["sources"]["sweep"]["candidates"] + selection["sources"]["search"]["candidates"]
    )


# --- pinning: fast, and never silent ------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_pinned_run_skips_the_sweep_and_the_search_and_says_what_the_pin_breaks(tmp_path: Path, real_table: Path):
    project = make_project_copy(tmp_path / "project")
    shutil.copy(real_table, project / "data/01_raw/customers.csv")
    run_default(project, {"model_choice": {"mode": "pinned", "pinned": {"variant": "seed_baseline", "k": 7}}})

    assert read_output(project, "data/08_reporting/sweep_results.csv").empty
    assert read_output(project, "data/08_reporting/tuning_trials.csv").empty
    assert not (project / "data/06_models/optuna.db").exists()
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("bank-customer-segmentation")
    runs = client.search_runs([experiment.experiment_id])
    assert runs and not [r for r in runs if "stage" in r.data.tags]  # no nested sweep or trial run

    selection = load(project, REPORTING / "model_selection.json")
    assert selection["mode"] == "pinned" and selection["chosen"]["k"] == 7
    # measured like any candidate: the seed recipe isolates a micro-segment on the real table
    assert any("micro-segment" in v for v in selection["chosen"]["rule_violations"])
    html = (project / REPORTING / "segmentation_report.html").read_text()
    assert "The pinned model breaks the rule" in html
    # the seed recipe's 7 segments on the real table get 7 distinct names
    names = [segment["name"] for segment in load(project, REPORTING / "segments.json")["segments"]]
    assert len(names) == 7 and len(set(names)) == 7
    assert read_output(project, "data/07_model_output/segment_assignments.parquet")["segment"].nunique() == 7
