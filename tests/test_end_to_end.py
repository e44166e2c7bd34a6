"""The whole default run, as `uv run kedro run` does it: nothing lost, nothing private leaked, reproducible."""

from __future__ import annotations

import json
import shutil
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import make_project_copy, mlflow_server, read_output, run_default

# The default run, shrunk to seconds: fewer variants, k values, refits and Optuna trials.
FAST: dict[str, Any] = {
    "clustering": {"sweep": {"variants": ["log_standard", "winsor_log_standard"], "k_min": 3, "k_max": 8}},
    "evaluation": {"agreement": {"n_refits": 3}},
    "tuning": {"study": {"n_trials": 6}},
}


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy after one default run on the shipped demo data (shared by the tests below)."""
    project = make_project_copy(tmp_path_factory.mktemp("full_run") / "project")
    run_default(project, FAST)
    return project


def test_every_customer_is_either_assigned_or_quarantined(full_run: Path):
    raw = pd.read_csv(full_run / "data/01_raw/customers.csv", dtype=str)
    assigned = read_output(full_run, "data/07_model_output/segment_assignments.parquet")
    rejected = pd.read_csv(full_run / "data/02_intermediate/rejected_customers.csv")
    assert len(assigned) + len(rejected) == len(raw)
    assert set(assigned["CUST_ID"]).isdisjoint(set(rejected.get("CUST_ID", [])))
    assert set(assigned["CUST_ID"]) | set(rejected.get("CUST_ID", [])) == set(raw["CUST_ID"])


def test_no_customer_id_reaches_the_tracking_store_or_its_artifacts(full_run: Path):
    ids = set(pd.read_csv(full_run / "data/01_raw/customers.csv", dtype=str)["CUST_ID"])
    with sqlite3.connect(full_run / "mlflow.db") as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        dump = "\n".join(
            str(value) for table in tables for row in db.execute(f'SELECT * FROM "{table}"') for value in row
        )
    artifacts = (
        [path for path in (full_run / "mlruns").rglob("*") if path.is_file()] if (full_run / "mlruns").exists() else []
    )
    artifacts += [path for path in full_run.glob("mlartifacts/**/*") if path.is_file()]
    texts = [dump] + [path.read_bytes().decode("utf-8", errors="ignore") for path in artifacts]
    leaked = {customer for customer in ids for text in texts if customer in text}
    assert not leaked, f"{len(leaked)} customer ids found in MLflow, e.g. {sorted(leaked)[:3]}"
    assert artifacts, "the run logged no artifacts: the scan would prove nothing"


def test_same_input_and_seed_give_identical_results_whatever_the_parallelism(full_run: Path, tmp_path: Path):
    serial = make_project_copy(tmp_path / "serial")
    run_default(
        serial,
        {
            **FAST,
            "clustering": {"sweep": {**FAST["clustering"]["sweep"], "n_jobs": 1}},
            "tuning": {"study": {"n_trials": 6, "n_jobs": 1}},
        },
    )
    for output in ("data/07_model_output/segment_assignments.parquet",):
        assert (serial / output).read_bytes() == (full_run / output).read_bytes(), output
    assert (serial / "data/08_reporting/segment_profiles.csv").read_text() == (
        full_run / "data/08_reporting/segment_profiles.csv"
    ).read_text()
    for output in ("model_selection.json", "segments.json"):
        assert without_timings(serial / "data/08_reporting" / output) == without_timings(
            full_run / "data/08_reporting" / output
        ), output


def without_timings(path: Path) -> Any:
    """A JSON output without its wall-clock fields (``*seconds``), the only part allowed to vary."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if not k.endswith("seconds")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(json.loads(path.read_text()))


def test_a_failed_run_keeps_the_last_good_outputs_and_every_version(full_run: Path, tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(full_run, project)
    stable = ["data/07_model_output/segment_assignments.parquet", "data/08_reporting/segmentation_report.html"]
    before = {path: (project / path).read_bytes() for path in stable}
    versions_before = len(list((project / "data/07_model_output/versions/segment_assignments.parquet").iterdir()))
    broken_reporting = {**FAST, "model_choice": {"mode": "pinned", "pinned": {"variant": "log_standard", "k": 4}}}
    # the segment map needs the new assignments: this fails after training has saved them
    broken_reporting["reporting"] = {"figures": {"map_max_points": -1}}
    with pytest.raises(Exception, match="negative number of rows"):
        run_default(project, broken_reporting)
    assert {path: (project / path).read_bytes() for path in stable} == before
    versions = list((project / "data/07_model_output/versions/segment_assignments.parquet").iterdir())
    assert len(versions) == versions_before + 1  # the failed run's assignments are kept, not published


def test_a_real_mlflow_server_on_the_project_database_serves_every_nested_run(full_run: Path):
    with mlflow_server(full_run / "mlflow.db") as base:
        experiment = _post(f"{base}/api/2.0/mlflow/experiments/get-by-name", None, f"experiment_name={EXPERIMENT}")
        experiment_id = experiment["experiment"]["experiment_id"]
        sweep = _post(
            f"{base}/api/2.0/mlflow/runs/search",
            {"experiment_ids": [experiment_id], "filter": "tags.stage = 'sweep'", "max_results": 1000},
        )["runs"]
        variants, k = FAST["clustering"]["sweep"]["variants"], FAST["clustering"]["sweep"]
        assert len(sweep) == len(variants) * (k["k_max"] - k["k_min"] + 1)
        parents = {tag["value"] for run in sweep for tag in run["data"]["tags"] if tag["key"] == "mlflow.parentRunId"}
        assert len(parents) == 1
        trials = _post(
            f"{base}/api/2.0/mlflow/runs/search",
            {"experiment_ids": [experiment_id], "filter": "tags.stage = 'tuning'", "max_results": 1000},
        )["runs"]
        assert len(trials) == FAST["tuning"]["study"]["n_trials"]


EXPERIMENT = "bank-customer-segmentation"


def _post(url: str, body: dict[str, Any] | None, query: str | None = None) -> dict[str, Any]:
    """GET ``url?query`` when there is no body, else POST the JSON body; return the JSON answer."""
    if body is None:
        request = urllib.request.Request(f"{url}?{query}")
    else:
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())
