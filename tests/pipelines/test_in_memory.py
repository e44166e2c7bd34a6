"""Every pipeline run by Kedro's SequentialRunner on an in-memory catalog, as the spaceflights starter tests.

No files, no MLflow, no project copy: the pipelines exactly as registered (scoring with data processing's
cleaning composed in), fed a demo portfolio, each one's outputs feeding the next. End-to-end runs on project
copies remain for what only they can show (publishing, tracking, the CLI).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from bank_segmentation.core.serving import score_raw_rows
from bank_segmentation.framework.parameters import value_at
from bank_segmentation.framework.served import save_service
from bank_segmentation.pipeline_registry import register_pipelines
from bank_segmentation.pipelines.demo_data.generator import generate_portfolio
from tests.workspace import PROJECT_ROOT, node_parameters

ORDER = ("data_processing", "clustering", "tuning", "model_choice", "training", "reporting", "scoring")
N_CUSTOMERS, N_TO_SCORE = 1500, 300


class KeptDataset(MemoryDataset):
    """A memory dataset the runner does not empty after its last reader: later pipelines and tests read it."""

    def _release(self) -> None:
        pass


def fast_parameters(storage: Path) -> dict[str, Any]:
    """The shipped parameters, as nodes receive them, with a small sweep and search and no MLflow model."""
    params = dict(node_parameters())
    evaluation = params["evaluation"]
    params["evaluation"] = evaluation.model_copy(
        update={"n_init": 3, "agreement": evaluation.agreement.model_copy(update={"n_refits": 3})}
    )
    params["clustering"] = {
        **params["clustering"],
        "sweep": {**params["clustering"]["sweep"], "variants": ["log_standard", "kpi_log_standard"], "k_max": 8},
    }
    study = {**params["tuning"]["study"], "storage": f"sqlite:///{storage}", "n_trials": 4}
    params["tuning"] = {**params["tuning"], "study": study, "log_nested_runs": False}
    params["training"] = {"mlflow": {**params["training"]["mlflow"], "log_model": False}}
    return params


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every pipeline in order on one in-memory catalog; the catalog and each pipeline's output names."""
    params = fast_parameters(tmp_path_factory.mktemp("study") / "optuna.db")
    bootstrap_project(PROJECT_ROOT)  # every pipeline: an earlier session in this process may have asked for fewer
    pipelines = register_pipelines()
    customers, _ = generate_portfolio(N_CUSTOMERS, seed=11)
    to_score, _ = generate_portfolio(N_TO_SCORE, seed=12, id_start=900_001)
    catalog = DataCatalog()
    for name in set().union(*(pipelines[p].datasets() for p in ORDER)):
        if name.startswith("params:"):
            catalog[name] = MemoryDataset(value_at(params, name.removeprefix("params:")), copy_mode="assign")
        else:
            catalog[name] = KeptDataset()
    catalog.save("customers_raw", customers.astype(str))
    catalog.save("customers_to_score_raw", to_score.astype(str))
    outputs = {}
    for name in ORDER:
        if name == "scoring":  # what publishing does between runs: the trained memberships become the previous ones
            catalog.save("previous_segment_memberships", catalog.load("segment_memberships"))
        outputs[name] = set(SequentialRunner().run(pipelines[name], catalog))
    return {"catalog": catalog, "outputs": outputs, "pipelines": pipelines}


def test_data_processing_keeps_every_customer_and_builds_a_finite_model_input(run):
    catalog = run["catalog"]
    model_input = catalog.load("model_input")
    rejected = catalog.load("rejected_customers")
    assert len(model_input) + len(rejected) == N_CUSTOMERS
    assert np.isfinite(model_input.drop(columns="CUST_ID").to_numpy()).all()


def test_clustering_scores_every_variant_at_every_k(run):
    sweep = run["catalog"].load("sweep_results")
    assert set(sweep["variant"]) == {"log_standard", "kpi_log_standard"}
    assert set(sweep["k"]) == set(range(2, 9))


def test_tuning_adds_the_asked_trials_to_the_study(run):
    trials = run["catalog"].load("tuning_trials")
    assert len(trials) == 4


