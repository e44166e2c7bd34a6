"""Tracking faults: an unreachable server, failed runs, and two first runs at the same moment."""

from __future__ import annotations

import sqlite3
import time

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import BackgroundRun, free_local_port, kedro_run


def test_unreachable_server_stops_the_run_quickly_and_says_what_to_do(project_copy):
    uri = f"http://127.0.0.1:{free_local_port()}"
    start = time.monotonic()
    result = kedro_run(project_copy, "--pipelines", "data_processing", tracking_uri=uri)
    elapsed = time.monotonic() - start
    assert result.returncode == 2
    assert elapsed < 30
    assert "Traceback" not in result.stdout + result.stderr
    assert f"the MLflow tracking server {uri} does not answer" in result.stderr
    assert "tracking.on_unreachable=continue" in result.stderr
    assert not (project_copy / "data/05_model_input/model_input.parquet").exists()


def test_unreachable_server_with_continue_runs_without_tracking(project_copy):
    uri = f"http://127.0.0.1:{free_local_port()}"
    result = kedro_run(
        project_copy, "--pipelines", "data_processing", "--params", "tracking.on_unreachable=continue", tracking_uri=uri
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "running WITHOUT tracking" in result.stdout + result.stderr
    assert (project_copy / "data/05_model_input/model_input.parquet").exists()
    assert not (project_copy / "mlflow.db").exists()


def test_failed_run_is_marked_failed_in_mlflow_with_its_error(run_pipeline, project_copy):
    path = project_copy / "data/01_raw/customers.csv"
    pd.read_csv(path, dtype=str).drop(columns="TENURE").to_csv(path, index=False)
    with pytest.raises(Exception, match="required_columns"):
        run_pipeline(pipelines=["data_processing"])
    client = MlflowClient(tracking_uri=f"sqlite:///{project_copy / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("bank-customer-segmentation")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FAILED"
    assert "required_columns" in run.data.tags["error"] and "TENURE" in run.data.tags["error"]


def test_two_first_runs_at_once_share_fresh_stores_without_corrupting_them(project_copy):
    assert not (project_copy / "mlflow.db").exists() and not (project_copy / "data/06_models/optuna.db").exists()
    args = ("--pipelines", "data_processing,tuning", "--params", "tuning.study.n_trials=3")
    runs = [BackgroundRun(project_copy, *args) for _ in range(2)]
    codes = [run.wait(timeout=600) for run in runs]
    assert codes == [0, 0], runs[0].output[-1500:] + runs[1].output[-1500:]
    for store in ("mlflow.db", "data/06_models/optuna.db"):
        with sqlite3.connect(project_copy / store) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",), store
    with sqlite3.connect(project_copy / "data/06_models/optuna.db") as db:
        assert db.execute("SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'").fetchone() == (6,)
    client = MlflowClient(tracking_uri=f"sqlite:///{project_copy / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("bank-customer-segmentation")
    logged = client.search_runs([experiment.experiment_id])
    parents = [run for run in logged if "mlflow.parentRunId" not in run.data.tags]
    assert sorted(run.info.status for run in parents) == ["FINISHED", "FINISHED"]
    trials = client.search_runs([experiment.experiment_id], filter_string="tags.stage = 'tuning'")
    assert len(trials) == 6
