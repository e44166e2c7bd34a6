"""The data processing pipeline through the real Kedro runner, on the demo and on the real table."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess

import pandas as pd
import pytest

from tests.conftest import REPO_ROOT, read_output


def test_demo_portfolio_reaches_the_model_input_whole(run_pipeline, project_copy):
    run_pipeline(pipelines=["data_processing"])
    raw = pd.read_csv(project_copy / "data/01_raw/customers.csv")
    model_input = read_output(project_copy, "data/05_model_input/model_input.parquet")
    quality = json.loads((project_copy / "data/08_reporting/data_quality.json").read_text())
    assert quality["rows_in"] == len(raw) == quality["rows_kept"] + quality["rows_quarantined"]
    assert len(model_input) == quality["rows_kept"]
    assert set(model_input["CUST_ID"]) <= set(raw["CUST_ID"])
    assert model_input.drop(columns="CUST_ID").notna().all().all()


def test_bad_rows_are_quarantined_to_a_file_and_nothing_is_lost(run_pipeline, project_copy):
    path = project_copy / "data/01_raw/customers.csv"
    raw = pd.read_csv(path, dtype=str)
    raw.loc[[10, 20], "BALANCE"] = "#VALUE!"
    raw.loc[30, "CUST_ID"] = raw.loc[31, "CUST_ID"]
    raw.to_csv(path, index=False)
    run_pipeline(pipelines=["data_processing"])
    rejected = pd.read_csv(project_copy / "data/02_intermediate/rejected_customers.csv")
    model_input = read_output(project_copy, "data/05_model_input/model_input.parquet")
    assert sorted(rejected["line"]) == [12, 22, 33]
    assert len(model_input) + len(rejected) == len(raw)


def test_real_table_passes_whole_with_its_quirks_repaired(run_pipeline, project_copy, real_table):
    shutil.copy(real_table, project_copy / "data/01_raw/customers.csv")
    run_pipeline(pipelines=["data_processing"])
    model_input = read_output(project_copy, "data/05_model_input/model_input.parquet")
    quality = json.loads((project_copy / "data/08_reporting/data_quality.json").read_text())
    assert len(model_input) == 8950 == quality["rows_in"] == quality["rows_kept"]
    assert quality["rows_quarantined"] == 0 and quality["conservation_holds"]
    assert quality["repairs"] == {"frequency_range:CASH_ADVANCE_FREQUENCY": 8}
    assert quality["missing_values"] == {"CREDIT_LIMIT": 1, "MINIMUM_PAYMENTS": 313}
    assert quality["imputed"]["MINIMUM_PAYMENTS"]["domain: PAYMENTS == 0 -> 0.0"] == 240


def test_without_a_table_of_its_own_the_run_segments_the_demo_and_says_so(run_pipeline, project_copy, caplog):
    (project_copy / "data/01_raw/customers.csv").unlink()
    with caplog.at_level(logging.INFO, logger="bank_segmentation.framework.datasets"):
        run_pipeline(pipelines=["data_processing"])
    demo = pd.read_csv(project_copy / "data/01_raw/demo/customers.csv")
    quality = json.loads((project_copy / "data/08_reporting/data_quality.json").read_text())
    assert quality["rows_in"] == len(demo)
    assert "data/01_raw/customers.csv not found: using the shipped demo data/01_raw/demo/customers.csv" in caplog.text


def test_a_table_saved_where_the_readme_says_stays_out_of_git():
    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO_ROOT).returncode == 0

    if subprocess.run(["git", "rev-parse"], cwd=REPO_ROOT, capture_output=True).returncode != 0:
        pytest.skip("not a git work tree")
    assert ignored("data/01_raw/customers.csv") and ignored("data/01_raw/customers_to_score.csv")
    assert not ignored("data/01_raw/demo/customers.csv") and not ignored("data/01_raw/demo/customers_to_score.csv")