def test_model_choice_picks_one_candidate_within_the_business_bounds(run):
    selection = run["catalog"].load("model_selection")
    assert 5 <= selection["chosen"]["k"] <= 8
    assert [c["status"] for c in selection["candidates"]].count("chosen") == 1


def test_training_assigns_every_customer_to_one_of_k_segments(run):
    catalog = run["catalog"]
    assignments = catalog.load("segment_assignments")
    k = catalog.load("model_selection")["chosen"]["k"]
    assert len(assignments) == len(catalog.load("model_input"))
    assert assignments["segment"].nunique() == k


def test_reporting_names_every_segment_and_lists_every_customer_once(run):
    catalog = run["catalog"]
    names = catalog.load("segment_names")
    assert names["name"].str.len().gt(0).all() and names["name"].is_unique
    campaign = catalog.load("campaign_list")
    assert campaign["CUST_ID"].is_unique and len(campaign) == len(catalog.load("segment_assignments"))


def test_scoring_reuses_the_cleaning_and_names_segments_with_the_trained_names(run):
    catalog = run["catalog"]
    scored = catalog.load("scored_customers")
    rejected = catalog.load("rejected_customers_to_score")
    assert len(scored) + len(rejected) == N_TO_SCORE
    names = catalog.load("segment_names")
    lookup = dict(zip(names["segment"], names["name"], strict=True))
    assert (scored["segment"].map(lookup) == scored["segment_name"]).all()
    migration = catalog.load("segment_migration")  # customers never segmented before are all new
    assert migration["counts"]["new"] == len(scored) and set(scored["movement"]) == {"new"}
    cleaning = {"scoring.validate_customers", "scoring.impute_customers", "scoring.engineer_features"}
    assert cleaning <= {node.name for node in run["pipelines"]["scoring"].nodes}


def test_raw_rows_get_the_scoring_pipelines_answers_and_a_bad_row_its_reasons(run):
    """What the served model computes: the published package and imputer over raw rows, one answer per row."""
    catalog = run["catalog"]
    params = fast_parameters(Path("unused.db"))
    raw = catalog.load("customers_to_score_raw").copy()
    raw.loc[raw.index[1], "BALANCE"] = "-50"  # breaks the sign rule
    answers = score_raw_rows(
        raw,
        catalog.load("segmentation_package"),
        catalog.load("customer_imputer"),
        params["schema"],
        params["features"],
        params["validation"],
    )
    assert len(answers) == len(raw) and (answers["CUST_ID"].to_numpy() == raw["CUST_ID"].to_numpy()).all()
    assert answers.loc[1, "status"] == "rejected" and "BALANCE" in answers.loc[1, "reasons"]
    scored = catalog.load("scored_customers").set_index("CUST_ID")
    served = answers[answers["status"] == "scored"].set_index("CUST_ID")
    both = served.index.intersection(scored.index)
    assert len(both) == len(scored) - 1  # every customer the pipeline scored, but the one broken here
    assert (served.loc[both, "segment"].astype(int) == scored.loc[both, "segment"]).all()
    assert (served.loc[both, "segment_name"] == scored.loc[both, "segment_name"]).all()
    assert np.allclose(served.loc[both, "distance_to_centroid"].astype(float), scored.loc[both, "distance_to_centroid"])


def test_the_served_model_saved_and_loaded_by_mlflow_gives_the_same_answers(run, tmp_path):
    catalog = run["catalog"]
    params = fast_parameters(Path("unused.db"))
    package, imputer = catalog.load("segmentation_package"), catalog.load("customer_imputer")
    settings = (params["schema"], params["features"], params["validation"])
    save_service(tmp_path / "served", package, imputer, *settings, pip_requirements=["scikit-learn", "pandas"])
    served = mlflow.pyfunc.load_model(str(tmp_path / "served"))
    assert [spec.name for spec in served.metadata.get_input_schema().inputs][:2] == ["CUST_ID", "BALANCE"]

    raw = catalog.load("customers_to_score_raw").head(50).astype(str)
    answers = served.predict(raw)
    expected = score_raw_rows(raw, package, imputer, *settings)
    pd.testing.assert_frame_equal(answers.reset_index(drop=True), expected.reset_index(drop=True))
